"""gunicorn's logs as JSON lines, like the app's own: one access line per request, with the request id.

Used by deploy/gunicorn.conf.py (`logger_class`). The app already writes a `portal.request` line per request
(who: user, token); gunicorn's access line records what the client actually received, including answers the
app never finished (a worker timeout, an error while ending the request). Both carry the request id.
"""
import logging
from pathlib import Path

from dotenv import load_dotenv
from gunicorn import glogging

from portal.config import ConfigError, load_config
from portal.observability import REQUEST_ID_HEADER, JsonFormatter, loggable_path

ROOT = Path(__file__).resolve().parent.parent


def refuse_per_process_rate_limits(workers):
    """Raise ConfigError if production would run `workers` processes that each count rate limits alone.

    With memory:// every worker keeps its own counts, so each limit is multiplied by the number of workers
    (36 of 40 wrong passwords were checked in 7 s against 10/minute). gunicorn calls this before it forks.
    """
    load_dotenv(ROOT / ".env")  # as create_app does: the settings the workers will see
    config = load_config()
    storage = config.RATELIMIT_STORAGE_URI
    enabled = getattr(config, "RATELIMIT_ENABLED", True)
    if config.ENV_NAME == "production" and enabled and workers > 1 and storage.startswith("memory://"):
        raise ConfigError(
            f"RATELIMIT_STORAGE_URI is {storage} but gunicorn would run {workers} workers: each would count rate "
            f"limits alone, letting {workers} times every limit through. Set RATELIMIT_STORAGE_URI=redis://… "
            "(one count shared by every worker and host), or run a single worker (WEB_CONCURRENCY=1).")


class JsonLogger(glogging.Logger):
    """gunicorn's logger, with JSON-formatted error and access logs."""

    def setup(self, cfg):
        """Set up gunicorn's logs with JSON lines, the access log at gunicorn's loglevel."""
        super().setup(cfg)
        # One knob: LOG_LEVEL=WARNING (gunicorn's loglevel) also silences the per-request access lines.
        self.access_log.setLevel(self.LOG_LEVELS.get(cfg.loglevel.lower(), logging.INFO))
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        """Log one JSON access line for a response, with its request id, status, duration and size."""
        if not self.access_log_enabled:
            return
        headers = {name.lower(): value for name, value in resp.headers}
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        self.access_log.info("access", extra={"fields": {
            "request_id": headers.get(REQUEST_ID_HEADER.lower()),
            "method": environ.get("REQUEST_METHOD"),
            "path": loggable_path(environ.get("PATH_INFO")),
            "status": int(status),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "bytes": getattr(resp, "sent", None),
            "ip": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }})
