"""What the production settings and `tilcare serve` refuse, and what the environment sets.

Each settings module is imported in a fresh Python process with the environment under test, as a
server starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tilcare import cli

ROOT = Path(__file__).resolve().parents[3]
GOOD_KEY = "k" * 50
PROD = "tilcare.config.settings.prod"
DEV = "tilcare.config.settings.dev"

SHOW_SETTINGS = """
import json, os
from django.conf import settings
settings._setup()
print(json.dumps({
    "trusted_proxies": [str(n) for n in settings.TILCARE_TRUSTED_PROXIES],
    "csrf_trusted_origins": settings.CSRF_TRUSTED_ORIGINS,
    "ssl_header": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
    "axes_client_ip": settings.AXES_CLIENT_IP_CALLABLE,
}))
"""


def _start(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings `module` in a new process with only `env` of tilcare's variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TILCARE_")}
    environ.pop("DATABASE_URL", None)
    environ.update(DJANGO_SETTINGS_MODULE=module, **env)
    return subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ")
    return last.removeprefix("django.core.exceptions.ImproperlyConfigured: ")


@pytest.mark.parametrize("key", ["k" * 49, "change-me"])
def test_production_refuses_a_secret_key_shorter_than_50_characters(key):
    # Given a secret key shorter than 50 characters
    # When the production settings load
    result = _start(PROD, TILCARE_SECRET_KEY=key, TILCARE_ALLOWED_HOSTS="tilcare.example.org")

    # Then they refuse, naming the variable, its length and the limit
    assert _refusal(result) == (
        f"TILCARE_SECRET_KEY has {len(key)} characters; it must have at least 50 "
        '(python3 -c "import secrets; print(secrets.token_urlsafe(50))").'
    )


def test_production_refuses_the_demo_secret_key():
    # Given the demo's public secret key
    # When the production settings load
    result = _start(
        PROD,
        TILCARE_SECRET_KEY="tilcare-demo-only-not-for-patient-data",
        TILCARE_ALLOWED_HOSTS="tilcare.example.org",
    )

    # Then they refuse it as the public key it is
    assert _refusal(result) == (
        "TILCARE_SECRET_KEY is the demo's public key; set it to a random value of at least 50 "
        'characters (python3 -c "import secrets; print(secrets.token_urlsafe(50))").'
    )


def test_production_starts_with_a_50_character_key():
    # Given a secret key of exactly 50 characters
    # When the production settings load
    result = _start(PROD, TILCARE_SECRET_KEY=GOOD_KEY, TILCARE_ALLOWED_HOSTS="tilcare.example.org")

    # Then they load
    assert result.returncode == 0, result.stderr


def test_the_proxy_variables_set_the_settings_behind_the_proxy():
    # Given the three proxy variables
    # When the production settings load
    result = _start(
        PROD,
        TILCARE_SECRET_KEY=GOOD_KEY,
        TILCARE_ALLOWED_HOSTS="tilcare.example.org",
        TILCARE_TRUSTED_PROXIES="10.0.0.5,10.1.0.0/24",
        TILCARE_CSRF_TRUSTED_ORIGINS="https://tilcare.example.org",
        TILCARE_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )

    # Then Django and django-axes see the proxy, the origin, the HTTPS header and the client
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "trusted_proxies": ["10.0.0.5/32", "10.1.0.0/24"],
        "csrf_trusted_origins": ["https://tilcare.example.org"],
        "ssl_header": ["HTTP_X_FORWARDED_PROTO", "https"],
        "axes_client_ip": "tilcare.core.proxy.client_address",
    }


def test_a_malformed_proxy_variable_stops_the_start():
    # Given an origin written without its scheme
    # When the production settings load
    result = _start(
        PROD,
        TILCARE_SECRET_KEY=GOOD_KEY,
        TILCARE_ALLOWED_HOSTS="tilcare.example.org",
        TILCARE_CSRF_TRUSTED_ORIGINS="tilcare.example.org",
    )

    # Then they refuse, naming the variable
    assert _refusal(result).startswith(
        "TILCARE_CSRF_TRUSTED_ORIGINS: “tilcare.example.org” is not an origin"
    )


# --- tilcare serve ---------------------------------------------------------------------------


@pytest.fixture
def gunicorn(monkeypatch):
    """Records the gunicorn start instead of replacing the test process with it."""
    started: list[tuple[str, int, str]] = []

    def start(host: str, port: int, *, access_log: bool) -> int:
        started.append((host, port, os.environ["DJANGO_SETTINGS_MODULE"]))
        return 0

    monkeypatch.setattr(cli, "_gunicorn", start)
    return started


@pytest.mark.parametrize("settings_module", [None, DEV])
def test_serve_refuses_the_development_settings(settings_module, gunicorn, monkeypatch, capsys):
    # Given DJANGO_SETTINGS_MODULE unset (the development default) or set to them
    if settings_module is None:
        monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    else:
        monkeypatch.setenv("DJANGO_SETTINGS_MODULE", settings_module)

    # When `tilcare serve` is run
    status = cli.main(["serve", "--port", "8123"])

    # Then it refuses, saying what to set, and starts nothing
    assert status == 2
    assert gunicorn == []
    assert capsys.readouterr().err == (
        "tilcare serve: refusing to serve with the development settings "
        "(tilcare.config.settings.dev), whose secret key is public. Set "
        "DJANGO_SETTINGS_MODULE=tilcare.config.settings.prod with TILCARE_SECRET_KEY and "
        "TILCARE_ALLOWED_HOSTS (docs/deployment.md), or pass --development to serve demo data "
        "only.\n"
    )


def test_serve_uses_the_development_settings_when_asked(gunicorn, monkeypatch):
    # Given DJANGO_SETTINGS_MODULE unset
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)

    # When `tilcare serve --development` is run
    status = cli.main(["serve", "--development", "--port", "8123"])

    # Then gunicorn starts with the development settings
    assert status == 0
    assert gunicorn == [("127.0.0.1", 8123, DEV)]


def test_serve_starts_with_the_production_settings(gunicorn, monkeypatch):
    # Given the production settings
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", PROD)

    # When `tilcare serve` is run
    status = cli.main(["serve", "--host", "0.0.0.0", "--port", "8000"])

    # Then gunicorn starts with them
    assert status == 0
    assert gunicorn == [("0.0.0.0", 8000, PROD)]


@pytest.mark.parametrize("value", ["abc", "0", "721", "-5", "1.5"])
def test_an_idle_timeout_that_is_not_1_to_720_minutes_stops_start_up(value):
    # Given a mistyped idle timeout, when the production settings load
    result = _start(
        PROD,
        TILCARE_SECRET_KEY=GOOD_KEY,
        TILCARE_ALLOWED_HOSTS="tilcare.example.org",
        TILCARE_IDLE_TIMEOUT_MINUTES=value,
    )
    # Then the server refuses to start, naming the variable and its limits
    assert _refusal(result) == (
        f"TILCARE_IDLE_TIMEOUT_MINUTES must be a whole number of minutes from 1 to 720; "
        f"it is {value!r}."
    )


def test_createsuperuser_is_refused_and_points_to_adduser(capsys):
    # When an administrator reaches for Django's createsuperuser
    status = cli.main(["createsuperuser", "--noinput", "--username", "root"])

    # Then nothing is created: accounts are made through the audit trail with a role
    assert status == 2
    assert "tilcare adduser USERNAME" in capsys.readouterr().err
