# The app's production image: gunicorn serving wsgi:app as a non-root user, migrations as a one-off command.
#
#   podman build -t ledger-portal .            (or docker build; see docs/deploy-aws.md)
#   podman run -e DATABASE_URL=… -e SECRET_KEY=… -e AUDIT_CHECKPOINT_KEY=… -p 8000:8000 ledger-portal
#   podman run -e DATABASE_URL=… -e SECRET_KEY=… -e AUDIT_CHECKPOINT_KEY=… ledger-portal flask --app wsgi db upgrade
#   podman run -e DATABASE_URL=… -e SECRET_KEY=… -e AUDIT_CHECKPOINT_KEY=… ledger-portal \
#       flask --app wsgi audit seal --follow          (the audit sealer, beside the app: docs/operations.md)
#
# BASE_IMAGE must provide python3 (3.11) with venv; the default is the official slim image. A machine without
# registry access can build on a local Debian bookworm base instead (docs/deploy-aws.md, "Building offline").
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm

# Stage 1: build the virtual environment (compilers and caches stay in this stage).
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-compile -r /tmp/requirements.txt

# Stage 2: the runtime: the venv, the code, nothing else.
FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORTAL_ENV=production \
    BIND=0.0.0.0:8000
RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home --shell /usr/sbin/nologin portal
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root wsgi.py ./
COPY --chown=root:root portal ./portal
COPY --chown=root:root migrations ./migrations
COPY --chown=root:root templates ./templates
COPY --chown=root:root static ./static
COPY --chown=root:root deploy/gunicorn.conf.py ./deploy/gunicorn.conf.py
# The code is read-only to the user that runs it; instance/ is the only place it may write (SQLite is not used
# in production, but the app creates the folder when it starts).
RUN mkdir /app/instance && chown portal:portal /app/instance
USER portal
EXPOSE 8000
# The container runtime's liveness probe: the process answers (no database involved). Load balancers use
# /readyz, which also checks the database.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"]
