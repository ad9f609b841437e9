"""Database triggers keep the audit trail, signatures, the journey's transitions, custody events
shipment temperature readings and status changes append-only.

/conftest.py installs the triggers when each database test starts. Each refused statement runs in
its own `transaction.atomic()` so the test's transaction stays usable. The backend's error class
differs (IntegrityError on SQLite, InternalError on PostgreSQL); both are `django.db.DatabaseError`.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from tilcare.audit import checks, triggers
from tilcare.audit.models import AuditEvent, Signature
from tilcare.identity.models import (
    CustodyEvent,
    Item,
    Shipment,
    ShipmentTransition,
    TemperatureReading,
)
from tilcare.journey import services
from tilcare.journey.models import JourneyTransition
from tilcare.journey.tests.factories import eligible_checklist_data, make_team, open_journey_for
from tilcare.manufacturing.models import Batch, BatchTransition
from tilcare.patients.tests.factories import TEST_PASSWORD, PatientFactory

pytestmark = pytest.mark.django_db

REFUSAL = "is not allowed: the audit trail is append-only"


@pytest.fixture
def records():
    """A journey opened and its eligibility signed: events, one signature, one transition."""
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    services.save_eligibility(journey, actor=team.navigator, data=eligible_checklist_data())
    signature = services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)
    custody, reading, shipment_transition = _custody_rows(journey, team)
    batch_transition = _batch_transition(journey, team)
    return {
        # The opening event: no signature points at it, so Django's delete reaches the database.
        "event": AuditEvent.objects.get(action="journey.open"),
        "signature": signature,
        "transition": JourneyTransition.objects.get(journey=journey),
        "custody": custody,
        "reading": reading,
        "shipment_transition": shipment_transition,
        "batch_transition": batch_transition,
    }


def _batch_transition(journey, team) -> BatchTransition:
    batch = Batch.objects.create(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        center=team.center,
        facility=team.facility,
        protocol_id="lifileucel_us",
        protocol_version="2024",
        status="tissue_received",
        status_changed_at=journey.created_at,
        opened_at=journey.created_at,
        created_by=team.manufacturing_tech,
    )
    return BatchTransition.objects.create(
        batch=batch,
        to_status="tissue_received",
        occurred_at=journey.created_at,
        recorded_at=journey.created_at,
        actor=team.manufacturing_tech,
    )


def _custody_rows(journey, team) -> tuple[CustodyEvent, TemperatureReading, ShipmentTransition]:
    # Rows written directly: this file tests the database's refusal, not the services.
    now = journey.created_at
    item = Item.objects.create(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        kind="shipper",
        number=1,
        item_id=f"{journey.coi_din}-SH01",
        center=team.center,
        description="Shipper",
        created_by=team.navigator,
    )
    custody = CustodyEvent.objects.create(
        coi_din=journey.coi_din,
        item=item,
        step="handoff",
        occurred_at=now,
        actor=team.navigator,
        organization=team.center,
        scanned_text=item.item_id,
        result="match",
        message="Matches",
    )
    shipment = Shipment.objects.create(
        coi_din=journey.coi_din,
        shipper=item,
        origin=team.center,
        destination=team.center,
        shipper_type="controlled_2_8",
        expected_hold_hours=48,
        range_min_c=2,
        range_max_c=8,
        status="in_transit",
        created_by=team.navigator,
    )
    reading = TemperatureReading.objects.create(
        shipment=shipment, recorded_at=now, temperature_c=4, source="test"
    )
    transition = ShipmentTransition.objects.create(
        shipment=shipment,
        from_status="planned",
        to_status="in_transit",
        occurred_at=now,
        recorded_at=now,
        actor=team.navigator,
    )
    return custody, reading, transition


def snapshot_rows() -> list[tuple]:
    return [
        *AuditEvent.objects.order_by("seq").values_list(),
        *Signature.objects.order_by("id").values_list(),
        *JourneyTransition.objects.order_by("id").values_list(),
        *CustodyEvent.objects.order_by("id").values_list(),
        *TemperatureReading.objects.order_by("id").values_list(),
        *ShipmentTransition.objects.order_by("id").values_list(),
        *BatchTransition.objects.order_by("id").values_list(),
    ]


CASES = [
    ("event", AuditEvent, {"reason": "edited"}),
    ("signature", Signature, {"meaning": "Something else"}),
    ("transition", JourneyTransition, {"to_stage": "infusion"}),
    ("custody", CustodyEvent, {"result": "wrong_item"}),
    ("reading", TemperatureReading, {"temperature_c": 5}),
    ("shipment_transition", ShipmentTransition, {"to_status": "received"}),
    ("batch_transition", BatchTransition, {"reason": "edited"}),
]
CASE_IDS = [name for name, _, _ in CASES]


@pytest.mark.parametrize(("name", "model", "change"), CASES, ids=CASE_IDS)
def test_a_queryset_update_is_refused_and_the_row_is_unchanged(records, name, model, change):
    # Given stored rows
    before = snapshot_rows()

    # When one is updated through the ORM
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        model.objects.filter(pk=records[name].pk).update(**change)

    # Then the database refuses it and nothing changed
    assert REFUSAL in str(refused.value)
    assert snapshot_rows() == before


@pytest.mark.parametrize(("name", "model", "change"), CASES, ids=CASE_IDS)
def test_a_queryset_delete_is_refused_and_the_row_is_kept(records, name, model, change):
    before = snapshot_rows()

    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        model.objects.filter(pk=records[name].pk).delete()

    assert REFUSAL in str(refused.value)
    assert snapshot_rows() == before


@pytest.mark.parametrize(("name", "model", "change"), CASES, ids=CASE_IDS)
def test_saving_a_changed_instance_is_refused(records, name, model, change):
    before = snapshot_rows()
    instance = model.objects.get(pk=records[name].pk)
    for field, value in change.items():
        setattr(instance, field, value)

    with pytest.raises(DatabaseError), transaction.atomic():
        instance.save()

    assert snapshot_rows() == before


@pytest.mark.parametrize(
    "table", list(triggers.PROTECTED_TABLES), ids=list(triggers.PROTECTED_TABLES)
)
def test_raw_sql_update_and_delete_are_refused(records, table):
    before = snapshot_rows()

    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)

    assert snapshot_rows() == before


@pytest.mark.parametrize(
    "table", list(triggers.PROTECTED_TABLES), ids=list(triggers.PROTECTED_TABLES)
)
def test_truncate_is_refused_on_postgresql(records, table):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE statement.")
    before = snapshot_rows()

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")

    assert snapshot_rows() == before


def test_appending_still_works_with_the_triggers_installed(records):
    # Given the triggers / When a service appends events, a signature and transitions
    # (the records fixture did) / Then they were written
    assert AuditEvent.objects.count() == 3
    assert Signature.objects.count() == 1
    assert JourneyTransition.objects.count() == 1


def test_install_is_idempotent(records):
    triggers.install(connection)
    triggers.install(connection)

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=records["event"].pk).update(reason="edited")


# --------------------------------------------------------------------------------------------
# Inserting over an existing row: SQLite's REPLACE deletes the row it collides with and writes a
# new one, and upserts update it. Each must be refused like the UPDATE or DELETE it amounts to.
# --------------------------------------------------------------------------------------------

REPLACE_VERBS = ["INSERT OR REPLACE INTO", "REPLACE INTO"]


@pytest.fixture(params=["OFF", "ON"], ids=["recursive_triggers_off", "recursive_triggers_on"])
def recursive_triggers(request):
    """SQLite fires DELETE triggers for REPLACE's deletions only with this pragma on: the
    refusal must hold either way, since any connection (a script, a shell) may leave it off."""
    if connection.vendor != "sqlite":
        pytest.skip("REPLACE and the recursive_triggers pragma are SQLite's.")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA recursive_triggers")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA recursive_triggers = {request.param}")
    yield request.param
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA recursive_triggers = {previous}")


def stored_row(table: str, pk: int) -> dict[str, object]:
    """The row as the database holds it, column by column."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        values = cursor.fetchone()
        return {column[0]: value for column, value in zip(cursor.description, values, strict=True)}


def insert_sql(verb: str, table: str, row: dict[str, object], suffix: str = "") -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in row)
    placeholders = ", ".join(["%s"] * len(row))
    return f"{verb} {table} ({columns}) VALUES ({placeholders}){suffix}"


def with_change(model, row: dict[str, object], change: dict[str, object]) -> dict[str, object]:
    columns = {model._meta.get_field(field).column: value for field, value in change.items()}
    return {**row, **columns}


@pytest.mark.parametrize("verb", REPLACE_VERBS)
@pytest.mark.parametrize(("name", "model", "change"), CASES, ids=CASE_IDS)
def test_sqlite_replace_of_an_existing_row_is_refused(
    records, recursive_triggers, verb, name, model, change
):
    # Given a stored row, and the same row with one value changed
    before = snapshot_rows()
    table = model._meta.db_table
    row = with_change(model, stored_row(table, records[name].pk), change)

    # When it is written over the stored row with REPLACE
    with (
        pytest.raises(DatabaseError) as refused,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(insert_sql(verb, table, row), list(row.values()))

    # Then the database refuses it and nothing changed
    assert REFUSAL in str(refused.value)
    assert snapshot_rows() == before


# Unique keys besides the primary key: REPLACE on a new id would delete the row holding the key.
OTHER_UNIQUE_KEYS = [
    ("event", AuditEvent, "seq"),
    ("event", AuditEvent, "hash"),
    ("signature", Signature, "audit_event_id"),
]


@pytest.mark.parametrize("verb", REPLACE_VERBS)
@pytest.mark.parametrize(
    ("name", "model", "key"), OTHER_UNIQUE_KEYS, ids=[key for _, _, key in OTHER_UNIQUE_KEYS]
)
def test_sqlite_replace_on_another_unique_key_is_refused(
    records, recursive_triggers, verb, name, model, key
):
    # Given a new row (new id, and a new hash for an event) that repeats one unique key of a
    # stored row
    before = snapshot_rows()
    table = model._meta.db_table
    row = stored_row(table, records[name].pk)
    row["id"] = model.objects.order_by("-id").values_list("id", flat=True)[0] + 1000
    if model is AuditEvent and key != "hash":
        row["hash"] = "f" * 64

    # When it is written with REPLACE (which would delete the stored row to make room)
    with (
        pytest.raises(DatabaseError) as refused,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(insert_sql(verb, table, row), list(row.values()))

    # Then the database refuses it and the stored row is kept as it was
    assert REFUSAL in str(refused.value)
    assert snapshot_rows() == before


@pytest.mark.parametrize(("name", "model", "change"), CASES, ids=CASE_IDS)
def test_an_upsert_over_an_existing_row_is_refused(records, name, model, change):
    # Given a stored row, and the same row with one value changed
    before = snapshot_rows()
    table = model._meta.db_table
    row = with_change(model, stored_row(table, records[name].pk), change)
    quote = connection.ops.quote_name
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in row if c != "id")

    # When it is inserted with ON CONFLICT DO UPDATE (SQLite and PostgreSQL both have it)
    statement = insert_sql("INSERT INTO", table, row, f" ON CONFLICT (id) DO UPDATE SET {updates}")
    with (
        pytest.raises(DatabaseError) as refused,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, list(row.values()))

    # Then the database refuses it and nothing changed
    assert REFUSAL in str(refused.value)
    assert snapshot_rows() == before


def test_sqlite_connections_fire_delete_triggers_for_replace():
    # Given the configured SQLite connection / Then recursive triggers are on, so a REPLACE's
    # deletions meet the DELETE triggers as well as the insert check
    if connection.vendor != "sqlite":
        pytest.skip("A SQLite connection setting.")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA recursive_triggers")
        assert cursor.fetchone() == (1,)


def installed_triggers() -> list[str]:
    tables = list(triggers.PROTECTED_TABLES)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
                f"({', '.join(['%s'] * len(tables))}) ORDER BY name",
                tables,
            )
        else:
            cursor.execute(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND c.relname = ANY(%s) ORDER BY t.tgname",
                [tables],
            )
        return [name for (name,) in cursor.fetchall()]


def test_remove_drops_every_trigger_install_created():
    # Given the triggers installed: update, delete and insert-over-a-row on SQLite; change and
    # truncate on PostgreSQL
    per_table = ("no_delete", "no_replace", "no_update")
    if connection.vendor == "postgresql":
        per_table = ("no_change", "no_truncate")
    assert installed_triggers() == sorted(
        f"{table}_{name}" for table in triggers.PROTECTED_TABLES for name in per_table
    )

    # When they are removed (as before a transactional test's flush)
    triggers.remove(connection)

    # Then none is left
    assert installed_triggers() == []


# --------------------------------------------------------------------------------------------
# PostgreSQL roles. A table's owner (or a superuser) can `ALTER TABLE … DISABLE TRIGGER` and then
# rewrite the trail, so the application connects as a role that owns no table and may only read
# and append to the protected ones (`tilcare db grant-app-role`, run by `tilcare migrate` as the
# owner). These tests create such a role, grant it through the command and connect as it. Those
# that connect as the role commit their rows (transaction=True): its connection sees only
# committed data.
# --------------------------------------------------------------------------------------------

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Database roles and privileges are PostgreSQL's; CI runs this file on PostgreSQL too.",
)
ORDINARY_WRITES = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Role:
    name: str
    password: str


@pytest.fixture
def app_role():
    """A login role of its own for each test (roles are shared by every database of the
    server), dropped at the end with everything granted to it."""
    role = Role(f"tilcare_app_test_{secrets.token_hex(4)}", secrets.token_urlsafe(18))
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role.name}" LOGIN PASSWORD %s', [role.password])
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role.name}"')
        cursor.execute(f'DROP ROLE "{role.name}"')


def grant(role: Role) -> str:
    out = io.StringIO()
    call_command("db", "grant-app-role", role.name, stdout=out)
    return out.getvalue()


@pytest.fixture
def as_app_role(app_role):
    """A connection to the test database as the application's role, after `grant-app-role`."""
    import psycopg

    grant(app_role)
    settings = connection.settings_dict
    app_connection = psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        dbname=settings["NAME"],
        user=app_role.name,
        password=app_role.password,
        autocommit=True,
    )
    yield app_connection
    app_connection.close()


def refusal(app_connection, statement: str) -> str:
    import psycopg

    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        app_connection.execute(statement)
    return str(refused.value)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_application_role_cannot_disable_or_drop_the_triggers(records, as_app_role):
    # Given stored rows and the application connected as its own role
    before = snapshot_rows()

    # When it tries to switch off or drop each protected table's trigger
    refusals = {
        table: [
            refusal(as_app_role, f"ALTER TABLE {table} DISABLE TRIGGER ALL"),
            refusal(as_app_role, f"DROP TRIGGER {table}_no_change ON {table}"),
        ]
        for table in triggers.PROTECTED_TABLES
    }

    # Then PostgreSQL refuses: only the owner may, and nothing changed
    assert refusals == {
        table: [f"must be owner of table {table}", f"must be owner of relation {table}"]
        for table in triggers.PROTECTED_TABLES
    }
    assert snapshot_rows() == before


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_application_role_may_not_update_delete_or_truncate_protected_rows(
    records, as_app_role
):
    before = snapshot_rows()

    refusals = {
        table: [
            refusal(as_app_role, f"UPDATE {table} SET id = id"),
            refusal(as_app_role, f"DELETE FROM {table}"),
            refusal(as_app_role, f"TRUNCATE {table} CASCADE"),
        ]
        for table in triggers.PROTECTED_TABLES
    }

    assert refusals == {
        table: [f"permission denied for table {table}"] * 3 for table in triggers.PROTECTED_TABLES
    }
    assert snapshot_rows() == before


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_application_role_reads_appends_and_writes_ordinary_tables(records, as_app_role):
    # Given the application's role / When it reads the trail, appends a temperature reading,
    # moves the chain head and writes, changes and deletes a session (an ordinary table)
    shipment = records["reading"].shipment
    readings = as_app_role.execute("SELECT count(*) FROM identity_temperaturereading").fetchone()
    as_app_role.execute(
        "INSERT INTO identity_temperaturereading (shipment_id, recorded_at, temperature_c, source)"
        " VALUES (%s, now(), 5.5, 'appended')",
        [shipment.pk],
    )
    as_app_role.execute("UPDATE audit_auditchainhead SET last_seq = last_seq")
    as_app_role.execute(
        "INSERT INTO django_session (session_key, session_data, expire_date) "
        "VALUES ('k1', 'data', now())"
    )
    as_app_role.execute("UPDATE django_session SET session_data = 'changed'")
    as_app_role.execute("DELETE FROM django_session WHERE session_key = 'k1'")

    # Then each was allowed
    assert readings == (1,)
    assert list(TemperatureReading.objects.order_by("id").values_list("source", flat=True)) == [
        "test",
        "appended",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_session")
        assert cursor.fetchone() == (0,)


# Every table privilege, in the order the assertions list them; an owner holds them all.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def table_privileges(role: Role) -> dict[str, tuple[str, ...]]:
    """What the role may do to each table of the schema, privilege by privilege."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, p.privilege FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() "
            "CROSS JOIN unnest(%s::text[]) WITH ORDINALITY AS p(privilege, position) "
            "WHERE c.relkind IN ('r', 'p') AND has_table_privilege(%s, c.oid, p.privilege) "
            "ORDER BY c.relname, p.position",
            [list(TABLE_PRIVILEGES), role.name],
        )
        privileges: dict[str, tuple[str, ...]] = {}
        for table, privilege in cursor.fetchall():
            privileges[table] = (*privileges.get(table, ()), privilege)
        return privileges


@on_postgresql
def test_grant_app_role_gives_exactly_what_the_application_needs_and_again_the_same(app_role):
    # Given a new role
    tables = connection.introspection.table_names()
    expected = {table: ORDINARY_WRITES for table in tables}
    expected |= {table: ("SELECT", "INSERT") for table in triggers.PROTECTED_TABLES}
    expected["django_migrations"] = ("SELECT",)

    # When it is granted the application's privileges, twice
    first = grant(app_role)
    after_first = table_privileges(app_role)
    grant(app_role)

    # Then it may read and write ordinary tables, only read and append to the protected ones,
    # only read Django's migration record, and the second run changed nothing
    assert first == (
        f'Role "{app_role.name}" may read and write the ordinary tables, and only read and '
        "append to the 7 append-only tables.\n"
    )
    assert after_first == expected
    assert table_privileges(app_role) == expected


@on_postgresql
def test_grant_app_role_refuses_the_role_that_owns_the_tables(app_role):
    # Given a role that owns a protected table
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
        cursor.execute(f'ALTER TABLE identity_custodyevent OWNER TO "{app_role.name}"')
    try:
        # When it is named as the application's role
        with pytest.raises(CommandError) as refused:
            grant(app_role)
        privileges = table_privileges(app_role)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE identity_custodyevent OWNER TO "{owner}"')

    # Then the command refuses, naming the table, and grants nothing: the role holds only what
    # owning that table gives it
    assert str(refused.value) == (
        f'The role "{app_role.name}" owns identity_custodyevent (or is a superuser), so it could '
        "disable the append-only triggers whatever it is granted. Let another role own the "
        "tables (ALTER TABLE … OWNER TO the owner role) or give the application a role of its own."
    )
    assert privileges == {"identity_custodyevent": TABLE_PRIVILEGES}


@on_postgresql
def test_grant_app_role_refuses_the_connections_own_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()

    with pytest.raises(CommandError) as refused:
        call_command("db", "grant-app-role", owner)

    assert str(refused.value) == (
        f'"{owner}" is the role running this command, which owns the tables. Grant privileges to '
        "the application's own role, connected as the tables' owner."
    )


@on_postgresql
def test_grant_app_role_refuses_a_role_that_does_not_exist():
    with pytest.raises(CommandError) as refused:
        call_command("db", "grant-app-role", "tilcare_no_such_role")

    assert str(refused.value) == (
        'The database role "tilcare_no_such_role" does not exist. Create it first: '
        "CREATE ROLE \"tilcare_no_such_role\" LOGIN PASSWORD '…';"
    )


@pytest.fixture
def app_role_as_default(app_role, monkeypatch):
    """The deploy check looking at a Django connection made as the application's role."""
    grant(app_role)
    wrapper = type(connections["default"])(
        {**connection.settings_dict, "USER": app_role.name, "PASSWORD": app_role.password},
        alias="app_role",
    )
    monkeypatch.setattr(checks, "connections", {"default": wrapper})
    yield wrapper
    wrapper.close()


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_deploy_check_passes_for_the_application_role(app_role_as_default):
    assert checks.check_app_role_cannot_step_around_triggers() == []


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_deploy_check_refuses_an_application_role_that_may_change_protected_rows(
    app_role, app_role_as_default
):
    # Given the application's role granted UPDATE on one protected table behind the command
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT UPDATE ON audit_signature TO "{app_role.name}"')

    # When the deploy checks run / Then the check names the table
    messages = checks.check_app_role_cannot_step_around_triggers()
    assert [(m.id, m.msg) for m in messages] == [
        (
            "audit.E002",
            f'The application\'s database role "{app_role.name}" may UPDATE, DELETE or TRUNCATE '
            "the append-only tables (audit_signature).",
        )
    ]


@on_postgresql
def test_deploy_check_refuses_an_application_connected_as_the_owner_or_a_superuser():
    # Given the test suite's connection, which created (owns) the tables
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        role, superuser = cursor.fetchone()
    what = (
        "is a superuser"
        if superuser
        else f"owns the append-only tables ({', '.join(sorted(triggers.PROTECTED_TABLES))})"
    )

    messages = checks.check_app_role_cannot_step_around_triggers()

    assert [(m.id, m.msg) for m in messages] == [
        (
            "audit.E001",
            f'The application\'s database role "{role}" {what}, so it could disable the '
            "append-only triggers and rewrite the audit trail.",
        )
    ]


def test_deploy_check_warns_that_sqlite_has_no_roles():
    if connection.vendor != "sqlite":
        pytest.skip("The SQLite warning.")

    messages = checks.check_app_role_cannot_step_around_triggers()

    assert [(m.id, m.msg) for m in messages] == [
        (
            "audit.W001",
            "The database is SQLite: anyone who can write its file can drop the audit trail's "
            "append-only triggers.",
        )
    ]


def test_the_role_check_runs_with_the_deploy_checks():
    from django.core.checks import registry

    assert checks.check_app_role_cannot_step_around_triggers in registry.registry.get_checks(
        include_deployment_checks=True
    )
    assert checks.check_app_role_cannot_step_around_triggers not in registry.registry.get_checks()


def test_deploy_check_warns_when_the_owner_connection_is_in_the_applications_environment(
    monkeypatch,
):
    # Given the owner's connection configured where the application runs
    configured = SimpleNamespace(
        DATABASES={"default": {}, "migration": {}}, MIGRATION_DATABASE_ALIAS="migration"
    )
    monkeypatch.setattr(checks, "settings", configured)

    messages = checks.check_owner_connection_not_in_app_environment()

    assert [(m.id, m.msg) for m in messages] == [
        (
            "audit.W003",
            "TILCARE_MIGRATION_DATABASE_URL is set: the tables' owner, who can disable the audit "
            "trail's append-only triggers, is in this environment.",
        )
    ]


def test_deploy_check_is_quiet_without_the_owner_connection():
    assert checks.check_owner_connection_not_in_app_environment() == []
