"""A scan, a shipment's planning, dispatch, logger upload and receipt entered after the fact are
dated in the audit trail when they happened, and keep when they were recorded; so the COI's trail
shows a dispatch on the day of the dispatch. A time the trail cannot carry (ahead of now, or
before the record's last audited change) dates the event when it is recorded, and the record
keeps the time given."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from tilcare.audit.models import AuditEvent
from tilcare.audit.selectors import list_events_for_subject
from tilcare.audit.tests.helpers import event_of, times
from tilcare.core.errors import InvalidInput
from tilcare.identity.choices import HandoffStep
from tilcare.identity.models import CustodyEvent, Shipment
from tilcare.identity.services.custody import ScanRequest, record_scan
from tilcare.identity.services.shipments import (
    add_temperature_readings,
    dispatch_shipment,
    receive_shipment,
)
from tilcare.identity.tests.helpers import make_world, new_shipment

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
PLANNED = dt.datetime(2026, 12, 3, 14, 0, tzinfo=dt.UTC)
DISPATCHED = dt.datetime(2026, 12, 3, 16, 30, tzinfo=dt.UTC)
RECEIVED = dt.datetime(2026, 12, 4, 15, 10, tzinfo=dt.UTC)


@pytest.fixture
def world():
    with time_machine.travel(NOW, tick=False):
        yield make_world()


def in_transit(world) -> Shipment:
    shipment = new_shipment(world, occurred_at=PLANNED)
    return dispatch_shipment(shipment, actor=world.team.navigator, at=DISPATCHED)


def test_a_shipment_planned_and_dispatched_earlier_is_dated_then_in_the_trail(world):
    in_transit(world)

    assert times(event_of("identity.shipment.create")) == (PLANNED, NOW)
    assert times(event_of("identity.shipment.dispatch")) == (DISPATCHED, NOW)


def test_the_cois_trail_shows_the_dispatch_on_the_day_of_the_dispatch(world):
    in_transit(world)

    trail = list_events_for_subject(f"coi:{world.coi_din}").filter(
        action="identity.shipment.dispatch"
    )

    assert [e.occurred_at.date() for e in trail] == [dt.date(2026, 12, 3)]


def test_a_logger_upload_and_receipt_entered_later_are_dated_when_they_happened(world):
    shipment = in_transit(world)
    tech = world.team.manufacturing_tech
    readings = [(DISPATCHED, Decimal("4.6")), (RECEIVED, Decimal("4.8"))]

    add_temperature_readings(
        shipment, readings=readings, source="logger.csv", actor=tech, occurred_at=RECEIVED
    )
    receive_shipment(shipment, actor=tech, at=RECEIVED)

    assert times(event_of("identity.shipment.temperatures_add")) == (RECEIVED, NOW)
    assert times(event_of("identity.shipment.receive")) == (RECEIVED, NOW)


def test_a_receipt_dated_before_the_logger_upload_just_recorded_is_dated_when_recorded(world):
    # Given the logger's file read in now, and the receipt of 4 Dec entered after it
    shipment = in_transit(world)
    tech = world.team.manufacturing_tech
    readings = [(DISPATCHED, Decimal("4.6")), (RECEIVED, Decimal("4.8"))]
    add_temperature_readings(shipment, readings=readings, source="logger.csv", actor=tech)

    received = receive_shipment(shipment, actor=tech, at=RECEIVED)

    # Then the receipt is accepted: the trail dates it when recorded, the shipment keeps 4 Dec
    assert times(event_of("identity.shipment.receive")) == (NOW, NOW)
    assert received.received_at == RECEIVED


def test_a_planning_time_after_now_is_refused_on_its_field(world):
    before = (Shipment.objects.count(), AuditEvent.objects.count())

    with pytest.raises(InvalidInput) as refused:
        new_shipment(world, occurred_at=NOW + dt.timedelta(minutes=1))

    assert refused.value.errors == {"occurred_at": ["Date and time cannot be in the future."]}
    assert (Shipment.objects.count(), AuditEvent.objects.count()) == before


def test_a_logger_upload_time_after_now_is_refused_on_its_field(world):
    shipment = in_transit(world)

    with pytest.raises(InvalidInput) as refused:
        add_temperature_readings(
            shipment,
            readings=[(DISPATCHED, Decimal("4.6"))],
            source="logger.csv",
            actor=world.team.manufacturing_tech,
            occurred_at=NOW + dt.timedelta(minutes=1),
        )

    assert refused.value.errors == {"occurred_at": ["Date and time cannot be in the future."]}


def scan(world, moment: dt.datetime) -> CustodyEvent:
    return record_scan(
        ScanRequest(
            coi_din=world.coi_din,
            step=HandoffStep.SPECIMEN_DISPATCHED,
            scanned_text=world.specimen.item_id,
            occurred_at=moment,
            late_entry_reason="Entered from the paper custody form",
        ),
        actor=world.team.nurse,
        organization=world.center,
    )


def test_a_scan_entered_later_is_dated_in_the_trail_when_it_was_scanned(world):
    event = scan(world, DISPATCHED)

    assert event.occurred_at == DISPATCHED
    assert times(event_of("identity.custody.record")) == (DISPATCHED, NOW)


def test_a_scan_a_minute_ahead_of_the_server_clock_is_dated_when_recorded(world):
    # Given a hand scanner whose clock runs a minute ahead (within the allowance)
    ahead = NOW + dt.timedelta(minutes=1)

    event = scan(world, ahead)

    # Then the scan keeps its own time; the trail cannot date an event after now
    assert event.occurred_at == ahead
    assert times(event_of("identity.custody.record")) == (NOW, NOW)
