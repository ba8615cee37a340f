"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py wsgi:app` (see `deploy/serve`).

Every setting can be overridden from the environment, so the same file serves a laptop, a container and an
ECS task. Workers are plain sync processes: each request holds one database connection for a few
milliseconds, and a stuck request is bounded twice (the database's statement timeout, then `timeout` here).
"""
import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
# The usual 2 × cores + 1: while one worker waits on PostgreSQL, another uses the core.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
# A worker silent for this long is killed and replaced (the statement timeout, 5 s, normally fires first).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (a deploy, a scale-in) or SIGHUP (a reload), in-flight requests get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Workers are recycled now and then (staggered), so slow growth in memory never accumulates.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "500"))
# What gunicorn refuses by itself, before the app sees the request, answered in its own HTML without a request
# id: a request line over 4094 bytes (414), more than 100 headers or one over 8190 bytes (431), a malformed
# request line or header (400). Its defaults, stated so that the API's own tighter limits (portal/security.py:
# URL 2048 bytes, 50 headers, 4096 bytes each) stay below them and a client meets those, in the API's envelope.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# The app is created in each worker after the fork: no database or Redis connection is shared across processes.
preload_app = False

# Logs: JSON lines on stderr for the container runtime to ship (CloudWatch, ELK).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "portal.serving.JsonLogger"

# X-Forwarded-* are trusted only from the load balancer's addresses; the app itself applies them per
# TRUSTED_PROXIES (see docs/operations.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
control_socket_disable = True  # no control socket in $HOME: the container user has no writable home
# Worker heartbeats in memory, not on the container's (possibly slow or read-only) disk.
SHARED_MEMORY = "/dev/shm"  # noqa: S108 (gunicorn writes only its own heartbeat files here)
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None


def on_starting(server):
    """Refuse to start production with several workers that would each count rate limits alone (memory://)."""
    from portal.serving import refuse_per_process_rate_limits

    refuse_per_process_rate_limits(server.cfg.workers)  # the worker count after any -w on the command line
