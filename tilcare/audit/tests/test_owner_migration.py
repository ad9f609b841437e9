"""`tilcare migrate` runs as the tables' owner and then grants the application's role.

With TILCARE_MIGRATION_DATABASE_URL set, every migration runs on the owner's connection (a data
migration's writes included: through the application's connection they would wait on the
owner's locks), and the application's role, the user of DATABASE_URL, is granted its privileges
after. The end-to-end refusals as that role are in test_triggers.py (PostgreSQL).
"""

from __future__ import annotations

import os

import pytest

from tilcare import cli
from tilcare.config.settings.base import migration_database_from_env

APP_URL = "postgres://tilcare_app:app-secret@db.internal:5432/tilcare"
OWNER_URL = "postgres://tilcare_owner:owner-secret@db.internal:5432/tilcare"


@pytest.fixture
def calls(monkeypatch):
    """The management commands `tilcare migrate` runs, each with the DATABASE_URL it saw."""
    seen: list[tuple[list[str], str | None]] = []

    def manage(argv):
        seen.append((list(argv), os.environ.get("DATABASE_URL")))
        return 0

    monkeypatch.setattr(cli, "manage", manage)
    monkeypatch.setenv("DATABASE_URL", APP_URL)
    monkeypatch.delenv("TILCARE_MIGRATION_DATABASE_URL", raising=False)
    return seen


def test_migrate_runs_as_the_owner_then_grants_the_application_role(calls, monkeypatch):
    # Given both connections
    monkeypatch.setenv("TILCARE_MIGRATION_DATABASE_URL", OWNER_URL)

    # When `tilcare migrate` runs
    result = cli.main(["migrate", "--noinput"])

    # Then Django's migrate ran on the owner's connection, and the application's role was granted
    assert result == 0
    assert calls == [
        (["migrate", "--noinput"], OWNER_URL),
        (["db", "grant-app-role", "tilcare_app"], OWNER_URL),
    ]


def test_migrate_without_an_owner_connection_is_djangos_migrate(calls):
    result = cli.main(["migrate"])

    assert result == 0
    assert calls == [(["migrate"], APP_URL)]


def test_migrate_with_an_explicit_database_is_djangos_migrate(calls, monkeypatch):
    monkeypatch.setenv("TILCARE_MIGRATION_DATABASE_URL", OWNER_URL)

    result = cli.main(["migrate", "--database=default"])

    assert result == 0
    assert calls == [(["migrate", "--database=default"], APP_URL)]


@pytest.mark.parametrize(
    "app_url",
    [
        "postgres://tilcare_app:app-secret@db.internal:5432/other",
        "postgres://tilcare_app:app-secret@elsewhere:5432/tilcare",
        "postgres://db.internal:5432/tilcare",
    ],
    ids=["another_database", "another_host", "no_user"],
)
def test_migrate_refuses_connections_to_different_databases(calls, monkeypatch, capsys, app_url):
    # Given an application connection that is not the owner's database, or names no role
    monkeypatch.setenv("TILCARE_MIGRATION_DATABASE_URL", OWNER_URL)
    monkeypatch.setenv("DATABASE_URL", app_url)

    # When `tilcare migrate` runs
    result = cli.main(["migrate"])

    # Then it refuses and runs nothing
    assert result == 2
    assert calls == []
    assert capsys.readouterr().err == (
        "tilcare migrate: DATABASE_URL (the application's role) and "
        "TILCARE_MIGRATION_DATABASE_URL (the tables' owner) must name the same database, each "
        "with its user.\n"
    )


def test_the_owner_connection_is_read_from_its_own_variable(monkeypatch):
    monkeypatch.setenv("TILCARE_MIGRATION_DATABASE_URL", OWNER_URL)

    database = migration_database_from_env()

    assert database is not None
    assert (database["USER"], database["PASSWORD"], database["HOST"], database["NAME"]) == (
        "tilcare_owner",
        "owner-secret",
        "db.internal",
        "tilcare",
    )


def test_without_the_variable_there_is_no_owner_connection(monkeypatch):
    monkeypatch.delenv("TILCARE_MIGRATION_DATABASE_URL", raising=False)

    assert migration_database_from_env() is None
