"""What keeps the audit trail, signatures and the other logs append-only in the database itself.

Two layers, because each alone can be stepped around:

- Triggers, on SQLite and PostgreSQL, refuse UPDATE, DELETE and TRUNCATE on every protected
  table, and (SQLite) an INSERT whose key is already there: `INSERT OR REPLACE` would otherwise
  delete the stored row and write another in its place. Migrations create them; `remove()` exists
  only for the test suite, whose transactional tests must empty every table between tests.
- Privileges, on PostgreSQL: a table's owner (or a superuser) can disable its triggers, so the
  application connects as a role that owns nothing. `grant_app_role()`, run as the owner, gives
  that role what the application needs: read and write on ordinary tables, read and append on the
  protected ones. `app_role_problems()` says whether a connection could step around the triggers
  (the `audit.E001`/`audit.E002` deploy checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

# The audit trail, signatures, the journey's transition log and custody records are append-only.
PROTECTED_TABLES = (
    "audit_auditevent",
    "audit_signature",
    "journey_journeytransition",
    # Every handoff and scan, and every logged shipment temperature, is kept as recorded.
    "identity_custodyevent",
    "identity_temperaturereading",
    "identity_shipmenttransition",
    # A batch's status changes, like the journey's.
    "manufacturing_batchtransition",
)

REFUSAL = "is not allowed: the audit trail is append-only"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION tilcare_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'tilcare: % on % {REFUSAL}', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def _sqlite_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'tilcare: {op} on {table} {REFUSAL}'); END;"
        for op in ("UPDATE", "DELETE")
    ]


def _sqlite_unique_keys(cursor: CursorWrapper, table: str) -> list[tuple[str, ...]]:
    """The primary key and every unique key of the table, as column tuples.

    Read from SQLite's own pragmas: Django's introspection parses the table's SQL, which is too
    slow for the test suite, where every database test installs the triggers.
    """
    cursor.execute(f"PRAGMA table_info({table})")
    # Each column: (cid, name, type, notnull, default, position in the primary key or 0).
    columns_by_key_position = sorted(cursor.fetchall(), key=lambda column: column[5])
    primary = tuple(column[1] for column in columns_by_key_position if column[5])
    keys = [primary] if primary else []
    cursor.execute(f"PRAGMA index_list({table})")
    for _, index, unique, _, partial in cursor.fetchall():
        if not unique or partial:
            continue
        cursor.execute(f'PRAGMA index_info("{index}")')
        columns = tuple(name for _, _, name in sorted(cursor.fetchall()))
        if columns and None not in columns and columns not in keys:
            keys.append(columns)
    return keys


def _sqlite_insert_guard(table: str, keys: list[tuple[str, ...]]) -> str:
    """Refuse an INSERT whose key is already stored, before SQLite resolves the conflict.

    `INSERT OR REPLACE` and `REPLACE INTO` delete the colliding rows and fire DELETE triggers only
    when the connection has `PRAGMA recursive_triggers` on; this holds whatever the connection's
    settings. A key with a NULL matches nothing, as in a unique index. An automatic id is -1 in a
    BEFORE INSERT trigger, so ordinary appends pass.
    """
    exists = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE "
        + " AND ".join(f'"{column}" = NEW."{column}"' for column in key)
        + ")"
        for key in keys
    )
    return (
        f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {exists} "
        f"BEGIN SELECT RAISE(ABORT, 'tilcare: INSERT over an existing row of {table} "
        f"{REFUSAL}'); END"
    )


def _pg_statements(table: str) -> list[str]:
    return [
        f"CREATE OR REPLACE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION tilcare_refuse_change();",
        f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION tilcare_refuse_change();",
    ]


def _existing_protected_tables(connection: BaseDatabaseWrapper) -> list[str]:
    existing = set(connection.introspection.table_names())
    return [t for t in PROTECTED_TABLES if t in existing]


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers on every protected table that exists yet (idempotent).

    Each app's migration calls this once its table exists. On SQLite the insert guard is made
    again when the table's unique keys have changed since, so it always covers them all.
    """
    tables = _existing_protected_tables(connection)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PG_FUNCTION)
            for table in tables:
                for sql in _pg_statements(table):
                    cursor.execute(sql)
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for table in tables:
                for sql in _sqlite_statements(table):
                    cursor.execute(sql)
                guard = _sqlite_insert_guard(table, _sqlite_unique_keys(cursor, table))
                cursor.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                    [f"{table}_no_replace"],
                )
                if cursor.fetchone() != (guard,):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
                    cursor.execute(guard)
    else:
        raise RuntimeError(f"No append-only triggers for the {connection.vendor} database.")


def remove(connection: BaseDatabaseWrapper) -> None:
    """Drop the triggers (idempotent). Only the test suite calls this."""
    with connection.cursor() as cursor:
        for table in _existing_protected_tables(connection):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table};")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")
            else:
                for name in ("update", "delete", "replace"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{name};")


# --------------------------------------------------------------------------------------------
# PostgreSQL roles: the owner migrates, the application only reads and appends
# --------------------------------------------------------------------------------------------

# Django's record of applied migrations: the application reads it, only `migrate` writes it.
READ_ONLY_TABLES = ("django_migrations",)


class RoleError(Exception):
    """The application's role cannot be set up as asked (the message says why and what to do)."""


def app_role_statements(
    role: str, schema: str, protected: list[str], read_only: list[str]
) -> list[str]:
    """GRANT/REVOKE statements, in order, that leave `role` with exactly the application's rights.

    Everything is revoked first and granted again, so running them twice gives the same result.
    Default privileges make tables that later migrations create (as the same owner) usable at
    once; `tilcare migrate` runs these statements again after every migration, which takes back
    UPDATE and DELETE on a protected table a migration has just created.
    """
    role_q, schema_q = _quote(role), _quote(schema)
    statements = [
        f"GRANT USAGE ON SCHEMA {schema_q} TO {role_q}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema_q} FROM {role_q}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema_q} TO {role_q}",
    ]
    if read_only:
        tables = ", ".join(_quote(t) for t in read_only)
        statements.append(f"REVOKE INSERT, UPDATE, DELETE ON TABLE {tables} FROM {role_q}")
    if protected:
        tables = ", ".join(_quote(t) for t in protected)
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON TABLE {tables} FROM {role_q}")
    statements += [
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema_q} FROM {role_q}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_q} TO {role_q}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role_q}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {role_q}",
    ]
    return statements


def grant_app_role(connection: BaseDatabaseWrapper, role: str) -> list[str]:
    """Give the application's PostgreSQL role its privileges, in one transaction (idempotent).

    `connection` is the tables' owner (the migration connection). Refuses, changing nothing, when
    the role does not exist, is the connection's own role, or owns a protected table (or is a
    superuser): such a role could disable the triggers whatever it is granted. Returns the
    statements it ran.
    """
    if connection.vendor != "postgresql":
        raise RoleError(
            f"Database roles exist only on PostgreSQL; this database is {connection.vendor}."
        )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_schema(), "
            "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
            [role],
        )
        current_user, schema, exists = cursor.fetchone()
        if not exists:
            raise RoleError(
                f'The database role "{role}" does not exist. Create it first: '
                f"CREATE ROLE {_quote(role)} LOGIN PASSWORD '…';"
            )
        if role == current_user:
            raise RoleError(
                f'"{role}" is the role running this command, which owns the tables. Grant '
                "privileges to the application's own role, connected as the tables' owner."
            )
        owned = _tables_owned_by(cursor, role)
        if owned:
            raise RoleError(
                f'The role "{role}" owns {", ".join(owned)} (or is a superuser), so it could '
                "disable the append-only triggers whatever it is granted. Let another role own "
                f"the tables (ALTER TABLE … OWNER TO the owner role) or give the application a "
                f"role of its own."
            )
        existing = set(connection.introspection.table_names(cursor))
        statements = app_role_statements(
            role,
            schema,
            [t for t in PROTECTED_TABLES if t in existing],
            [t for t in READ_ONLY_TABLES if t in existing],
        )
        for statement in statements:
            cursor.execute(statement)
    return statements


@dataclass(frozen=True)
class AppRoleProblems:
    """How a connection's role could step around the append-only triggers (empty: it cannot)."""

    role: str
    # A superuser may do anything, the protected tables existing yet or not.
    superuser: bool
    # Protected tables the role owns (or is a member of their owner): it could disable triggers.
    owned: tuple[str, ...]
    # Protected tables it does not own but may UPDATE, DELETE or TRUNCATE.
    changeable: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.superuser or self.owned or self.changeable)


def app_role_problems(connection: BaseDatabaseWrapper) -> AppRoleProblems:
    """Ask PostgreSQL what the connection's role may do to the protected tables."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        role, superuser = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname, pg_has_role(c.relowner, 'MEMBER'), "
            "has_table_privilege(c.oid, 'UPDATE, DELETE, TRUNCATE') "
            "FROM unnest(%s::text[]) AS t(name) JOIN pg_class c ON c.oid = to_regclass(t.name) "
            "ORDER BY c.relname",
            [list(PROTECTED_TABLES)],
        )
        rows = cursor.fetchall()
    return AppRoleProblems(
        role=role,
        superuser=superuser,
        owned=tuple(table for table, owns, _ in rows if owns),
        changeable=tuple(table for table, owns, change in rows if change and not owns),
    )


def _tables_owned_by(cursor: CursorWrapper, role: str) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM unnest(%s::text[]) AS t(name) "
        "JOIN pg_class c ON c.oid = to_regclass(t.name) "
        "WHERE pg_has_role(%s, c.relowner, 'MEMBER') ORDER BY c.relname",
        [list(PROTECTED_TABLES), role],
    )
    return [name for (name,) in cursor.fetchall()]


def _quote(identifier: str) -> str:
    """A PostgreSQL identifier in double quotes, doubling any quote inside it."""
    return '"' + identifier.replace('"', '""') + '"'
