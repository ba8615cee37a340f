-- Drives GET or POST load over many requests with wrk, and counts the response statuses.
-- Based on ../shared/bench/wrk_load.lua, with one addition: a line of the REQUESTS file may carry its own body
-- after a tab ("PATH<TAB>BODY"), so each transfer can name its own counterparty.
-- Environment: REQUESTS (file), TOKEN, METHOD (GET by default), BODY (used when a line has none), ACCEPT (an Accept
-- header, sent when set: a statement's format).
-- Last line printed: requests, requests/s, p50 and p99 latency in ms, and a count per status.
local threads = {}
local lines = {}
for line in io.lines(os.getenv("REQUESTS")) do lines[#lines + 1] = line end
local method = os.getenv("METHOD") or "GET"
local default_body = os.getenv("BODY")
local headers = {["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or ""), ["Content-Type"] = "application/json"}
if os.getenv("ACCEPT") then headers["Accept"] = os.getenv("ACCEPT") end

function setup(thread) threads[#threads + 1] = thread end
function init(args) codes = {} end
function request()
  local line = lines[math.random(#lines)]
  local path, body = line:match("^([^\t]+)\t(.*)$")
  if not path then path, body = line, default_body end
  return wrk.format(method, path, headers, body)
end
function response(status) codes[status] = (codes[status] or 0) + 1 end

function done(summary, latency)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("codes")) do total[status] = (total[status] or 0) + n end
  end
  io.write(string.format("requests %d rps %.1f p50_ms %.2f p99_ms %.2f", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  for status, n in pairs(total) do io.write(string.format(" status_%d %d", status, n)) end
  io.write("\n")
end
