"""Booking a manufacturing start in a real browser (Debian's Chromium): the place is booked from
the list of open dates; a date a colleague filled meanwhile is refused with the reason."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from playwright.sync_api import expect

from tilcare.core.tests.browser import sign_in as shared_sign_in
from tilcare.journey.tests.factories import make_team, open_journey_for
from tilcare.manufacturing.models import SlotBooking
from tilcare.manufacturing.services.slots import day_text
from tilcare.manufacturing.tests.factories import BookingFactory, SlotFactory, coi_number
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    PatientFactory,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer


def sign_in(page: Page, live_server: LiveServer, username: str) -> None:
    shared_sign_in(page, live_server.url, username)


def test_navigator_books_a_date_and_is_told_when_a_date_filled_meanwhile(
    live_server: LiveServer, page: Page
) -> None:
    # Given a facility with two open dates, one of a single place, and a journey at the center
    team = make_team(
        CenterFactory(name="Riverside Cancer Center"),
        FacilityFactory(name="Northgate Cell Therapy"),
    )
    roomy = SlotFactory(facility=team.facility, capacity=3)
    single = SlotFactory(
        facility=team.facility, capacity=1, starts_on=roomy.starts_on + dt.timedelta(days=7)
    )
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    sign_in(page, live_server, team.navigator.username)

    # When the navigator opens the single-place date's "Book" form and scans the journey's COI
    page.goto(live_server.url + "/manufacturing/slots/")
    page.click(f"a[aria-label='Book {day_text(single.starts_on)} at Northgate Cell Therapy']")
    page.fill("input[name='coi']", f"={journey.coi_din}{journey.coi_check}")
    # ... while a colleague takes that last place before the form is sent
    BookingFactory(slot=single, center=team.center, coi=coi_number(99))
    page.click("button:has-text('Book this place')")

    # Then the form says at its top that the date is full, and nothing is booked for the journey
    expect(page.locator(".form-errors")).to_contain_text(
        f"{day_text(single.starts_on)} at Northgate Cell Therapy: This slot is full: "
        "1 of 1 places are booked. Choose another date."
    )
    assert not SlotBooking.objects.filter(coi_din=journey.coi_din).exists()

    # When they choose the other date, with the scanned COI still in the form
    page.select_option("select[name='slot']", str(roomy.public_id))
    page.click("button:has-text('Book this place')")

    # Then the place is booked and listed under the center's bookings
    expect(page.locator(".messages")).to_contain_text(
        f"Place booked for {journey.coi_display} on {day_text(roomy.starts_on)}"
    )
    booking = SlotBooking.objects.get(coi_din=journey.coi_din)
    assert booking.slot == roomy
    expect(page.locator(f"#booking-{booking.public_id}")).to_contain_text(journey.coi_check)
