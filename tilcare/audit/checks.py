"""Deploy checks (`tilcare check --deploy`): can the application step around the audit triggers?

The append-only triggers hold against the application only if its database role cannot disable
them: on PostgreSQL a table's owner (or a superuser) can, and a role holding UPDATE, DELETE or
TRUNCATE is one dropped trigger away from rewriting the trail. SQLite has no roles: whoever can
write the file can drop the triggers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from tilcare.audit import triggers

HINT = (
    "Connect the application (DATABASE_URL) as a role that owns no table, run `tilcare migrate` "
    "as the owner (TILCARE_MIGRATION_DATABASE_URL), which then grants the application's role its "
    "privileges (`tilcare db grant-app-role`). See docs/deployment.md, section 1."
)


@register(Tags.security, deploy=True)
def check_owner_connection_not_in_app_environment(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """The owner's password belongs to `tilcare migrate`, not to the running application."""
    alias = getattr(settings, "MIGRATION_DATABASE_ALIAS", "migration")
    if alias not in settings.DATABASES:
        return []
    return [
        Warning(
            "TILCARE_MIGRATION_DATABASE_URL is set: the tables' owner, who can disable the audit "
            "trail's append-only triggers, is in this environment.",
            hint="Keep it in a file read only when running `tilcare migrate` "
            "(docs/deployment.md, section 1), not in the application's environment.",
            id="audit.W003",
        )
    ]


@register(Tags.security, Tags.database, deploy=True)
def check_app_role_cannot_step_around_triggers(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "sqlite":
        return [
            Warning(
                "The database is SQLite: anyone who can write its file can drop the audit "
                "trail's append-only triggers.",
                hint="Use PostgreSQL with separate owner and application roles for patient data "
                "(docs/deployment.md, section 1).",
                id="audit.W001",
            )
        ]
    if connection.vendor != "postgresql":
        return []
    try:
        problems = triggers.app_role_problems(connection)
    except DatabaseError as exc:
        return [
            Warning(
                f"Could not ask the database what the application's role may do to the audit "
                f"trail: {exc}",
                id="audit.W002",
            )
        ]
    messages: list[CheckMessage] = []
    if problems.superuser or problems.owned:
        what = (
            "is a superuser"
            if problems.superuser
            else f"owns the append-only tables ({', '.join(problems.owned)})"
        )
        messages.append(
            Error(
                f'The application\'s database role "{problems.role}" {what}, so it could disable '
                "the append-only triggers and rewrite the audit trail.",
                hint=HINT,
                id="audit.E001",
            )
        )
    if problems.changeable and not problems.superuser:
        messages.append(
            Error(
                f'The application\'s database role "{problems.role}" may UPDATE, DELETE or '
                f"TRUNCATE the append-only tables ({', '.join(problems.changeable)}).",
                hint="Run `tilcare db grant-app-role` as the tables' owner.",
                id="audit.E002",
            )
        )
    return messages
