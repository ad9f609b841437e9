"""The `tilcare` command, run as a user would: a fresh demo, then `tilcare audit verify`.

These run the real command in a subprocess on a SQLite file of their own, so they need no test
database; tampering is done behind the application's back with sqlite3, as an attacker would.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tilcare.cli import remove_demo_database
from tilcare.demo.people import DEMO_PASSWORD, DEMO_USERS

DB_NAME = "tilcare.sqlite3"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    # pytest-django exports the test settings; the command must run as a user runs it.
    env["DJANGO_SETTINGS_MODULE"] = "tilcare.config.settings.dev"
    env["TILCARE_DATA_DIR"] = str(data_dir)
    return env


def _tilcare(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tilcare.cli", *args],
        env=_env(data_dir),
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    result = _tilcare(data_dir, "demo", "--no-serve", "--data-dir", str(data_dir))
    return data_dir, result


@pytest.fixture
def demo_copy(demo_run, tmp_path):
    """A private copy of the demo database, safe to tamper with."""
    source_dir, result = demo_run
    assert result.returncode == 0, result.stderr
    with (
        sqlite3.connect(source_dir / DB_NAME) as source,
        sqlite3.connect(tmp_path / DB_NAME) as copy,
    ):
        source.backup(copy)
    return tmp_path


def _tamper(data_dir: Path, *statements: str) -> None:
    connection = sqlite3.connect(data_dir / DB_NAME)
    with connection:
        for statement in statements:
            connection.execute(statement)
    connection.close()


def test_demo_creates_the_database_and_exits_when_told_not_to_serve(demo_run):
    # Given `tilcare demo --no-serve --data-dir DIR` was run
    data_dir, result = demo_run

    # Then it succeeded and left the SQLite database in DIR
    assert result.returncode == 0, result.stderr
    assert (data_dir / DB_NAME).is_file()


def test_demo_prints_the_url_and_every_login_with_the_shared_password(demo_run):
    # Given `tilcare demo` was run
    _, result = demo_run

    # Then the output has the address, the password and a row per demo login
    assert "http://127.0.0.1:8000/" in result.stdout
    assert f"password: {DEMO_PASSWORD}" in result.stdout
    rows = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert {user.username for user in DEMO_USERS} <= rows


def test_demo_prints_the_chosen_port(tmp_path):
    # Given a port other than the default
    # When the demo is prepared
    result = _tilcare(tmp_path, "demo", "--no-serve", "--port", "8123", "--data-dir", str(tmp_path))

    # Then the printed address uses it
    assert result.returncode == 0, result.stderr
    assert "http://127.0.0.1:8123/" in result.stdout


def test_demo_starts_afresh_over_a_previous_demo(demo_copy):
    # Given a data folder that already holds a demo database
    # When the demo is run again there
    result = _tilcare(demo_copy, "demo", "--no-serve", "--data-dir", str(demo_copy))

    # Then it replaces it instead of refusing a non-empty database
    assert result.returncode == 0, result.stderr
    assert "Demo loaded: 2 organizations, 11 users, 18 patients" in result.stdout


def test_audit_verify_passes_on_the_demo(demo_copy):
    # Given an untouched demo database
    # When the chain is verified
    result = _tilcare(demo_copy, "audit", "verify")

    # Then it exits 0 and says the chain is intact
    assert result.returncode == 0, result.stderr
    assert "Audit chain intact" in result.stdout


@pytest.mark.parametrize(
    ("trigger", "statement", "message"),
    [
        pytest.param(
            "audit_auditevent_no_update",
            "UPDATE audit_auditevent SET reason='x' WHERE seq=5",
            "event #5 was altered after it was written",
            id="altered",
        ),
        pytest.param(
            "audit_auditevent_no_delete",
            "DELETE FROM audit_auditevent WHERE seq=7",
            "event #7 is missing",
            id="deleted",
        ),
    ],
)
def test_audit_verify_names_an_event_changed_behind_the_applications_back(
    demo_copy, trigger, statement, message
):
    # Given audit event #5 was changed (or #7 deleted) directly in the database, its trigger
    # dropped first
    _tamper(demo_copy, f"DROP TRIGGER {trigger}", statement)

    # When the chain is verified
    result = _tilcare(demo_copy, "audit", "verify")

    # Then it fails and names event #5 as altered (or #7 as missing)
    assert result.returncode != 0
    assert message in result.stderr


def test_help_lists_the_commands(tmp_path):
    # When `tilcare --help` is run
    result = _tilcare(tmp_path, "--help")

    # Then it lists the demo, serve, migrate and audit commands
    assert result.returncode == 0
    for command in ("demo", "serve", "migrate", "audit verify"):
        assert command in result.stdout


def test_removing_the_demo_database_leaves_other_files_alone(tmp_path):
    # Given a data folder with the demo database, its WAL files and something else
    for name in ("tilcare.sqlite3", "tilcare.sqlite3-wal", "tilcare.sqlite3-shm", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "staticfiles").mkdir()

    # When the previous demo database is removed
    remove_demo_database(tmp_path)

    # Then only the three database files are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "staticfiles"]


# The hour when the demo center (New York) is already on the next day and the facility (Chicago)
# still on the day before; the demo once failed to build then.
FROZEN_DEMO = """
import datetime as dt
import sys

import time_machine

from tilcare.cli import main

with time_machine.travel(dt.datetime({moment}, tzinfo=dt.UTC), tick=True):
    sys.exit(main(["demo", "--no-serve", "--data-dir", sys.argv[1]]))
"""


def test_demo_builds_from_a_fresh_folder_at_05_30_utc(tmp_path):
    # Given a fresh data folder, the process in UTC, and the clock at 05:30 UTC on an ordinary
    # day (00:30 in New York, 23:30 the day before in Chicago)
    env = {**_env(tmp_path), "TZ": "UTC"}

    # When `tilcare demo --no-serve` is run then
    result = subprocess.run(
        [sys.executable, "-c", FROZEN_DEMO.format(moment="2026, 12, 7, 5, 30"), str(tmp_path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    # Then it builds the whole demo and says so
    assert result.returncode == 0, result.stderr
    assert "Demo loaded: 2 organizations, 11 users, 18 patients" in result.stdout
