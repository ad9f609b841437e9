"""Booking places in manufacturing slots: a success writes its row and one audit event, a
refusal writes nothing.

Places are booked by a center's navigators and physicians for their own center's COI
identifiers, never more than the slot's capacity, one active booking per COI and attempt; a
booking is cancelled with a reason by its center or by the slot's facility. (Opening slots and
changing their places: test_slot_services.py. The race for the last place: test_concurrency.py.)
"""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.accounts.choices import CENTER_ROLES, Role
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.manufacturing.models import SlotBooking
from tilcare.manufacturing.services import slots as slot_services
from tilcare.manufacturing.services.slots import SlotFull, day_text
from tilcare.manufacturing.tests.factories import (
    BookingFactory,
    SlotFactory,
    coi_number,
    facility_today,
)
from tilcare.manufacturing.tests.factories import booking_rows as counts
from tilcare.patients.tests.factories import CenterFactory, UserFactory

pytestmark = pytest.mark.django_db

BOOKING_ROLES = {Role.NAVIGATOR, Role.PHYSICIAN}


def book(slot, team, sequence: int = 1, *, actor=None, attempt: int = 1) -> SlotBooking:
    din, check = coi_number(sequence)
    return slot_services.book_slot(
        slot,
        coi_din=din,
        coi_check=check,
        center=team.center,
        actor=actor or team.navigator,
        manufacture_attempt=attempt,
    )


def days_ahead(facility, days: int) -> dt.date:
    return facility_today(facility) + dt.timedelta(days=days)


# ---------- booking ----------


def test_a_navigator_books_a_place_with_one_audit_event(team, slot):
    # When the navigator books a place for COI W1234 26 000001
    booking = book(slot, team, 1)

    # Then the booking is active, for the center, and audited under the COI
    din, check = coi_number(1)
    assert (booking.slot, booking.coi_din, booking.coi_check, booking.center) == (
        slot,
        din,
        check,
        team.center,
    )
    assert (booking.booked_by, booking.manufacture_attempt, booking.is_active) == (
        team.navigator,
        1,
        True,
    )
    event = AuditEvent.objects.get()
    assert (event.action, event.subject_id) == ("manufacturing.booking.create", f"coi:{din}")


def test_a_physician_may_book(team, slot):
    booking = book(slot, team, 1, actor=team.physician)

    assert booking.booked_by == team.physician


@pytest.mark.parametrize("role", sorted(CENTER_ROLES - BOOKING_ROLES))
def test_other_center_roles_may_not_book(team, slot, role):
    before = counts()

    with pytest.raises(PermissionDenied):
        book(slot, team, 1, actor=UserFactory(role=role, organization=team.center))

    assert counts() == before


@pytest.mark.parametrize("role", [Role.MANUFACTURING_TECH, Role.QA_REVIEWER])
def test_facility_staff_may_not_book(team, slot, role):
    before = counts()

    with pytest.raises(PermissionDenied):
        slot_services.book_slot(
            slot,
            coi_din=coi_number(1)[0],
            coi_check=coi_number(1)[1],
            center=team.center,
            actor=team.by_role(role),
        )

    assert counts() == before


def test_a_navigator_cannot_book_for_another_center(team, slot):
    other_navigator = UserFactory(role=Role.NAVIGATOR, organization=CenterFactory())
    before = counts()

    with pytest.raises(PermissionDenied):
        book(slot, team, 1, actor=other_navigator)

    assert counts() == before


def test_the_last_place_can_be_booked(team, slot):
    book(slot, team, 1)
    book(slot, team, 2)

    book(slot, team, 3)

    assert SlotBooking.objects.filter(slot=slot).count() == 3


def test_a_full_slot_is_refused_with_the_reason_and_nothing_written(team, slot):
    # Given all three places booked
    for sequence in (1, 2, 3):
        book(slot, team, sequence)
    before = counts()

    # When a fourth journey is booked into it
    with pytest.raises(SlotFull) as refused:
        book(slot, team, 4)

    # Then the coordinator is told it is full and to choose another date; nothing is written
    assert refused.value.errors == {
        "slot": ["This slot is full: 3 of 3 places are booked. Choose another date."]
    }
    assert counts() == before


def test_a_cancelled_booking_frees_its_place(team):
    one_place = SlotFactory(facility=team.facility, capacity=1)
    first = book(one_place, team, 1)
    slot_services.cancel_booking(first, actor=team.navigator, reason="Resection postponed")

    second = book(one_place, team, 2)

    assert second.is_active
    assert SlotBooking.objects.filter(slot=one_place, cancelled_at__isnull=True).count() == 1


def test_a_coi_already_booked_is_refused_naming_the_date(team, slot):
    # Given COI 000001 booked on the slot
    book(slot, team, 1)
    later = SlotFactory(facility=team.facility, starts_on=slot.starts_on + dt.timedelta(days=7))
    before = counts()

    # When the same COI is booked again a week later
    with pytest.raises(InvalidInput) as refused:
        book(later, team, 1)

    # Then the refusal names the existing booking's date and facility
    din, check = coi_number(1)
    spaced = f"{din[:5]} {din[5:7]} {din[7:]} {check}"
    assert refused.value.errors == {
        "coi_din": [
            f"{spaced} already has a place booked on {day_text(slot.starts_on)} at Northgate "
            "Cell Therapy; cancel that booking before booking another date."
        ]
    }
    assert counts() == before


def test_a_remanufacture_books_a_new_attempt_after_the_first_start(team, slot):
    # Given attempt 1 of COI 000001 started manufacturing last week
    past = SlotFactory(facility=team.facility, starts_on=days_ahead(team.facility, -7))
    BookingFactory(slot=past, center=team.center, coi=coi_number(1))

    # When the center books attempt 2
    booking = book(slot, team, 1, attempt=2)

    # Then both bookings stand: the history of attempt 1 is kept
    assert booking.manufacture_attempt == 2
    assert SlotBooking.objects.filter(cancelled_at__isnull=True).count() == 2


def test_a_second_attempt_waits_while_the_first_is_still_to_come(team, slot):
    book(slot, team, 1)
    later = SlotFactory(facility=team.facility, starts_on=slot.starts_on + dt.timedelta(days=7))

    with pytest.raises(InvalidInput) as refused:
        book(later, team, 1, attempt=2)

    assert list(refused.value.errors) == ["coi_din"]
    assert f"booked on {day_text(slot.starts_on)}" in refused.value.errors["coi_din"][0]


def test_a_past_slot_cannot_be_booked(team):
    past = SlotFactory(facility=team.facility, starts_on=days_ahead(team.facility, -1))
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        book(past, team, 1)

    today = facility_today(team.facility)
    assert refused.value.errors == {
        "slot": [
            f"The slot of {day_text(past.starts_on)} is in the past; choose a date from "
            f"{day_text(today)} on."
        ]
    }
    assert counts() == before


def test_a_slot_starting_today_can_be_booked(team):
    today_slot = SlotFactory(facility=team.facility, starts_on=facility_today(team.facility))

    assert book(today_slot, team, 1).is_active


def test_a_wrong_check_character_is_refused(team, slot):
    # Given COI W1234 26 000001, whose check character is not "Z"
    din, check = coi_number(1)
    assert check != "Z"
    before = counts()

    # When it is booked with "Z"
    with pytest.raises(InvalidInput) as refused:
        slot_services.book_slot(
            slot, coi_din=din, coi_check="Z", center=team.center, actor=team.navigator
        )

    # Then the refusal gives the expected character and nothing is written
    assert refused.value.errors == {
        "coi_check": [
            f"Check character “Z” does not match W1234 26 000001: expected “{check}”. "
            "The identifier was mistyped or misread."
        ]
    }
    assert counts() == before


def test_a_malformed_coi_is_refused(team, slot):
    with pytest.raises(InvalidInput) as refused:
        slot_services.book_slot(
            slot, coi_din="W12342600", coi_check="A", center=team.center, actor=team.navigator
        )

    assert refused.value.errors == {
        "coi_din": [
            "COI identifier must be the 13-character ISBT 128 identifier (FIN, year, sequence), "
            "e.g. W1234 26 000017; got “W12342600”."
        ]
    }
    assert counts() == (1, 0, 0, 0)


def test_a_coi_of_another_fin_is_refused(team, slot):
    din, check = coi_number(1, fin="X9876")

    with pytest.raises(InvalidInput) as refused:
        slot_services.book_slot(
            slot, coi_din=din, coi_check=check, center=team.center, actor=team.navigator
        )

    assert refused.value.errors == {
        "coi_din": [
            "X9876 26 000001 was not issued by Riverside Cancer Center (its identifiers start "
            "with W1234): book places only for your own center's journeys."
        ]
    }
    assert counts() == (1, 0, 0, 0)


def test_a_coi_typed_with_spaces_and_lower_case_is_read(team, slot):
    din, check = coi_number(1)

    booking = slot_services.book_slot(
        slot,
        coi_din=f" {din[:5].lower()} {din[5:7]} {din[7:]} ",
        coi_check=check.lower(),
        center=team.center,
        actor=team.navigator,
    )

    assert (booking.coi_din, booking.coi_check) == (din, check)


@pytest.mark.parametrize("attempt", [0, 10])
def test_an_attempt_outside_1_to_9_is_refused(team, slot, attempt):
    with pytest.raises(InvalidInput) as refused:
        book(slot, team, 1, attempt=attempt)

    assert refused.value.errors == {
        "manufacture_attempt": [
            f"Manufacture attempt must be a whole number from 1 to 9 (got {attempt})."
        ]
    }
    assert counts() == (1, 0, 0, 0)


# ---------- cancelling ----------


def test_the_center_cancels_with_a_reason_and_an_audit_event(team, slot):
    booking = book(slot, team, 1)

    slot_services.cancel_booking(booking, actor=team.physician, reason="Resection moved to June")

    booking.refresh_from_db()
    assert booking.cancelled_by == team.physician
    assert booking.cancellation_reason == "Resection moved to June"
    assert booking.cancelled_at is not None
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.reason, event.subject_id) == (
        "manufacturing.booking.cancel",
        "Resection moved to June",
        f"coi:{booking.coi_din}",
    )


def test_the_slots_facility_may_cancel_a_booking(team, slot):
    booking = book(slot, team, 1)

    slot_services.cancel_booking(booking, actor=team.manufacturing_tech, reason="Cleanroom closed")

    booking.refresh_from_db()
    assert booking.cancelled_by == team.manufacturing_tech


def test_cancelling_needs_a_reason(team, slot):
    booking = book(slot, team, 1)
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        slot_services.cancel_booking(booking, actor=team.navigator, reason="  ")

    assert refused.value.errors == {"reason": ["Reason for cancelling is required."]}
    assert counts() == before


@pytest.mark.parametrize("who", ["other_center_navigator", "nurse", "qa_reviewer"])
def test_those_who_may_not_cancel_are_refused(team, slot, who):
    booking = book(slot, team, 1)
    user = {
        "other_center_navigator": UserFactory(role=Role.NAVIGATOR, organization=CenterFactory()),
        "nurse": team.nurse,
        "qa_reviewer": team.qa_reviewer,
    }[who]
    before = counts()

    with pytest.raises(PermissionDenied):
        slot_services.cancel_booking(booking, actor=user, reason="No")

    assert counts() == before


def test_a_booking_cancelled_a_moment_ago_says_so(team, slot):
    # Given a booking a colleague has just cancelled (this copy was read before that)
    booking = book(slot, team, 1)
    stale = SlotBooking.objects.get(pk=booking.pk)
    slot_services.cancel_booking(booking, actor=team.physician, reason="Postponed")
    before = counts()

    # When it is cancelled again from the stale copy
    with pytest.raises(InvalidInput) as refused:
        slot_services.cancel_booking(stale, actor=team.navigator, reason="Again")

    # Then the refusal says so and the first cancellation stands
    assert refused.value.errors == {"__all__": ["This booking was already cancelled."]}
    assert counts() == before
    assert SlotBooking.objects.get(pk=booking.pk).cancellation_reason == "Postponed"


def test_a_cancelled_booking_is_not_offered_for_cancelling(team, slot):
    booking = slot_services.cancel_booking(
        book(slot, team, 1), actor=team.navigator, reason="Moved"
    )

    with pytest.raises(PermissionDenied):
        slot_services.cancel_booking(booking, actor=team.navigator, reason="Again")


def test_a_booking_whose_start_has_passed_is_kept(team):
    past = SlotFactory(facility=team.facility, starts_on=days_ahead(team.facility, -3))
    booking = BookingFactory(slot=past, center=team.center, coi=coi_number(1))

    with pytest.raises(InvalidInput) as refused:
        slot_services.cancel_booking(booking, actor=team.navigator, reason="Too late")

    assert refused.value.errors == {
        "__all__": [
            f"The slot of {day_text(past.starts_on)} is in the past; its booking is kept as it was."
        ]
    }
    booking.refresh_from_db()
    assert booking.cancelled_at is None
