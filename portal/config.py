"""Configuration classes; every value comes from the environment, read when the app is created."""
import os
import secrets
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
LOG_FORMATS = ("json", "console")
# The corrections a second member of staff must approve unless FOUR_EYES says otherwise (empty: none).
DEFAULT_FOUR_EYES = "transaction.reverse,transaction.adjust,account.close,account.unfreeze,user.role_change"
MIN_CHECKPOINT_KEY_LENGTH = 32  # what secrets.token_urlsafe(32) makes is 43


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the app may start with."""


def _env(name, default=None):
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int_env(name, default):
    value = _env(name, default)
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def four_eyes_kinds(value):
    """Return the correction kinds named in a FOUR_EYES value (comma-separated text, or already a collection)."""
    names = value.split(",") if isinstance(value, str) else list(value or ())
    return tuple(name.strip() for name in names if name.strip())


def _database_url(default):
    url = _env("DATABASE_URL") or _url_from_parts() or default
    # Accept the bare scheme most hosting platforms hand out and use psycopg 3 for it.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _url_from_parts():
    """DATABASE_HOST/PORT/NAME/USER/PASSWORD, as a container platform injects them (the password from a
    secrets store), when no DATABASE_URL is given."""
    host = _env("DATABASE_HOST")
    if not host:
        return None
    user = quote(_env("DATABASE_USER", "postgres"), safe="")
    password = _env("DATABASE_PASSWORD")
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    return (f"postgresql+psycopg://{credentials}@{host}:{_env('DATABASE_PORT', '5432')}/"
            f"{_env('DATABASE_NAME', 'portal')}")


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "production"
    DEBUG = False
    TESTING = False
    DEFAULT_LOG_FORMAT = "json"  # one JSON object per line, for a log stack to ingest

    def __init__(self):
        """Read the settings every environment shares from the environment variables."""
        self.SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{ROOT / 'instance' / 'portal.db'}")
        # pre-ping: a connection the server dropped (restart, failover) is replaced before use, not reported.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        # A stuck query or lock wait is cancelled (the request answers 503) instead of holding a worker forever.
        self.DATABASE_STATEMENT_TIMEOUT_MS = _int_env("DATABASE_STATEMENT_TIMEOUT_MS", "5000")
        self.SECRET_KEY = _env("SECRET_KEY")
        # Signs the audit chain's checkpoints (`flask audit checkpoint`), which are kept outside the database.
        self.AUDIT_CHECKPOINT_KEY = _env("AUDIT_CHECKPOINT_KEY")
        self.BANK_TIMEZONE = _env("BANK_TIMEZONE", "UTC")
        # Every body the app takes is small (an API posting, a form): a larger one is refused with 413, before
        # it is read when its Content-Length says so, and as soon as it passes the limit when it is streamed.
        self.MAX_CONTENT_LENGTH = _int_env("MAX_CONTENT_LENGTH", "65536")
        self.API_RATE_LIMIT = _env("API_RATE_LIMIT", "120/minute")
        self.LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10/minute")
        # memory:// counts per process; redis://… shares one count across processes and machines.
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_KEY_PREFIX = _env("RATELIMIT_KEY_PREFIX", "portal")
        # If the shared store is down, count per process rather than fail every request.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RESTX_MASK_SWAGGER = False  # no X-Fields header: responses are fixed shapes
        self.RESTX_ERROR_404_HELP = False
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO").upper()
        self.LOG_FORMAT = _env("LOG_FORMAT", self.DEFAULT_LOG_FORMAT).lower()
        # How many proxies (a load balancer: 1) stand in front and set X-Forwarded-For/-Proto; 0 trusts none.
        self.TRUSTED_PROXIES = _int_env("TRUSTED_PROXIES", "0")
        # A login session ends after this long without a request, and this long after login whatever happens.
        self.SESSION_IDLE_MINUTES = _int_env("SESSION_IDLE_MINUTES", "15")
        self.SESSION_MAX_HOURS = _int_env("SESSION_MAX_HOURS", "12")
        # Corrections that take effect only when a second member of staff approves; set but empty turns it off.
        self.FOUR_EYES = os.environ.get("FOUR_EYES", DEFAULT_FOUR_EYES)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = True
        self.REMEMBER_COOKIE_SECURE = True

    def validate(self):
        """Refuse settings that would be unsafe or meaningless."""
        if not self.SECRET_KEY:
            raise ConfigError(f"SECRET_KEY must be set in the environment ({self.ENV_NAME} configuration)")
        try:
            ZoneInfo(self.BANK_TIMEZONE)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"BANK_TIMEZONE {self.BANK_TIMEZONE!r} is not an IANA time zone") from exc
        if self.LOG_FORMAT not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {self.LOG_FORMAT!r}")
        if not 1 <= self.SESSION_IDLE_MINUTES <= 24 * 60:
            raise ConfigError(f"SESSION_IDLE_MINUTES must be from 1 to 1440, not {self.SESSION_IDLE_MINUTES}")
        if not 1 <= self.SESSION_MAX_HOURS <= 24 * 30:
            raise ConfigError(f"SESSION_MAX_HOURS must be from 1 to 720, not {self.SESSION_MAX_HOURS}")

    def as_dict(self):
        """Return the upper-case settings, class and instance ones alike."""
        names = {n for n in dir(self) if n.isupper()}
        return {name: getattr(self, name) for name in names}


class DevelopmentConfig(Config):
    """Local development: a throwaway secret is acceptable, cookies travel over plain HTTP."""

    ENV_NAME = "development"
    DEFAULT_LOG_FORMAT = "console"  # `make run`'s terminal: one short line per request, for a person

    def __init__(self):
        """Let cookies travel over plain HTTP, and make up a per-process secret if none is set."""
        super().__init__()
        self.SESSION_COOKIE_SECURE = False
        self.REMEMBER_COOKIE_SECURE = False
        if not self.SECRET_KEY:
            # Sessions do not survive a restart; that is the price of not shipping a default secret.
            self.SECRET_KEY = secrets.token_urlsafe(32)
        # No made-up checkpoint key: a checkpoint signed with a per-process key could never be checked again.
        # Without one, `flask audit checkpoint` and `verify --checkpoint` refuse to run; the rest works.
        self.AUDIT_CHECKPOINT_KEY = self.AUDIT_CHECKPOINT_KEY or ""


class TestingConfig(DevelopmentConfig):
    """The test suite: in-process, fast password hashing, no rate limits unless a test turns them on."""

    ENV_NAME = "testing"
    TESTING = True
    DEFAULT_LOG_FORMAT = "json"

    def __init__(self):
        """Default to an in-memory SQLite database; turn rate limits off, CSRF on and password hashing fast."""
        super().__init__()
        self.SQLALCHEMY_DATABASE_URI = _database_url("sqlite://")
        self.RATELIMIT_ENABLED = False
        self.WTF_CSRF_ENABLED = True
        self.PASSWORD_HASH_FAST = True


class ProductionConfig(Config):
    """Production: every secret from the environment, secure cookies, never the debugger."""

    def validate(self):
        """Refuse what every environment refuses, and also the debugger (DEBUG or FLASK_DEBUG)."""
        super().validate()
        if not self.AUDIT_CHECKPOINT_KEY:
            raise ConfigError(f"AUDIT_CHECKPOINT_KEY must be set in the environment ({self.ENV_NAME} configuration)")
        # An HMAC key a person typed ("short", a word) can be guessed, and with it a forged checkpoint would verify.
        if len(self.AUDIT_CHECKPOINT_KEY) < MIN_CHECKPOINT_KEY_LENGTH:
            raise ConfigError(f"AUDIT_CHECKPOINT_KEY must be at least {MIN_CHECKPOINT_KEY_LENGTH} characters, not "
                              f"{len(self.AUDIT_CHECKPOINT_KEY)} ({self.ENV_NAME} configuration); make one with "
                              "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
        # `flask run --debug` (FLASK_DEBUG) would serve Werkzeug's interactive debugger: code execution.
        if _env("FLASK_DEBUG", "0").lower() not in ("0", "false", "no"):
            raise ConfigError("FLASK_DEBUG must not be set in production: it turns on the interactive debugger")
        if self.DEBUG:
            raise ConfigError("DEBUG must be off in production")


CONFIGS = {cls.ENV_NAME: cls for cls in (DevelopmentConfig, TestingConfig, ProductionConfig)}


def load_config(name=None):
    """Build the configuration named by `name`, or by PORTAL_ENV (development by default)."""
    name = name or _env("PORTAL_ENV") or _env("FLASK_ENV") or "development"
    try:
        config = CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"PORTAL_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
    return config
