"""Late and flagged shipments, as the board reads them (`identity.selectors`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tilcare.identity.choices import ItemKind
from tilcare.identity.selectors import (
    flags_of,
    is_late,
    late_shipments,
    shipment_flags_by_coi,
)
from tilcare.identity.services.shipments import (
    add_temperature_readings,
    dispatch_shipment,
    receive_shipment,
)
from tilcare.identity.tests.factories import ItemFactory
from tilcare.identity.tests.helpers import (
    World,
    dispatched,
    every_ten_minutes,
    logged,
    minute,
    new_shipment,
)
from tilcare.journey.tests.factories import make_team
from tilcare.patients.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def late_one(world: World):
    """Dispatched 50 hours ago with a 48-hour hold: two hours late now."""
    shipment, _ = dispatched(world, hours_ago=50)
    return shipment


def test_in_transit_past_expected_arrival_is_late(world):
    shipment = late_one(world)
    now = timezone.now()

    assert is_late(shipment, now) is True
    assert list(late_shipments(world.team.navigator, now)) == [shipment]
    assert list(late_shipments(world.team.manufacturing_tech, now)) == [shipment]


def test_exactly_at_expected_arrival_is_not_yet_late(world):
    shipment = late_one(world)

    assert is_late(shipment, shipment.expected_at) is False
    assert list(late_shipments(world.team.navigator, shipment.expected_at)) == []


def test_in_transit_before_expected_arrival_is_not_late(world):
    dispatched(world, hours_ago=1)

    assert list(late_shipments(world.team.navigator, timezone.now())) == []


def test_a_planned_shipment_is_never_late(world):
    new_shipment(world)

    assert shipment_flags_by_coi([world.coi_din], timezone.now() + dt.timedelta(days=60)) == {}


def test_late_shipments_are_only_those_of_the_users_organization(world):
    late_one(world)
    outsider = make_team().navigator

    assert list(late_shipments(outsider, timezone.now())) == []


def test_users_without_custody_view_see_no_late_shipment(world):
    late_one(world)

    patient_user = UserFactory(role="patient", organization=world.center)

    assert list(late_shipments(patient_user, timezone.now())) == []


def test_flags_by_coi_name_late(world):
    late_one(world)

    assert shipment_flags_by_coi([world.coi_din], timezone.now()) == {world.coi_din: ["late"]}


def test_flags_by_coi_name_excursion_and_log_missing_after_receipt(world):
    # Given one shipment received with an excursion and another (new shipper) with no log
    shipment, start = dispatched(world)
    add_temperature_readings(
        shipment,
        readings=every_ten_minutes(start, "5.0", "9.0", "5.0"),
        source="api",
        actor=world.team.navigator,
    )
    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=minute(timezone.now()))
    second_shipper = ItemFactory(
        coi_din=world.coi_din,
        coi_check=world.coi_check,
        kind=ItemKind.SHIPPER,
        number=2,
        center=world.center,
        facility=world.facility,
        created_by=world.team.navigator,
    )
    second = new_shipment(world, shipper_item=second_shipper)
    second = dispatch_shipment(second, actor=world.team.navigator, at=start)
    receive_shipment(second, actor=world.team.manufacturing_tech, at=minute(timezone.now()))

    flags = shipment_flags_by_coi([world.coi_din], timezone.now())

    assert flags == {world.coi_din: ["excursion", "log_missing"]}
    shipment.refresh_from_db()
    assert flags_of(shipment, timezone.now()) == ["excursion"]


def test_a_clean_receipt_has_no_flag(world):
    shipment = logged(world, "5.0", "5.0")
    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=minute(timezone.now()))

    assert shipment_flags_by_coi([world.coi_din], timezone.now()) == {}


def test_flags_leave_out_cois_not_asked_for(world):
    late_one(world)

    assert shipment_flags_by_coi(["W123426999999", ""], timezone.now()) == {}
    assert shipment_flags_by_coi([], timezone.now()) == {}


def test_flags_with_a_user_count_only_their_organizations_shipments(world):
    late_one(world)
    outsider = make_team().navigator

    assert shipment_flags_by_coi([world.coi_din], timezone.now(), user=outsider) == {}
    assert shipment_flags_by_coi([world.coi_din], timezone.now(), user=world.team.qa_reviewer) == {
        world.coi_din: ["late"]
    }


def test_flags_take_one_query(world, django_assert_num_queries):
    late_one(world)

    with django_assert_num_queries(1):
        shipment_flags_by_coi([world.coi_din], timezone.now())


def test_decimal_hold_hours_give_minutes_in_the_expected_arrival(world):
    at = minute(timezone.now()) - dt.timedelta(hours=2)
    shipment = new_shipment(world, expected_hold_hours=Decimal("1.5"))

    shipment = dispatch_shipment(shipment, actor=world.team.navigator, at=at)

    assert shipment.expected_at == at + dt.timedelta(minutes=90)
    assert is_late(shipment, timezone.now()) is True
