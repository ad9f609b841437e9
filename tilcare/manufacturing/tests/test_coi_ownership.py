"""A place in a manufacturing slot is booked only for a COI identifier the booking center issued.

Checked always, whether or not the booking center has an ISBT 128 facility identification number
(FIN): a center without one has issued no COI identifier and can book for none. The service, the
API (409) and the booking page refuse alike and write nothing; the real center still books.
"""

from __future__ import annotations

import html
import json

import pytest
from django.urls import reverse

from tilcare.core.errors import Conflict
from tilcare.core.tests.clients import client_for
from tilcare.journey.tests.factories import make_team
from tilcare.manufacturing.models import SlotBooking
from tilcare.manufacturing.services import slots as slot_services
from tilcare.manufacturing.tests.factories import book_journey, coi_number
from tilcare.manufacturing.tests.factories import slot_rows as counts
from tilcare.patients.tests.factories import CenterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_fin(team):
    """A second center, booking at the same facility, that has not set its FIN yet."""
    return make_team(CenterFactory(name="Lakeside Oncology", isbt_fin=""), team.facility)


def not_issued(journey) -> str:
    return (
        f"{journey.coi_spaced} was not issued by Lakeside Oncology: book places only for your own "
        "center's journeys."
    )


def test_a_center_without_a_fin_cannot_book_a_place_for_another_centers_coi(journey, slot, no_fin):
    # Given Riverside's journey and a navigator of Lakeside, which has no FIN
    before = counts()

    # When Lakeside's navigator books a place for Riverside's COI
    with pytest.raises(Conflict) as refused:
        book_journey(slot, journey, no_fin)

    # Then it is refused on the COI, and nothing was written
    assert refused.value.errors == {"coi_din": [not_issued(journey)]}
    assert counts() == before


def test_the_api_answers_409_and_writes_nothing(journey, slot, no_fin):
    before = counts()

    response = client_for(no_fin.navigator).post(
        f"/api/v1/manufacturing/slots/{slot.public_id}/bookings",
        data=json.dumps({"coi_din": journey.coi_din, "coi_check": journey.coi_check}),
        content_type="application/json",
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": not_issued(journey),
        "errors": {"coi_din": [not_issued(journey)]},
    }
    assert counts() == before


def test_the_booking_page_refuses_on_the_coi_field(journey, slot, no_fin):
    before = counts()

    response = client_for(no_fin.navigator).post(
        reverse("manufacturing:booking-create"),
        {
            "slot": str(slot.public_id),
            "coi": f"{journey.coi_din}{journey.coi_check}",
            "manufacture_attempt": "1",
        },
    )

    assert response.status_code == 200
    assert not_issued(journey) in html.unescape(response.content.decode())
    assert counts() == before


def test_a_coi_no_journey_carries_is_not_a_center_without_a_fins_to_book(slot, no_fin):
    din, check = coi_number(4242)
    before = counts()

    with pytest.raises(Conflict):
        slot_services.book_slot(
            slot, coi_din=din, coi_check=check, center=no_fin.center, actor=no_fin.navigator
        )

    assert counts() == before


def test_the_real_center_then_still_books_its_coi(team, journey, slot, no_fin):
    # Given Lakeside's refused attempt on Riverside's COI
    with pytest.raises(Conflict):
        book_journey(slot, journey, no_fin)

    # When Riverside's navigator books the place through the API
    response = client_for(team.navigator).post(
        f"/api/v1/manufacturing/slots/{slot.public_id}/bookings",
        data=json.dumps({"coi_din": journey.coi_din, "coi_check": journey.coi_check}),
        content_type="application/json",
    )

    # Then it is Riverside's booking
    assert response.status_code == 201
    booking = SlotBooking.objects.get()
    assert (booking.coi_din, booking.center) == (journey.coi_din, team.center)
