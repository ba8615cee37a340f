"""Request ids and the one log line every HTTP request writes (JSON, or a short line for a person in development)."""
import json
import logging
import re
import sys
import time
import uuid

from flask import g, request
from flask.logging import default_handler
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.audit import Actor

REQUEST_ID_HEADER = "X-Request-ID"
# What a client's X-Request-ID may be to be kept: 1-64 characters a log line or an audit column holds as they are.
# Matched whole ("$" would let a trailing newline through).
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_log = logging.getLogger("portal.request")
# Paths that carry a secret after this prefix (a password reset link): logged without it.
SECRET_PATH_PREFIXES = ("/password/reset/",)


def loggable_path(path):
    """Return `path` as a log line may hold it: a reset link's secret is cut off."""
    for prefix in SECRET_PATH_PREFIXES:
        if path and path.startswith(prefix):
            return prefix + "…"
    return path


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a record's `fields` (a dict) are merged in."""

    def format(self, record):
        """Render `record` as one JSON line: time, level, logger, message, its fields and any traceback."""
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class RateLimiterAlarm(logging.Filter):
    """Say what Flask-Limiter's storage events mean, at the level they deserve, and apply LOG_LEVEL after that.

    When its storage (Redis) fails, Flask-Limiter falls back to counting in each process's memory and logs one
    warning per process: every limit then lets through as many times its allowance as there are processes. That
    is an error for whoever runs the service; the recovery (logged at INFO) is worth a warning.
    """

    MEANINGS = {
        "Rate limit storage unreachable": (logging.ERROR, "rate limit storage unreachable: each process counts "
                                           "alone until it is back, so every limit is multiplied by the number "
                                           "of processes"),
        "Rate limit storage recovered": (logging.WARNING, "rate limit storage recovered: limits are shared again"),
    }

    def __init__(self, level):
        """Keep `level` (LOG_LEVEL), applied to each record after its level may have been changed."""
        super().__init__()
        self.level = level

    def filter(self, record):
        """Reword and re-level a storage event; let a record through only at the kept level or above."""
        for start, (level, message) in self.MEANINGS.items():
            if record.getMessage().startswith(start):
                record.levelno, record.levelname = level, logging.getLevelName(level)
                record.msg, record.args = message, ()
        return record.levelno >= self.level


class ConsoleFormatter(logging.Formatter):
    """Development (LOG_FORMAT=console): one short line a person reads, e.g.
    `14:02:11 GET /api/v1/accounts 200 12 ms req=1f0c9a2e token=3`; any other record as time, level, logger and
    message, with its traceback."""

    def format(self, record):
        """Render a request record as its one line, any other record as `time LEVEL logger: message`."""
        when = time.strftime("%H:%M:%S", self.converter(record.created))
        fields = getattr(record, "fields", {})
        if record.name == request_log.name and "method" in fields:
            line = f"{when} {self._request(fields)}"
        else:
            line = f"{when} {record.levelname} {record.name}: {record.getMessage()}"
            if fields.get("request_id"):
                line += f" req={fields['request_id'][:8]}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line

    @staticmethod
    def _request(fields):
        line = (f"{fields['method']} {fields['path']} {fields['status']} {fields['duration_ms']:.0f} ms "
                f"req={fields['request_id'][:8]}")
        if fields.get("token_id") is not None:
            line += f" token={fields['token_id']}"
        elif fields.get("user_id") is not None:
            line += f" user={fields['user_id']}"
        return line


class DevServerRequestLine(logging.Filter):
    """Drop the development server's own line per request (`"GET / HTTP/1.1" 200 -`): the app's request line
    says the same and more. Its banner, warnings and errors pass."""

    # How werkzeug.serving.WSGIRequestHandler.log_request's format ends, after `log` puts the client's address and
    # the date before it (`127.0.0.1 - - [date] "%s" %s %s`); it logs nothing else that way.
    REQUEST_FORMAT = ' "%s" %s %s'

    def filter(self, record):
        """Let through every record but a request line."""
        request_line = record.levelno == logging.INFO and str(record.msg).endswith(self.REQUEST_FORMAT)
        return not request_line


FORMATTERS = {"json": JsonFormatter, "console": ConsoleFormatter}
_HANDLER_NAME = "portal"


def configure_logging(app):
    """Every `portal.*` logger (the request line, errors with their tracebacks, the app's own logger) and
    Flask-Limiter's write to stderr at LOG_LEVEL: JSON lines for a log stack to ingest (LOG_FORMAT=json, outside
    development), or one short line each for a person (LOG_FORMAT=console, development's default, where the
    development server's duplicate request line is dropped)."""
    logging.Formatter.converter = time.gmtime
    portal_log = logging.getLogger("portal")  # also app.logger: the app is named "portal"
    portal_log.removeHandler(default_handler)  # Flask's plain-text handler, if it was added already
    limiter_log = logging.getLogger("flask-limiter")  # only a NullHandler of its own: its warnings went nowhere
    log_format = app.config.get("LOG_FORMAT", "json")
    for log in (portal_log, limiter_log):
        _own_handler(log).setFormatter(FORMATTERS[log_format]())
    portal_log.setLevel(app.config["LOG_LEVEL"])
    request_log.setLevel(app.config["LOG_LEVEL"])
    # Its storage recovery is logged at INFO: let that reach the alarm, which applies LOG_LEVEL itself.
    level = portal_log.getEffectiveLevel()
    limiter_log.setLevel(min(level, logging.INFO))
    _replace_filter(limiter_log, RateLimiterAlarm, RateLimiterAlarm(level))
    # Loggers outlive apps (tests create many): each app sets the filter its own format wants.
    _replace_filter(logging.getLogger("werkzeug"), DevServerRequestLine,
                    DevServerRequestLine() if log_format == "console" else None)


def _own_handler(log):
    """Return the stderr handler configure_logging added to `log`, adding it the first time."""
    for handler in log.handlers:
        if handler.get_name() == _HANDLER_NAME:
            return handler
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    log.addHandler(handler)
    return handler


def _replace_filter(log, kind, new):
    """Remove `log`'s filters of class `kind`, then add `new` unless it is None."""
    for old in [f for f in log.filters if isinstance(f, kind)]:
        log.removeFilter(old)
    if new is not None:
        log.addFilter(new)


def init_app(app):
    """Assign request ids, stamp them on responses, and log each request as one JSON line."""
    if app.config.get("TRUSTED_PROXIES"):
        # Behind a load balancer: the client's address and scheme come from its X-Forwarded-* headers.
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.before_request(_start)
    app.after_request(_finish)


def _assign_ids():
    if "server_request_id" not in g:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        g.client_request_id = sent if _SANE_REQUEST_ID.fullmatch(sent) else None
        g.server_request_id = uuid.uuid4().hex


def current_request_id():
    """Return the id this request answers with: the client's if it sent a sane one, else the server's own."""
    _assign_ids()
    return g.client_request_id or g.server_request_id


def server_request_id():
    """Return the id the server gave this request: unique, whatever the client sent (the audit log's key)."""
    _assign_ids()
    return g.server_request_id


def client_request_id():
    """Return the client's own X-Request-ID if it sent a sane one, else None."""
    _assign_ids()
    return g.client_request_id


def client_ip():
    """The client's address (behind a load balancer, as TRUSTED_PROXIES lets ProxyFix read it)."""
    return request.remote_addr


def request_actor(user=None, token=None, principal=None):
    """Describe who acts in this request (a principal, a token, a user, or nobody) and from where, for the audit
    log."""
    user_agent = request.headers.get("User-Agent")
    # The server's id, not the client's: a client may reuse or copy ids, and the audit log must tell requests
    # apart. The client's (how it correlates) is kept beside it.
    where = {"ip": client_ip(), "user_agent": user_agent.replace("\x00", "") if user_agent else user_agent,
             "request_id": server_request_id(), "client_request_id": client_request_id()}
    if principal is not None:
        return Actor.for_principal(principal, **where)
    if token is not None:
        return Actor.for_token(token, **where)
    if user is not None:
        return Actor.for_user(user, **where)
    return Actor(type="anonymous", **where)


def _start():
    # Reset per-request state explicitly: `g` belongs to the app context, which a test may keep across requests.
    for name in ("server_request_id", "client_request_id", "actor", "principal", "credential",
                 "csp_nonce", "csp_form_targets"):
        g.pop(name, None)
    g.started = time.perf_counter()
    current_request_id()


def _finish(response):
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    actor = g.get("actor")
    if actor is None and current_user and current_user.is_authenticated:
        actor = Actor.for_user(current_user)
    request_log.info("request", extra={"fields": {
        "request_id": current_request_id(),
        "server_request_id": server_request_id(),
        "method": request.method,
        "path": loggable_path(request.path),
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
        "actor": actor.type if actor else "anonymous",
        "user_id": actor.user_id if actor else None,
        "token_id": actor.token_id if actor else None,
        "ip": client_ip(),
    }})
    return response
