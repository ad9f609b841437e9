"""The slots page as a center sees it: every facility's open dates with free places, the book
form, and its own bookings; never another center's COI identifiers. (The facility's face of the
page: test_views_facility.py.)
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from tilcare.accounts.choices import Role
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking
from tilcare.manufacturing.services.slots import day_text
from tilcare.manufacturing.tests.factories import (
    BookingFactory,
    SlotFactory,
    coi_html,
    coi_number,
    facility_today,
)
from tilcare.manufacturing.tests.factories import booking_rows as counts
from tilcare.patients.tests.factories import (
    CenterFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAGE = "/manufacturing/slots/"
FULL_1_OF_1 = "This slot is full: 1 of 1 places are booked. Choose another date."


def body(response) -> str:
    return response.content.decode()


def scanned(din: str, check: str) -> str:
    return f"={din}{check}"


# ---------- access ----------


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_patient_account_may_not_open_the_page(team, client):
    client.force_login(UserFactory(role=Role.PATIENT, organization=team.center))

    response = client.get(PAGE)

    assert response.status_code == 403


# ---------- the center ----------


def test_the_center_sees_free_places_but_not_other_centers_cois(team, slot, client):
    # Given one place taken by another center's journey
    other_din, other_check = coi_number(77)
    BookingFactory(slot=slot, center=CenterFactory(name="Lakeside"), coi=(other_din, other_check))
    client.force_login(team.navigator)

    # When the navigator opens the page
    html = body(client.get(PAGE))

    # Then the date shows 1 of 3 booked and 2 free, without the other center's COI
    assert day_text(slot.starts_on) in html
    assert "1 of 3" in html
    assert '<span class="badge badge-success">2 places free</span>' in html
    assert f"{other_din[:5]} {other_din[5:7]} {other_din[7:]}" not in html
    assert "Lakeside" not in html


def test_a_full_date_is_not_offered_to_the_center(team, client):
    full = SlotFactory(facility=team.facility, capacity=1)
    BookingFactory(slot=full, center=team.center, coi=coi_number(1))
    client.force_login(team.navigator)

    html = body(client.get(PAGE))

    assert f'value="{full.public_id}"' not in html
    assert "No facility has a free place from today." in html


def test_the_book_link_preselects_the_date(team, slot, client):
    client.force_login(team.navigator)

    html = body(client.get(f"{PAGE}?slot={slot.public_id}"))

    assert f'<option value="{slot.public_id}" selected>' in html


def test_the_navigator_books_a_scanned_coi(team, journey, slot, client):
    # Given the navigator on the page
    client.force_login(team.navigator)

    # When they scan the journey's COI (with the leading "=") and book the slot
    response = client.post(
        reverse("manufacturing:booking-create"),
        {
            "slot": str(slot.public_id),
            "coi": scanned(journey.coi_din, journey.coi_check),
            "manufacture_attempt": "1",
        },
        follow=True,
    )

    # Then the place is booked and listed under the center's bookings
    html = body(response)
    assert (
        f"Place booked for {journey.coi_display} on {day_text(slot.starts_on)} "
        "at Northgate Cell Therapy."
    ) in html
    assert coi_html(journey.coi_din, journey.coi_check) in html
    booking = SlotBooking.objects.get()
    assert (booking.coi_din, booking.center) == (journey.coi_din, team.center)


def test_booking_a_slot_that_filled_up_meanwhile_shows_it_is_full(team, client):
    # Given a one-place slot that a colleague booked after this page was shown
    one_place = SlotFactory(facility=team.facility, capacity=1)
    BookingFactory(slot=one_place, center=team.center, coi=coi_number(1))
    client.force_login(team.physician)
    din, check = coi_number(2)
    before = counts()

    # When the physician submits the booking for that date
    response = client.post(
        reverse("manufacturing:booking-create"),
        {"slot": str(one_place.public_id), "coi": f"{din}{check}", "manufacture_attempt": "1"},
    )

    # Then the form says, at its top, that this date is full; nothing is written
    html = body(response)
    assert response.status_code == 200
    top = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', html, re.DOTALL)
    assert top is not None
    where = f"{day_text(one_place.starts_on)} at Northgate Cell Therapy"
    assert f"<li>{where}: {FULL_1_OF_1}</li>" in top.group(1)
    assert counts() == before


def test_a_mistyped_check_character_is_shown_on_the_coi_field(team, slot, client):
    client.force_login(team.navigator)
    din, check = coi_number(1)
    wrong = "Z" if check != "Z" else "Y"

    response = client.post(
        reverse("manufacturing:booking-create"),
        {"slot": str(slot.public_id), "coi": f"{din}{wrong}", "manufacture_attempt": "1"},
    )

    html = body(response)
    assert response.status_code == 200
    assert f"COI identifier: Check character “{wrong}” does not match {din}" in html
    assert 'id="id_coi_error"' in html
    assert SlotBooking.objects.count() == 0


def test_a_coi_already_booked_is_shown_on_the_coi_field(team, slot, client):
    BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    later = SlotFactory(facility=team.facility, starts_on=slot.starts_on + dt.timedelta(days=1))
    client.force_login(team.navigator)
    din, check = coi_number(1)

    response = client.post(
        reverse("manufacturing:booking-create"),
        {"slot": str(later.public_id), "coi": f"{din}{check}", "manufacture_attempt": "1"},
    )

    html = body(response)
    assert f"already has a place booked on {day_text(slot.starts_on)}" in html
    assert 'id="id_coi_error"' in html
    assert SlotBooking.objects.count() == 1


def test_a_nurse_sees_the_dates_but_cannot_book(team, slot, client):
    client.force_login(team.nurse)
    din, check = coi_number(1)

    page = client.get(PAGE)
    post = client.post(
        reverse("manufacturing:booking-create"),
        {"slot": str(slot.public_id), "coi": f"{din}{check}", "manufacture_attempt": "1"},
    )

    assert page.status_code == 200
    assert day_text(slot.starts_on) in body(page)
    assert "Book a place" not in body(page)
    assert post.status_code == 403
    assert SlotBooking.objects.count() == 0


def test_a_center_may_not_open_slots(team, client):
    client.force_login(team.navigator)
    starts_on = facility_today(team.facility) + dt.timedelta(days=20)

    response = client.post(
        reverse("manufacturing:slot-create"), {"starts_on": starts_on.isoformat(), "capacity": "3"}
    )

    assert response.status_code == 403
    assert ManufacturingSlot.objects.count() == 0


def test_the_center_cancels_its_booking_with_a_reason(team, slot, client):
    booking = BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    client.force_login(team.navigator)

    response = client.post(
        reverse("manufacturing:booking-cancel", args=[booking.public_id]),
        {"reason": "Resection moved"},
        follow=True,
    )

    assert "cancelled; the place is free again." in body(response)
    booking.refresh_from_db()
    assert booking.cancellation_reason == "Resection moved"


def test_cancelling_without_a_reason_keeps_the_booking(team, slot, client):
    booking = BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    client.force_login(team.navigator)

    response = client.post(
        reverse("manufacturing:booking-cancel", args=[booking.public_id]), {"reason": ""}
    )

    html = body(response)
    assert response.status_code == 200
    assert "Reason for cancelling is required." in html
    assert '<details class="mf-fold" open>' in html
    booking.refresh_from_db()
    assert booking.cancelled_at is None


def test_another_centers_booking_is_not_found(team, slot, client):
    booking = BookingFactory(slot=slot, center=CenterFactory(), coi=coi_number(1))
    client.force_login(team.navigator)

    response = client.post(
        reverse("manufacturing:booking-cancel", args=[booking.public_id]), {"reason": "Mine?"}
    )

    assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.cancelled_at is None
