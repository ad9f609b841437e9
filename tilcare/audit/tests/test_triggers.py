"""Database triggers keep the audit trail, signatures, the journey's transitions, custody events
shipment temperature readings and status changes append-only.

/conftest.py installs the triggers when each database test starts. Each refused statement runs in
its own `transaction.atomic()` so the test's transaction stays usable. The backend's error class
differs (IntegrityError on SQLite, InternalError on PostgreSQL); both are `django.db.DatabaseError`.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from tilcare.audit import triggers
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
