"""Rows written in bulk (a shipment's temperature log, a plate reader's readings) are vouched for
as one set per parent by the latest event about the parent: verification names a set with a row
added, changed or removed behind the application's back.

Tampering is done the way someone with database access would do it: an insert that skips the
services (`bulk_create`), or plain SQL with the append-only triggers dropped (see conftest).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tilcare.audit.models import AuditEvent
from tilcare.audit.selectors import ChainReport, verify_chain
from tilcare.audit.tests.helpers import broken, event_of, sql
from tilcare.identity.models import Shipment, TemperatureReading
from tilcare.identity.services.shipments import add_temperature_readings, receive_shipment
from tilcare.identity.tests.helpers import (
    World,
    dispatched,
    every_ten_minutes,
    make_world,
    minute,
)
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import ReactivityImport, ReactivityReading
from tilcare.manufacturing.services import screen as screen_services
from tilcare.manufacturing.tests.batch_factories import (
    SCREEN_CSV,
    batch_team,
    open_batch_at,
    walk_batch,
)

pytestmark = pytest.mark.django_db


def _intact() -> ChainReport:
    return ChainReport(True, AuditEvent.objects.count())


@pytest.fixture
def logged() -> tuple[World, Shipment]:
    """A shipment in transit with three readings uploaded through the service."""
    world = make_world()
    shipment, start = dispatched(world)
    add_temperature_readings(
        shipment,
        readings=every_ten_minutes(start, "5.0", "5.5", "6.0"),
        source="logger-17.csv",
        actor=world.team.navigator,
    )
    return world, shipment


# ---------- a shipment's temperature log ----------


def test_the_upload_event_vouches_for_the_shipments_whole_log(logged):
    _, shipment = logged

    event = event_of("identity.shipment.temperatures_add")

    assert f"identity.temperaturereading@shipment:{shipment.pk}" in event.digests
    report = verify_chain()
    assert report == _intact()
    assert report.rows_checked >= 3


def test_a_reading_inserted_without_the_service_is_named(logged):
    # Given a reading added to the log without the service (no event)
    _, shipment = logged
    upload = event_of("identity.shipment.temperatures_add")
    TemperatureReading.objects.bulk_create(
        [
            TemperatureReading(
                shipment=shipment,
                recorded_at=minute(timezone.now()) - dt.timedelta(minutes=5),
                temperature_c=Decimal("4.0"),
                source="logger-17.csv",
            )
        ]
    )

    # When verified / Then the shipment's log is named with the upload it no longer matches
    assert verify_chain() == broken(
        f"Temperature readings of shipment {shipment.pk} were changed outside the audit trail "
        f"after event #{upload.seq}"
    )


def _delete_the_warmest(shipment: Shipment) -> None:
    warmest = TemperatureReading.objects.filter(shipment=shipment).order_by("-temperature_c")[0]
    sql("DELETE FROM identity_temperaturereading WHERE id = %s", [warmest.pk])


def _rewrite_one(shipment: Shipment) -> None:
    reading = TemperatureReading.objects.filter(shipment=shipment).first()
    assert reading is not None
    sql("UPDATE identity_temperaturereading SET temperature_c = 9.5 WHERE id = %s", [reading.pk])


def _delete_the_whole_log(shipment: Shipment) -> None:
    sql("DELETE FROM identity_temperaturereading WHERE shipment_id = %s", [shipment.pk])


@pytest.mark.parametrize(
    ("tamper", "verb"),
    [
        pytest.param(_delete_the_warmest, "changed", id="a reading deleted"),
        pytest.param(_rewrite_one, "changed", id="a reading rewritten"),
        pytest.param(_delete_the_whole_log, "removed", id="the whole log deleted"),
    ],
)
def test_a_log_changed_by_sql_is_named(logged, without_triggers, tamper, verb):
    # Given the log changed with plain SQL: a reading deleted or rewritten, or all deleted
    _, shipment = logged
    upload = event_of("identity.shipment.temperatures_add")
    tamper(shipment)

    assert verify_chain() == broken(
        f"Temperature readings of shipment {shipment.pk} were {verb} outside the audit trail "
        f"after event #{upload.seq}"
    )


def test_a_log_no_event_ever_recorded_is_named():
    # Given a shipment in transit whose readings were all written without the service
    world = make_world()
    shipment, start = dispatched(world)
    TemperatureReading.objects.bulk_create(
        TemperatureReading(shipment=shipment, recorded_at=when, temperature_c=value, source="x")
        for when, value in every_ten_minutes(start, "5.0", "5.0")
    )

    assert verify_chain() == broken(
        f"Temperature readings of shipment {shipment.pk} were written outside the audit trail "
        "(no event records them)"
    )


def test_a_received_shipment_with_its_log_verifies(logged):
    # Given the log uploaded, then the shipment received (a later event about the shipment)
    world, shipment = logged
    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=minute(timezone.now()))

    # Then the receipt vouches for the same log, and the whole trail verifies
    receipt = event_of("identity.shipment.receive")
    upload = event_of("identity.shipment.temperatures_add")
    key = f"identity.temperaturereading@shipment:{shipment.pk}"
    assert receipt.digests[key] == upload.digests[key]
    assert verify_chain() == _intact()


# ---------- a plate reader's readings ----------


@pytest.fixture
def screened() -> ReactivityImport:
    """A batch in its reactivity screen with the plate reader's CSV imported."""
    team = batch_team()
    batch = walk_batch(open_batch_at(team), team, BatchStatus.SCREENING)
    return screen_services.import_reactivity_csv(
        batch, file_name="screen-plate-1.csv", content=SCREEN_CSV, actor=team.manufacturing_tech
    )


def test_an_imported_screen_verifies(screened):
    event = event_of("manufacturing.reactivity.import")

    assert f"manufacturing.reactivityreading@source:{screened.pk}" in event.digests
    assert verify_chain() == _intact()


def test_a_reactivity_reading_changed_by_sql_is_named(screened, without_triggers):
    # Given a culture's tumor-reactivity reading raised with plain SQL (it would now be chosen)
    imported = event_of("manufacturing.reactivity.import")
    reading = ReactivityReading.objects.filter(source=screened).order_by("pk")[1]
    sql(
        "UPDATE manufacturing_reactivityreading SET ifn_gamma_tumor_pg_per_ml = 9999.0 "
        "WHERE id = %s",
        [reading.pk],
    )

    assert verify_chain() == broken(
        f"Reactivity readings of reactivity import {screened.pk} were changed outside the audit "
        f"trail after event #{imported.seq}"
    )
