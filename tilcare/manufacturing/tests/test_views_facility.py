"""The slots page as a facility sees it: its own upcoming slots with the bookings in each by COI
identifier (never the patient's name, MRN or date of birth), opening slots, changing places,
cancelling a booking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tilcare.accounts.choices import Role
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking
from tilcare.manufacturing.services.slots import day_text
from tilcare.manufacturing.tests.factories import (
    BookingFactory,
    SlotFactory,
    book_journey,
    coi_html,
    coi_number,
    facility_today,
)
from tilcare.manufacturing.tests.factories import booking_rows as counts
from tilcare.patients.tests.factories import (
    FacilityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAGE = "/manufacturing/slots/"
IDENTITY = ("Theodora", "Lindqvist", "MRN004512", "1968")


def body(response) -> str:
    return response.content.decode()


def scanned(din: str, check: str) -> str:
    return f"={din}{check}"


def test_the_facility_sees_its_slots_with_bookings_by_coi_only(team, journey, slot, client):
    # Given the journey booked into the facility's slot
    book_journey(slot, journey, team)
    client.force_login(team.manufacturing_tech)

    # When the technologist opens the slots page
    response = client.get(PAGE)

    # Then the slot shows its date, places, bookings by COI and the center, and no identity
    html = body(response)
    assert response.status_code == 200
    assert day_text(slot.starts_on) in html
    assert "Cleanroom B" in html
    assert coi_html(journey.coi_din, journey.coi_check) in html
    assert "Riverside Cancer Center" in html
    assert '<span class="badge badge-success">2 places free</span>' in html
    for text in IDENTITY:
        assert text not in html


def test_the_facility_sees_only_its_own_slots(team, slot, client):
    other = SlotFactory(
        facility=FacilityFactory(name="Southbank Biologics"),
        starts_on=slot.starts_on + dt.timedelta(days=1),
    )
    client.force_login(team.manufacturing_tech)

    html = body(client.get(PAGE))

    assert day_text(slot.starts_on) in html
    assert day_text(other.starts_on) not in html


def test_a_qa_reviewer_sees_the_calendar_without_the_forms(team, slot, client):
    client.force_login(team.qa_reviewer)

    response = client.get(PAGE)

    html = body(response)
    assert response.status_code == 200
    assert day_text(slot.starts_on) in html
    assert "Open a slot" not in html
    assert "slots/new/" not in html


def test_the_technologist_opens_a_slot(team, client):
    # Given the technologist on the page
    client.force_login(team.manufacturing_tech)
    starts_on = facility_today(team.facility) + dt.timedelta(days=20)

    # When they open a slot of 4 places
    response = client.post(
        reverse("manufacturing:slot-create"),
        {"starts_on": starts_on.isoformat(), "capacity": "4", "note": ""},
        follow=True,
    )

    # Then it is listed with its places and a confirmation
    html = body(response)
    assert f"Slot opened: {day_text(starts_on)}, 4 places." in html
    assert ManufacturingSlot.objects.get().capacity == 4


def test_opening_a_slot_with_too_many_places_shows_the_limit(team, client):
    client.force_login(team.manufacturing_tech)
    starts_on = facility_today(team.facility) + dt.timedelta(days=20)

    response = client.post(
        reverse("manufacturing:slot-create"),
        {"starts_on": starts_on.isoformat(), "capacity": "500"},
    )

    assert response.status_code == 200
    assert "Capacity must be a whole number of places from 1 to 50." in body(response)
    assert counts() == (0, 0, 0, 0)


def test_opening_a_slot_on_a_taken_day_is_refused_on_the_date_field(team, slot, client):
    client.force_login(team.manufacturing_tech)
    before = counts()

    response = client.post(
        reverse("manufacturing:slot-create"),
        {"starts_on": slot.starts_on.isoformat(), "capacity": "2"},
    )

    assert response.status_code == 200
    assert (
        f"Northgate Cell Therapy already has a slot on {day_text(slot.starts_on)}; "
        "change its capacity instead."
    ) in body(response)
    assert counts() == before


def test_the_technologist_changes_the_places(team, slot, client):
    client.force_login(team.manufacturing_tech)

    response = client.post(
        reverse("manufacturing:slot-capacity", args=[slot.public_id]),
        {"capacity": "5"},
        follow=True,
    )

    assert f"{day_text(slot.starts_on)} now has 5 places (was 3)." in body(response)
    slot.refresh_from_db()
    assert slot.capacity == 5


def test_shrinking_below_the_bookings_is_refused_in_the_row(team, slot, client):
    BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    BookingFactory(slot=slot, center=team.center, coi=coi_number(2))
    client.force_login(team.manufacturing_tech)
    before = counts()

    response = client.post(
        reverse("manufacturing:slot-capacity", args=[slot.public_id]), {"capacity": "1"}
    )

    assert response.status_code == 200
    assert "capacity cannot go below 2" in body(response)
    assert counts() == before


def test_another_facilitys_slot_is_not_found(team, slot, client):
    client.force_login(UserFactory(role=Role.MANUFACTURING_TECH, organization=FacilityFactory()))

    response = client.post(
        reverse("manufacturing:slot-capacity", args=[slot.public_id]), {"capacity": "5"}
    )

    assert response.status_code == 404
    slot.refresh_from_db()
    assert slot.capacity == 3


def test_the_facility_cancels_a_booking_with_a_reason(team, slot, client):
    booking = BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    client.force_login(team.manufacturing_tech)

    client.post(
        reverse("manufacturing:booking-cancel", args=[booking.public_id]),
        {"reason": "Cleanroom closed for requalification"},
    )

    booking.refresh_from_db()
    assert booking.cancelled_by == team.manufacturing_tech


def test_a_facility_may_not_book(team, slot, client):
    client.force_login(team.manufacturing_tech)
    din, check = coi_number(1)

    response = client.post(
        reverse("manufacturing:booking-create"),
        {"slot": str(slot.public_id), "coi": scanned(din, check), "manufacture_attempt": "1"},
    )

    assert response.status_code == 403
    assert SlotBooking.objects.count() == 0


def test_no_facility_page_or_refusal_carries_patient_identity(team, journey, slot, client):
    # Given the journey booked into the facility's slot
    booking = book_journey(slot, journey, team)
    client.force_login(team.manufacturing_tech)

    # When the technologist opens the page and has each of its forms refused
    pages = [
        client.get(PAGE),
        client.post(reverse("manufacturing:slot-create"), {"starts_on": "", "capacity": ""}),
        client.post(
            reverse("manufacturing:slot-capacity", args=[slot.public_id]), {"capacity": "0"}
        ),
        client.post(
            reverse("manufacturing:booking-cancel", args=[booking.public_id]), {"reason": ""}
        ),
    ]

    # Then every answer shows the COI and none the patient's name, MRN or date of birth
    assert [p.status_code for p in pages] == [200, 200, 200, 200]
    for page in pages:
        html = body(page)
        assert coi_html(journey.coi_din, journey.coi_check) in html
        for text in IDENTITY:
            assert text not in html
