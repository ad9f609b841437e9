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
