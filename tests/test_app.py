"""The application shell: configuration, health probes."""
import logging

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.config import ConfigError, load_config


def test_healthz_answers_without_touching_the_database(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ok_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_readyz_is_503_when_the_database_is_unreachable():
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 1}}})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_refuses_to_start_without_an_audit_checkpoint_key(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("AUDIT_CHECKPOINT_KEY", raising=False)
    with pytest.raises(ConfigError, match="AUDIT_CHECKPOINT_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.mark.parametrize("key", ["short", "k" * 31])
def test_production_refuses_an_audit_checkpoint_key_shorter_than_32_characters(monkeypatch, key):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEY", key)
    with pytest.raises(ConfigError, match=f"AUDIT_CHECKPOINT_KEY must be at least 32 characters, not {len(key)}"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEY", "k" * 32)
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["AUDIT_CHECKPOINT_KEY"] == "k" * 32


def test_production_starts_with_a_secret_key_and_secure_cookies(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEY", "k" * 40)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert not app.debug and not app.testing


@pytest.mark.parametrize("flag", ["1", "true"])
def test_production_refuses_to_start_with_the_debugger_asked_for(monkeypatch, flag):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEY", "k" * 40)
    monkeypatch.setenv("FLASK_DEBUG", flag)
    with pytest.raises(ConfigError, match="FLASK_DEBUG"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with pytest.raises(ConfigError, match="DEBUG"):
        monkeypatch.delenv("FLASK_DEBUG")
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "DEBUG": True})


def test_production_error_pages_carry_no_stack_trace(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEY", "k" * 40)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals at /srv/portal/thing.py")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "Traceback" not in response.text and "secret internals" not in response.text


def test_development_and_testing_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("AUDIT_CHECKPOINT_KEY", raising=False)
    for name in ("development", "testing"):
        config = load_config(name)
        config.validate()
        assert len(config.SECRET_KEY) >= 32
        assert config.AUDIT_CHECKPOINT_KEY == ""  # never made up: checkpoints would not verify in the next run


def test_an_unknown_bank_time_zone_is_refused(monkeypatch):
    monkeypatch.setenv("BANK_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ConfigError, match="BANK_TIMEZONE"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_an_unknown_environment_name_is_refused(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "staging-ish")
    with pytest.raises(ConfigError, match="PORTAL_ENV"):
        create_app()


def test_plain_postgresql_urls_use_psycopg_3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example:5432/bank")
    assert load_config("production").SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@db.example:5432/bank"


def test_the_database_url_can_come_in_parts_with_the_password_from_a_secret_store(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for name, value in {"DATABASE_HOST": "db.internal", "DATABASE_NAME": "portal", "DATABASE_USER": "portal",
                        "DATABASE_PASSWORD": "p@ss:w/rd"}.items():
        monkeypatch.setenv(name, value)
    url = load_config("production").SQLALCHEMY_DATABASE_URI
    assert url == "postgresql+psycopg://portal:p%40ss%3Aw%2Frd@db.internal:5432/portal"
    assert sa.engine.make_url(url).password == "p@ss:w/rd"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@elsewhere/db")
    assert load_config("production").SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@elsewhere/db"


def test_a_setting_that_must_be_a_number_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "five seconds")
    with pytest.raises(ConfigError, match="DATABASE_STATEMENT_TIMEOUT_MS"):
        load_config("testing")


@pytest.mark.parametrize("proxies, seen", [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_comes_from_the_load_balancer_only_when_trusted(caplog, proxies, seen):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TRUSTED_PROXIES": proxies})
    with caplog.at_level(logging.INFO, logger="portal.request"):
        response = app.test_client().get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 200
    assert [r.fields["ip"] for r in caplog.records if r.name == "portal.request"] == [seen]


def test_session_timeouts_default_to_15_minutes_idle_and_12_hours(monkeypatch):
    config = load_config("testing")
    assert (config.SESSION_IDLE_MINUTES, config.SESSION_MAX_HOURS) == (15, 12)
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("SESSION_MAX_HOURS", "8")
    config = load_config("testing")
    assert (config.SESSION_IDLE_MINUTES, config.SESSION_MAX_HOURS) == (5, 8)


@pytest.mark.parametrize("name, value", [("SESSION_IDLE_MINUTES", "0"), ("SESSION_IDLE_MINUTES", "fifteen"),
                                         ("SESSION_MAX_HOURS", "-1"), ("SESSION_MAX_HOURS", "100000")])
def test_session_timeouts_must_be_sensible_numbers(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
