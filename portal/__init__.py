"""The ledger portal: a small bank's core system in one Flask application."""
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask

from portal import (
    admin,
    api,
    commands,
    converters,
    corrections,
    display,
    errors,
    health,
    oauth,
    observability,
    security,
    unit_of_work,
)
from portal.api import auth as api_auth
from portal.api import guards as api_guards
from portal.auth import routes as auth
from portal.config import load_config
from portal.database import configure_engine, engine_options, release_session_at_teardown
from portal.extensions import db, limiter, migrate
from portal.observability import configure_logging
from portal.web import connected_apps  # noqa: F401 -- its pages join the web blueprint
from portal.web import routes as web
from portal.web import statements as web_statements  # noqa: F401 -- its pages join the web blueprint

ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None):
    """Create and configure an app; `config` is a config name, or a dict of overrides for the environment's."""
    load_dotenv(ROOT / ".env")
    overrides = config if isinstance(config, dict) else {}
    settings = load_config(None if isinstance(config, dict) else config)
    for key, value in overrides.items():
        setattr(settings, key, value)
    settings.validate()

    app = Flask(__name__, instance_path=str(ROOT / "instance"), template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    app.config.from_mapping(settings.as_dict())
    register_logging(app)
    register_policies(app)
    register_extensions(app)
    register_request_hooks(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_logging(app):
    """Log as JSON lines, with the request id."""
    configure_logging(app)


def register_policies(app):
    """Read the rules that need the registry to check them: which corrections need a second pair of eyes."""
    corrections.approvals.init_app(app)


def register_extensions(app):
    """Bind the database, its migrations and its engine settings to the app."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(exist_ok=True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    db.init_app(app)
    release_session_at_teardown(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    with app.app_context():
        configure_engine(db.engine)


def register_request_hooks(app):
    """Register what runs around every request, in order, and the template filters."""
    # Before-request hooks run in the order they are registered, and Flask-Limiter checks in one of its own.
    observability.init_app(app)  # first: fresh per-request state and a request id for whatever answers
    security.init_app(app)  # refuse oversized bodies (and NUL on the pages) before any work
    api_guards.init_app(app)  # the API's own limits (URL, headers, NUL in its query), answered in its envelope
    api_auth.init_app(app)  # who calls the API: the rate limit counts per token or per address
    limiter.init_app(app)
    display.init_app(app)
    unit_of_work.init_app(app)  # last registered, so the first after-request step: the commit


def register_blueprints(app):
    """Register the doors: health, the API, the login and customer pages, OAuth 2.0, the back-office."""
    converters.init_app(app)
    app.register_blueprint(health.bp)
    api.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(web.bp)
    oauth.init_app(app)
    admin.init_app(app)


def register_errorhandlers(app):
    """Answer errors with a page for people and the envelope for the API."""
    errors.init_app(app)


def register_commands(app):
    """Register the `flask` commands."""
    commands.init_app(app)
