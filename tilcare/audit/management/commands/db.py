"""`tilcare db grant-app-role [ROLE]`: the application's PostgreSQL role gets its privileges.

The application connects (DATABASE_URL) as a role that owns no table, so it cannot disable the
append-only triggers; this gives that role read and write on the ordinary tables and only read
and append on the protected ones (tilcare.audit.triggers). It runs as the tables' owner: through
the migration connection (TILCARE_MIGRATION_DATABASE_URL) when one is configured, else through
`--database`. `tilcare migrate` runs it after migrating. Running it again changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from tilcare.audit import triggers


def owner_alias() -> str:
    """The connection that owns the tables: the migration one when configured."""
    alias = getattr(settings, "MIGRATION_DATABASE_ALIAS", "migration")
    return alias if alias in settings.DATABASES else DEFAULT_DB_ALIAS


class Command(BaseCommand):
    help = (
        "Database roles. `grant-app-role [ROLE]`, run as the tables' owner, gives the "
        "application's role (default: the user of DATABASE_URL) read and write on ordinary tables "
        "and only read and append on the audit trail and the other append-only tables."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["grant-app-role"])
        parser.add_argument(
            "role", nargs="?", help="the application's role (default: the user of DATABASE_URL)"
        )
        parser.add_argument(
            "--database",
            help="the connection that owns the tables (default: the migration connection when "
            "TILCARE_MIGRATION_DATABASE_URL is set, else the default one)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"] or owner_alias()
        if alias not in settings.DATABASES:
            raise CommandError(f'No database connection named "{alias}".')
        role = str(options["role"] or settings.DATABASES[DEFAULT_DB_ALIAS].get("USER") or "")
        if not role:
            raise CommandError(
                "Name the application's role (tilcare db grant-app-role ROLE), or give "
                "DATABASE_URL with its user name."
            )
        try:
            statements = triggers.grant_app_role(connections[alias], role)
        except triggers.RoleError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] >= 2:
            for statement in statements:
                self.stdout.write(f"{statement};")
        self.stdout.write(
            self.style.SUCCESS(
                f'Role "{role}" may read and write the ordinary tables, and only read and append '
                f"to the {len(triggers.PROTECTED_TABLES)} append-only tables."
            )
        )
