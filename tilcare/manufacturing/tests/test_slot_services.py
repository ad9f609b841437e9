"""Opening manufacturing slots and changing their places: a success writes its row and one
audit event, a refusal writes nothing. Only the facility's own manufacturing technologists may."""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.accounts.choices import CENTER_ROLES, Role
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.manufacturing.choices import SLOT_HORIZON_DAYS
from tilcare.manufacturing.services import slots as slot_services
from tilcare.manufacturing.services.slots import day_text
from tilcare.manufacturing.tests.factories import (
    BookingFactory,
    SlotFactory,
    coi_number,
    facility_today,
)
from tilcare.manufacturing.tests.factories import slot_rows as counts
from tilcare.patients.tests.factories import FacilityFactory, UserFactory

pytestmark = pytest.mark.django_db


def days_ahead(facility, days: int) -> dt.date:
    return facility_today(facility) + dt.timedelta(days=days)


# ---------- opening slots ----------


def test_the_facility_opens_a_slot_with_one_audit_event(team):
    # Given the facility's manufacturing technologist
    starts_on = days_ahead(team.facility, 10)

    # When they open a slot of 3 places
    slot = slot_services.create_slot(
        facility=team.facility,
        starts_on=starts_on,
        capacity=3,
        note="Cleanroom B",
        actor=team.manufacturing_tech,
    )

    # Then the slot exists and its opening is audited under the slot's id
    assert (slot.facility, slot.starts_on, slot.capacity, slot.note) == (
        team.facility,
        starts_on,
        3,
        "Cleanroom B",
    )
    event = AuditEvent.objects.get()
    assert (event.action, event.subject_id, event.actor_id) == (
        "manufacturing.slot.create",
        str(slot.public_id),
        team.manufacturing_tech.pk,
    )


@pytest.mark.parametrize("role", [Role.QA_REVIEWER, *sorted(CENTER_ROLES)])
def test_only_manufacturing_staff_open_slots(team, role):
    # Given a user who may not keep the facility's slots (QA, or any center role)
    organization = team.facility if role == Role.QA_REVIEWER else team.center
    user = UserFactory(role=role, organization=organization)

    # When they try to open a slot, Then they are refused and nothing is written
    refused_to_open_a_slot(team, user)


def refused_to_open_a_slot(team, user) -> None:
    before = counts()

    with pytest.raises(PermissionDenied):
        slot_services.create_slot(
            facility=team.facility,
            starts_on=days_ahead(team.facility, 10),
            capacity=3,
            actor=user,
        )
    assert counts() == before


def test_a_technologist_of_another_facility_cannot_open_this_facilitys_slots(team):
    other_tech = UserFactory(role=Role.MANUFACTURING_TECH, organization=FacilityFactory())

    refused_to_open_a_slot(team, other_tech)


@pytest.mark.parametrize("capacity", [0, 51, -1])
def test_capacity_outside_1_to_50_is_refused(team, capacity):
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        slot_services.create_slot(
            facility=team.facility,
            starts_on=days_ahead(team.facility, 10),
            capacity=capacity,
            actor=team.manufacturing_tech,
        )

    assert refused.value.errors == {
        "capacity": [f"Capacity must be a whole number of places from 1 to 50 (got {capacity})."]
    }
    assert counts() == before


def test_a_slot_in_the_past_is_refused(team):
    yesterday = days_ahead(team.facility, -1)
    today = facility_today(team.facility)

    with pytest.raises(InvalidInput) as refused:
        slot_services.create_slot(
            facility=team.facility, starts_on=yesterday, capacity=3, actor=team.manufacturing_tech
        )

    assert refused.value.errors == {
        "starts_on": [
            f"Start date {day_text(yesterday)} is in the past; slots open from today "
            f"({day_text(today)})."
        ]
    }
    assert counts() == (0, 0, 0)


def test_a_slot_beyond_the_horizon_is_refused(team):
    too_far = days_ahead(team.facility, SLOT_HORIZON_DAYS + 1)

    with pytest.raises(InvalidInput) as refused:
        slot_services.create_slot(
            facility=team.facility, starts_on=too_far, capacity=3, actor=team.manufacturing_tech
        )

    assert list(refused.value.errors) == ["starts_on"]
    assert refused.value.errors["starts_on"][0].startswith(
        f"Start date can be at most {SLOT_HORIZON_DAYS} days ahead"
    )
    assert counts() == (0, 0, 0)


def test_a_second_slot_on_the_same_day_is_refused(team, slot):
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        slot_services.create_slot(
            facility=team.facility,
            starts_on=slot.starts_on,
            capacity=2,
            actor=team.manufacturing_tech,
        )

    assert refused.value.errors == {
        "starts_on": [
            f"Northgate Cell Therapy already has a slot on {day_text(slot.starts_on)}; "
            "change its capacity instead."
        ]
    }
    assert counts() == before


def test_a_note_over_200_characters_is_refused(team):
    with pytest.raises(InvalidInput) as refused:
        slot_services.create_slot(
            facility=team.facility,
            starts_on=days_ahead(team.facility, 10),
            capacity=3,
            note="x" * 201,
            actor=team.manufacturing_tech,
        )

    assert refused.value.errors == {"note": ["Note can be at most 200 characters (it has 201)."]}
    assert counts() == (0, 0, 0)


# ---------- changing capacity ----------


def test_capacity_change_is_audited_with_before_and_after(team, slot):
    # When the technologist raises the slot from 3 to 5 places
    slot_services.change_capacity(slot, capacity=5, actor=team.manufacturing_tech)

    # Then the slot has 5 places and one event records 3 -> 5
    slot.refresh_from_db()
    assert slot.capacity == 5
    event = AuditEvent.objects.get()
    assert event.action == "manufacturing.slot.change_capacity"
    assert '"capacity":3' in event.before_json and '"capacity":5' in event.after_json
    assert event.subject_id == str(slot.public_id)


def test_capacity_cannot_go_below_the_places_booked(team, slot):
    # Given two of three places booked
    BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    BookingFactory(slot=slot, center=team.center, coi=coi_number(2))
    before = counts()

    # When the technologist tries to shrink the slot to one place
    with pytest.raises(InvalidInput) as refused:
        slot_services.change_capacity(slot, capacity=1, actor=team.manufacturing_tech)

    # Then they are told why and the slot keeps its three places
    assert refused.value.errors == {
        "capacity": [
            f"2 places are booked on {day_text(slot.starts_on)}: capacity cannot go below 2. "
            "Ask the centers to move bookings first."
        ]
    }
    slot.refresh_from_db()
    assert slot.capacity == 3
    assert counts() == before


def test_capacity_may_shrink_to_exactly_the_places_booked(team, slot):
    BookingFactory(slot=slot, center=team.center, coi=coi_number(1))

    slot_services.change_capacity(slot, capacity=1, actor=team.manufacturing_tech)

    slot.refresh_from_db()
    assert slot.capacity == 1


def test_setting_the_same_capacity_writes_nothing(team, slot):
    slot_services.change_capacity(slot, capacity=3, actor=team.manufacturing_tech)

    assert AuditEvent.objects.count() == 0


def test_another_facility_cannot_change_the_capacity(team, slot):
    other_tech = UserFactory(role=Role.MANUFACTURING_TECH, organization=FacilityFactory())

    with pytest.raises(PermissionDenied):
        slot_services.change_capacity(slot, capacity=5, actor=other_tech)

    slot.refresh_from_db()
    assert slot.capacity == 3
    assert AuditEvent.objects.count() == 0


def test_a_past_slot_keeps_its_capacity(team):
    past = SlotFactory(facility=team.facility, starts_on=days_ahead(team.facility, -2))

    with pytest.raises(InvalidInput) as refused:
        slot_services.change_capacity(past, capacity=4, actor=team.manufacturing_tech)

    assert refused.value.errors == {
        "capacity": [
            f"The slot of {day_text(past.starts_on)} is in the past; "
            "its capacity can no longer change."
        ]
    }
