"""Database triggers that make the audit trail and signatures append-only.

They are created by a migration on SQLite and PostgreSQL. `remove()` exists only for the test
suite, whose transactional tests must empty every table between tests.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

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

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION tilcare_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'tilcare: % on % is not allowed: the audit trail is append-only',
        TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def _sqlite_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'tilcare: {op} on {table} is not allowed: "
        f"the audit trail is append-only'); END;"
        for op in ("UPDATE", "DELETE")
    ]


def _pg_statements(table: str) -> list[str]:
    return [
        f"CREATE OR REPLACE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION tilcare_refuse_change();",
        f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION tilcare_refuse_change();",
    ]


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers on every protected table that exists yet (idempotent).

    Each app's migration calls this once its table exists.
    """
    existing = set(connection.introspection.table_names())
    tables = [t for t in PROTECTED_TABLES if t in existing]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
            for table in tables:
                for sql in _pg_statements(table):
                    cursor.execute(sql)
        elif connection.vendor == "sqlite":
            for table in tables:
                for sql in _sqlite_statements(table):
                    cursor.execute(sql)
        else:
            raise RuntimeError(f"No append-only triggers for the {connection.vendor} database.")


def remove(connection: BaseDatabaseWrapper) -> None:
    """Drop the triggers (idempotent). Only the test suite calls this."""
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in (t for t in PROTECTED_TABLES if t in existing):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table};")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")
            else:
                for op in ("update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op};")
