"""Shipments through their services: create, dispatch, temperature readings, receipt.

The excursion case end to end: readings above the range for 40 minutes are flagged on receipt
with 40 minutes outside and an alert for QA; a shipment received with no reading raises
"Temperature log missing"; a refused log leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied, TransitionBlocked
from tilcare.identity.choices import (
    SHIPMENT_TRANSITIONS,
    AlertKind,
    AlertSeverity,
    ItemKind,
    ShipmentStatus,
)
from tilcare.identity.models import (
    IdentityAlert,
    Shipment,
    ShipmentTransition,
    TemperatureReading,
)
from tilcare.identity.services.shipments import (
    add_temperature_readings,
    dispatch_shipment,
    receive_shipment,
)
from tilcare.identity.temperature_csv import TemperatureCsvError, parse_temperature_csv
from tilcare.identity.tests.factories import ItemFactory
from tilcare.identity.tests.helpers import (
    counts,
    dispatched,
    every_ten_minutes,
    logged,
    minute,
    new_shipment,
)
from tilcare.journey.tests.factories import make_team
from tilcare.patients.tests.factories import CenterFactory

pytestmark = pytest.mark.django_db


# --- the excursion case end to end -----------------------------------------------------------


def test_readings_above_range_for_40_minutes_are_flagged_on_receipt_and_sent_to_qa(world):
    # Given a 2–8 °C shipment dispatched by the center, whose log goes above 8 °C for three
    # readings (10:20, 10:30, 10:40 in a 10-minute log)
    shipment, start = dispatched(world)
    readings = every_ten_minutes(start, "5.0", "5.0", "9.0", "9.5", "9.0", "5.0")
    add_temperature_readings(
        shipment, readings=readings, source="logger-17.csv", actor=world.team.manufacturing_tech
    )

    # When the facility receives it
    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=minute(timezone.now()))

    # Then the excursion is stored with 40 minutes outside (either end of an interval outside)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.RECEIVED
    assert shipment.excursion is True
    assert shipment.minutes_outside_range == 40
    # and one critical alert goes to QA: the facility is set, and it names what happened
    alert = IdentityAlert.objects.get(shipment=shipment)
    assert (alert.kind, alert.severity) == (
        AlertKind.TEMPERATURE_EXCURSION,
        AlertSeverity.CRITICAL,
    )
    assert (alert.center, alert.facility, alert.coi_din) == (
        world.center,
        world.facility,
        world.coi_din,
    )
    assert alert.message.startswith(
        f"Temperature excursion: Shipment in shipper {world.shipper.item_id} was outside "
        "2.0–8.0 °C for 40 min (3 reading(s) outside; furthest 9.5 °C at "
    )
    assert alert.acknowledged_at is None


def test_receipt_records_the_assessment_in_the_audit_event(world):
    shipment = logged(world, "5.0", "9.0", "5.0")

    receive_shipment(shipment, actor=world.team.qa_reviewer, at=minute(timezone.now()))

    event = AuditEvent.objects.get(action="identity.shipment.receive")
    assert event.subject_id == f"coi:{world.coi_din}"
    assert '"minutes_outside":20' in event.after_json
    assert '"readings_outside":1' in event.after_json
    assert "either" in event.after_json  # the rule travels with the figure


def test_receipt_without_any_reading_raises_temperature_log_missing(world):
    # Given a dispatched shipment with no reading at all
    shipment, _ = dispatched(world)

    # When the facility receives it
    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=minute(timezone.now()))

    # Then nothing is claimed about its temperature, and QA is told the log is missing
    shipment.refresh_from_db()
    assert (shipment.excursion, shipment.minutes_outside_range) == (False, None)
    alert = IdentityAlert.objects.get(shipment=shipment)
    assert alert.severity == AlertSeverity.HIGH
    assert alert.facility == world.facility
    assert alert.message.startswith("Temperature log missing: ")


def test_receipt_within_range_raises_no_alert(world):
    shipment = logged(world, "4.0", "8.0", "2.0")

    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=minute(timezone.now()))

    shipment.refresh_from_db()
    assert (shipment.excursion, shipment.minutes_outside_range) == (False, 0)
    assert not IdentityAlert.objects.exists()


def test_gaps_longer_than_the_logger_interval_raise_an_alert(world):
    # Given readings at 0, 10 and 60 minutes, all inside, and a 10-minute logger
    shipment, start = dispatched(world)
    readings = [
        (start, Decimal("5.0")),
        (start + dt.timedelta(minutes=10), Decimal("5.0")),
        (start + dt.timedelta(minutes=60), Decimal("5.0")),
    ]
    add_temperature_readings(shipment, readings=readings, source="api", actor=world.team.navigator)

    receive_shipment(
        shipment,
        actor=world.team.manufacturing_tech,
        at=minute(timezone.now()),
        max_logging_interval_minutes=10,
    )

    alert = IdentityAlert.objects.get(shipment=shipment)
    assert alert.severity == AlertSeverity.HIGH
    assert "1 gap(s) longer than the logging interval (longest 50 min" in alert.message


def test_a_refused_csv_leaves_no_reading(world):
    # Given a dispatched shipment and a CSV whose third line is in °F
    dispatched(world)
    data = (
        b"recorded_at,temperature_c\n"
        b"2026-01-05T10:00:00+00:00,5.0\n"
        b"2026-01-05T10:10:00+00:00,41 F\n"
    )
    before = counts()

    # When it is read, it is refused naming the line
    with pytest.raises(TemperatureCsvError) as refused:
        parse_temperature_csv(data)

    # Then the message names line 3 and nothing was saved
    assert refused.value.messages()[0].startswith("Line 3, temperature_c: “41 F” is in °F")
    assert counts() == before


# --- create -----------------------------------------------------------------------------------


def test_create_plans_a_shipment_with_an_audit_event(world):
    shipment = new_shipment(world)

    assert shipment.status == ShipmentStatus.PLANNED
    assert list(shipment.items.all()) == [world.specimen]
    assert (shipment.origin, shipment.destination) == (world.center, world.facility)
    event = AuditEvent.objects.get(action="identity.shipment.create")
    assert event.subject_id == f"coi:{world.coi_din}"
    assert world.specimen.item_id in event.after_json


@pytest.mark.parametrize(
    ("case", "changes", "field", "message"),
    [
        ("hold 0", {"expected_hold_hours": Decimal("0.5")}, "expected_hold_hours",
         "Expected hold time must be 1–720 hours (got 0.5)."),
        ("hold 721", {"expected_hold_hours": Decimal("721")}, "expected_hold_hours",
         "Expected hold time must be 1–720 hours (got 721)."),
        ("hold float", {"expected_hold_hours": 48.0}, "expected_hold_hours",
         "Give an exact decimal number, not a float."),
        ("min above max", {"range_min_c": Decimal("8.0"), "range_max_c": Decimal("2.0")},
         "range_max_c", "The range maximum (2.0 °C) must be above the minimum (8.0 °C)."),
        ("min equals max", {"range_min_c": Decimal("5.0"), "range_max_c": Decimal("5.0")},
         "range_max_c", "The range maximum (5.0 °C) must be above the minimum (5.0 °C)."),
        ("below -200", {"range_min_c": Decimal("-200.1")}, "range_min_c",
         "Must be -200 to +60 °C (got -200.1 °C)."),
        ("above 60", {"range_max_c": Decimal("60.1")}, "range_max_c",
         "Must be -200 to +60 °C (got 60.1 °C)."),
        ("two decimals", {"range_min_c": Decimal("2.05")}, "range_min_c",
         "At most one decimal place (got 2.05)."),
        ("shipper type", {"shipper_type": "bucket"}, "shipper_type",
         "Choose one of: ln2_dry_shipper, controlled_2_8, controlled_15_25."),
        ("no items", {"items": []}, "items", "Choose at least one item to ship."),
    ],
)  # fmt: skip
def test_create_refuses_bad_input_naming_the_field(world, case, changes, field, message):
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        new_shipment(world, **changes)

    assert refused.value.errors[field] == [message]
    assert counts() == before


def test_create_refuses_items_of_another_coi(world):
    other = ItemFactory(center=world.center, facility=world.facility)

    with pytest.raises(InvalidInput) as refused:
        new_shipment(world, items=[other])

    assert refused.value.errors["items"] == [
        f"{other.item_id} belongs to another COI than {world.coi_din}."
    ]


def test_create_refuses_a_shipper_of_another_coi(world):
    other = ItemFactory(kind=ItemKind.SHIPPER, center=world.center, facility=world.facility)

    with pytest.raises(InvalidInput) as refused:
        new_shipment(world, shipper_item=other)

    assert refused.value.errors["shipper_item"] == [
        f"Shipper {other.item_id} belongs to another COI."
    ]


def test_create_refuses_a_shipper_on_another_open_shipment(world):
    new_shipment(world)
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        new_shipment(world)

    assert refused.value.errors["shipper_item"] == [
        f"Shipper {world.shipper.item_id} is already on a shipment that is planned."
    ]
    assert counts() == before


def test_create_refuses_two_centers(world):
    with pytest.raises(InvalidInput) as refused:
        new_shipment(world, destination=CenterFactory())

    assert refused.value.errors["destination"] == [
        "A shipment goes between a treatment center and a manufacturing facility."
    ]


@pytest.mark.parametrize("role", ["physician", "financial_coordinator", "center_admin"])
def test_roles_without_the_shipping_permission_may_not_create(world, role):
    before = counts()

    with pytest.raises(PermissionDenied):
        new_shipment(world, actor=world.team.by_role(role))

    assert counts() == before


def test_another_centers_staff_may_not_create(world):
    outsider = make_team().navigator

    with pytest.raises(PermissionDenied):
        new_shipment(world, actor=outsider)


@pytest.mark.parametrize("role", ["navigator", "nurse", "surgeon", "pharmacist"])
def test_center_handlers_may_create(world, role):
    assert new_shipment(world, actor=world.team.by_role(role)).status == ShipmentStatus.PLANNED


def test_facility_technologist_may_create_a_return_shipment(world):
    shipment = new_shipment(
        world,
        actor=world.team.manufacturing_tech,
        origin=world.facility,
        destination=world.center,
        shipper_type="ln2_dry_shipper",
        range_min_c=Decimal("-196.0"),
        range_max_c=Decimal("-150.0"),
    )

    assert shipment.origin == world.facility


# --- dispatch ---------------------------------------------------------------------------------


def test_dispatch_sets_the_expected_arrival_from_the_hold_time(world):
    at = minute(timezone.now()) - dt.timedelta(hours=1)

    shipment = dispatch_shipment(new_shipment(world), actor=world.team.nurse, at=at)

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.IN_TRANSIT
    assert shipment.dispatched_at == at
    assert shipment.expected_at == at + dt.timedelta(hours=48)
    assert AuditEvent.objects.filter(action="identity.shipment.dispatch").count() == 1


def test_only_the_sending_organization_dispatches(world):
    shipment = new_shipment(world)
    before = counts()

    with pytest.raises(PermissionDenied):
        dispatch_shipment(shipment, actor=world.team.manufacturing_tech, at=timezone.now())

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PLANNED
    assert counts() == before


def test_dispatch_twice_is_blocked(world):
    shipment, _ = dispatched(world)

    with pytest.raises(TransitionBlocked) as blocked:
        dispatch_shipment(shipment, actor=world.team.navigator, at=timezone.now())

    assert blocked.value.reasons == ["This shipment is already in transit."]


@pytest.mark.parametrize(
    ("case", "at", "message"),
    [
        ("future", timezone.now() + dt.timedelta(hours=1),
         "Date and time cannot be in the future."),
        ("naive", dt.datetime(2026, 1, 5, 10, 0),
         "Give the date and time with its UTC offset (time zone)."),
    ],
)  # fmt: skip
def test_dispatch_refuses_bad_times(world, case, at, message):
    shipment = new_shipment(world)

    with pytest.raises(InvalidInput) as refused:
        dispatch_shipment(shipment, actor=world.team.navigator, at=at)

    assert refused.value.errors == {"at": [message]}


# --- readings ---------------------------------------------------------------------------------


def test_readings_are_added_with_their_source_and_one_audit_event(world):
    shipment, start = dispatched(world)

    added = add_temperature_readings(
        shipment,
        readings=every_ten_minutes(start, "5.0", "-1.5"),
        source="logger-17.csv",
        actor=world.team.navigator,
    )

    assert added == 2
    assert list(shipment.readings.values_list("temperature_c", "source")) == [
        (Decimal("5.0"), "logger-17.csv"),
        (Decimal("-1.5"), "logger-17.csv"),
    ]
    event = AuditEvent.objects.get(action="identity.shipment.temperatures_add")
    assert '"readings_added":2' in event.after_json


def test_a_time_already_in_the_log_is_refused_naming_it_and_nothing_is_added(world):
    shipment, start = dispatched(world)
    add_temperature_readings(
        shipment, readings=[(start, Decimal("5.0"))], source="api", actor=world.team.navigator
    )
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        add_temperature_readings(
            shipment,
            readings=every_ten_minutes(start, "5.1", "5.2"),
            source="api",
            actor=world.team.navigator,
        )

    assert refused.value.errors["readings"] == [
        f"{start.astimezone(dt.UTC).isoformat()} is already in this shipment's log; "
        "nothing was added."
    ]
    assert counts() == before


def test_one_bad_reading_refuses_the_whole_batch(world):
    shipment, start = dispatched(world)
    readings = [
        *every_ten_minutes(start, "5.0", "5.0"),
        (start + dt.timedelta(minutes=30), Decimal("5.25")),
    ]
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        add_temperature_readings(
            shipment, readings=readings, source="api", actor=world.team.navigator
        )

    label = (start + dt.timedelta(minutes=30)).isoformat()
    assert refused.value.errors["readings"] == [
        f"Reading 3 ({label}): At most one decimal place (got 5.25)."
    ]
    assert counts() == before


def test_readings_are_refused_before_dispatch(world):
    shipment = new_shipment(world)

    with pytest.raises(InvalidInput) as refused:
        add_temperature_readings(
            shipment,
            readings=[(timezone.now(), Decimal("5.0"))],
            source="api",
            actor=world.team.navigator,
        )

    assert refused.value.errors["__all__"] == [
        "Readings are added while the shipment is in transit; this one is planned."
    ]


def test_readings_are_refused_after_receipt(world):
    shipment, start = dispatched(world)
    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=minute(timezone.now()))

    with pytest.raises(InvalidInput):
        add_temperature_readings(
            shipment, readings=[(start, Decimal("5.0"))], source="api", actor=world.team.navigator
        )

    assert TemperatureReading.objects.count() == 0


def test_a_social_worker_may_not_add_readings(world):
    shipment, start = dispatched(world)

    with pytest.raises(PermissionDenied):
        add_temperature_readings(
            shipment,
            readings=[(start, Decimal("5.0"))],
            source="api",
            actor=world.team.social_worker,
        )

    assert TemperatureReading.objects.count() == 0


# --- receive ----------------------------------------------------------------------------------


def test_only_the_receiving_organization_receives(world):
    shipment, _ = dispatched(world)
    before = counts()

    with pytest.raises(PermissionDenied):
        receive_shipment(shipment, actor=world.team.navigator, at=timezone.now())

    assert counts() == before


def test_receiving_a_planned_shipment_is_blocked(world):
    shipment = new_shipment(world)

    with pytest.raises(TransitionBlocked) as blocked:
        receive_shipment(shipment, actor=world.team.manufacturing_tech, at=timezone.now())

    assert blocked.value.reasons == ["This shipment has not been dispatched yet."]


def test_receipt_before_dispatch_is_refused_and_nothing_changes(world):
    shipment, start = dispatched(world)
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        receive_shipment(
            shipment, actor=world.team.manufacturing_tech, at=start - dt.timedelta(minutes=1)
        )

    assert list(refused.value.errors) == ["at"]
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.IN_TRANSIT
    assert counts() == before


def test_logger_interval_out_of_bounds_is_refused(world):
    shipment, _ = dispatched(world)

    with pytest.raises(InvalidInput) as refused:
        receive_shipment(
            shipment,
            actor=world.team.manufacturing_tech,
            at=timezone.now(),
            max_logging_interval_minutes=0,
        )

    assert refused.value.errors == {
        "max_logging_interval_minutes": ["The logger's interval must be 1–1440 minutes (got 0)."]
    }


# --- the status log --------------------------------------------------------------------------


def transitions(shipment: Shipment) -> list[tuple[str, str, dt.datetime, str]]:
    return [
        (t.from_status, t.to_status, t.occurred_at, t.actor.username)
        for t in ShipmentTransition.objects.filter(shipment=shipment).select_related("actor")
    ]


def test_dispatch_and_receipt_are_logged_with_who_and_when_they_happened(world):
    # Given a shipment dispatched by the navigator three hours ago
    shipment, start = dispatched(world)
    received_at = start + dt.timedelta(hours=2)

    # When the facility receives it, giving the logger's interval
    receive_shipment(
        shipment,
        actor=world.team.manufacturing_tech,
        at=received_at,
        max_logging_interval_minutes=10,
    )

    # Then both moves are logged at the times they happened, and the interval is kept
    assert transitions(shipment) == [
        ("planned", "in_transit", start, world.team.navigator.username),
        ("in_transit", "received", received_at, world.team.manufacturing_tech.username),
    ]
    shipment.refresh_from_db()
    assert shipment.max_logging_interval_minutes == 10


def test_a_receipt_without_the_logger_interval_keeps_it_unknown(world):
    shipment, _ = dispatched(world)

    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=timezone.now())

    shipment.refresh_from_db()
    assert shipment.max_logging_interval_minutes is None


def test_a_blocked_move_logs_nothing(world):
    # Given a received shipment
    shipment, _ = dispatched(world)
    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=timezone.now())
    before = counts()

    # When it is received again
    with pytest.raises(TransitionBlocked) as blocked:
        receive_shipment(shipment, actor=world.team.manufacturing_tech, at=timezone.now())

    # Then it is refused and nothing is written
    assert blocked.value.reasons == ["This shipment was already received."]
    assert counts() == before


def test_every_status_the_table_names_is_a_shipment_status():
    # The table's keys and targets are all statuses, and only receipt ends the workflow
    assert set(SHIPMENT_TRANSITIONS) == set(ShipmentStatus.values)
    assert [s for s, targets in SHIPMENT_TRANSITIONS.items() if not targets] == ["received"]


def test_a_receipt_entered_in_the_minute_of_the_dispatch_is_not_before_it(world):
    # Given a shipment dispatched 40 seconds into a minute (a scanner's clock), and a receipt
    # typed to the minute, as the form takes it
    dispatched_at = minute(timezone.now()) - dt.timedelta(hours=1) + dt.timedelta(seconds=40)
    shipment = dispatch_shipment(new_shipment(world), actor=world.team.navigator, at=dispatched_at)

    # When it is received in that same minute
    received = receive_shipment(
        shipment, actor=world.team.manufacturing_tech, at=minute(dispatched_at)
    )

    # Then the receipt stands
    assert received.status == ShipmentStatus.RECEIVED
