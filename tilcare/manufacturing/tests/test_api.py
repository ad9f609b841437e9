"""The manufacturing API: slots with their counts, bookings, the 409 for a full slot.

A facility's answers carry COI identifiers and never the patient's name, MRN or date of birth;
a center's answers never carry another center's COI identifiers.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tilcare.accounts.choices import Role
from tilcare.core.tests.clients import client_for
from tilcare.core.tests.clients import post_json as post
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking
from tilcare.manufacturing.services import slots as slot_services
from tilcare.manufacturing.tests.factories import (
    BookingFactory,
    SlotFactory,
    book_journey,
    coi_number,
    facility_today,
)
from tilcare.manufacturing.tests.factories import slot_rows as counts
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SLOTS = "/api/v1/manufacturing/slots"
BOOKINGS = "/api/v1/manufacturing/bookings"
IDENTITY = (b"Theodora", b"Lindqvist", b"MRN004512", b"1968-04-12")
NOT_FOUND = {"detail": "Not found."}


def post_slot(user, team, **body: object):
    """`user` posts a slot starting nine days from the facility's today, with `body`'s fields."""
    starts_on = facility_today(team.facility) + dt.timedelta(days=9)
    return post(client_for(user), SLOTS, {"starts_on": starts_on.isoformat(), **body})


def booking_body(din_check: tuple[str, str], attempt: int = 1) -> dict[str, object]:
    return {"coi_din": din_check[0], "coi_check": din_check[1], "manufacture_attempt": attempt}


# ---------- reading ----------


def test_anonymous_callers_are_refused(slot):
    response = Client().get(SLOTS)

    assert response.status_code == 401


def test_a_center_sees_counts_and_only_its_own_bookings(team, slot):
    # Given one place booked by this center and one by another center
    ours = BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    BookingFactory(slot=slot, center=CenterFactory(name="Lakeside"), coi=coi_number(2))

    # When the navigator lists the slots
    response = client_for(team.navigator).get(SLOTS)

    # Then the slot counts both bookings but lists only this center's
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert (item["capacity"], item["booked"], item["free"], item["is_full"]) == (3, 2, 1, False)
    assert item["facility"] == "Northgate Cell Therapy"
    assert item["facility_id"] == str(team.facility.public_id)
    assert item["starts_on"] == slot.starts_on.isoformat()
    assert [b["coi_din"] for b in item["bookings"]] == [ours.coi_din]
    assert coi_number(2)[0].encode() not in response.content
    assert b"Lakeside" not in response.content


def test_a_facility_sees_its_slots_by_coi_and_no_patient_identity(team, journey, slot):
    # Given the journey booked into the facility's slot, and another facility's slot
    book_journey(slot, journey, team)
    SlotFactory(facility=FacilityFactory())

    # When the facility's QA reviewer lists the slots
    response = client_for(team.qa_reviewer).get(SLOTS)

    # Then only its own slot comes back, with the booking by COI and no identity at all
    [item] = response.json()["items"]
    assert item["public_id"] == str(slot.public_id)
    [booking] = item["bookings"]
    assert (booking["coi_display"], booking["center"]) == (
        journey.coi_display,
        "Riverside Cancer Center",
    )
    for text in IDENTITY:
        assert text not in response.content


def test_slots_are_filtered_by_facility_and_dates(team, slot):
    later = SlotFactory(facility=team.facility, starts_on=slot.starts_on + dt.timedelta(days=5))
    elsewhere = SlotFactory(facility=FacilityFactory(), starts_on=slot.starts_on)
    client = client_for(team.navigator)

    by_facility = client.get(SLOTS, {"facility": str(elsewhere.facility.public_id)}).json()
    by_dates = client.get(
        SLOTS,
        {
            "from": (slot.starts_on + dt.timedelta(days=1)).isoformat(),
            "to": later.starts_on.isoformat(),
        },
    ).json()

    assert [s["public_id"] for s in by_facility["items"]] == [str(elsewhere.public_id)]
    assert [s["public_id"] for s in by_dates["items"]] == [str(later.public_id)]


def test_past_slots_are_left_out_unless_asked_for(team, slot):
    past = SlotFactory(
        facility=team.facility, starts_on=facility_today(team.facility) - dt.timedelta(days=3)
    )
    client = client_for(team.navigator)

    default = client.get(SLOTS).json()
    asked = client.get(SLOTS, {"from": past.starts_on.isoformat()}).json()

    assert [s["public_id"] for s in default["items"]] == [str(slot.public_id)]
    assert [s["public_id"] for s in asked["items"]] == [str(past.public_id), str(slot.public_id)]


def test_to_before_from_is_refused(team):
    response = client_for(team.navigator).get(SLOTS, {"from": "2026-05-10", "to": "2026-05-01"})

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "to": ["“to” (2026-05-01) must not be before “from” (2026-05-10)."]
    }


def test_a_patient_account_may_not_list_slots(team, slot):
    patient_user = UserFactory(role=Role.PATIENT, organization=team.center)

    response = client_for(patient_user).get(SLOTS)

    assert response.status_code == 403


# ---------- slots ----------


def test_the_technologist_opens_a_slot(team):
    starts_on = facility_today(team.facility) + dt.timedelta(days=9)

    response = post_slot(team.manufacturing_tech, team, capacity=4, note="Suite 2")

    assert response.status_code == 201
    body = response.json()
    assert (body["starts_on"], body["capacity"], body["booked"], body["free"]) == (
        starts_on.isoformat(),
        4,
        0,
        4,
    )
    assert ManufacturingSlot.objects.get().note == "Suite 2"


def test_a_navigator_may_not_open_a_slot(team):
    before = counts()

    response = post_slot(team.navigator, team, capacity=4)

    assert response.status_code == 403
    assert counts() == before


def test_a_capacity_of_zero_is_refused_with_its_limit(team):
    response = post_slot(team.manufacturing_tech, team, capacity=0)

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "capacity": ["Capacity must be a whole number of places from 1 to 50 (got 0)."]
    }
    assert counts() == (0, 0, 0)


def test_the_technologist_changes_the_places(team, slot):
    response = post(
        client_for(team.manufacturing_tech), f"{SLOTS}/{slot.public_id}/capacity", {"capacity": 6}
    )

    assert response.status_code == 200
    assert (response.json()["capacity"], response.json()["free"]) == (6, 6)


# ---------- bookings ----------


def test_a_navigator_books_a_place(team, journey, slot):
    response = post(
        client_for(team.navigator),
        f"{SLOTS}/{slot.public_id}/bookings",
        booking_body((journey.coi_din, journey.coi_check)),
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["coi_din"], body["coi_check"], body["slot_id"], body["is_active"]) == (
        journey.coi_din,
        journey.coi_check,
        str(slot.public_id),
        True,
    )
    assert body["center"] == "Riverside Cancer Center"
    assert body["booked_at"].endswith("+00:00")


def test_a_full_slot_answers_409_with_the_reason(team):
    # Given a one-place slot already booked
    one_place = SlotFactory(facility=team.facility, capacity=1)
    BookingFactory(slot=one_place, center=team.center, coi=coi_number(1))
    before = counts()

    # When another journey is booked into it
    response = post(
        client_for(team.physician),
        f"{SLOTS}/{one_place.public_id}/bookings",
        booking_body(coi_number(2)),
    )

    # Then the answer is 409 Conflict with the reason, and nothing is written
    assert response.status_code == 409
    assert response.json() == {
        "detail": "This slot is full.",
        "errors": {"slot": ["This slot is full: 1 of 1 places are booked. Choose another date."]},
    }
    assert counts() == before


def test_a_wrong_check_character_is_422_on_coi_check(team, slot):
    din, check = coi_number(1)
    wrong = "Z" if check != "Z" else "Y"

    response = post(
        client_for(team.navigator), f"{SLOTS}/{slot.public_id}/bookings", booking_body((din, wrong))
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["coi_check"]
    assert SlotBooking.objects.count() == 0


def test_a_facility_may_not_book(team, slot):
    response = post(
        client_for(team.manufacturing_tech),
        f"{SLOTS}/{slot.public_id}/bookings",
        booking_body(coi_number(1)),
    )

    assert response.status_code == 403
    assert SlotBooking.objects.count() == 0


def test_booking_an_unknown_slot_is_not_found(team):
    response = post(
        client_for(team.navigator),
        f"{SLOTS}/7b0e0c59-1111-4b8a-9a43-000000000000/bookings",
        booking_body(coi_number(1)),
    )

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_the_center_lists_and_cancels_its_booking(team, slot):
    booking = BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    client = client_for(team.navigator)

    listed = client.get(BOOKINGS, {"coi": booking.coi_din}).json()
    cancelled = post(client, f"{BOOKINGS}/{booking.public_id}/cancel", {"reason": "Moved"})

    assert [b["public_id"] for b in listed["items"]] == [str(booking.public_id)]
    assert cancelled.status_code == 200
    assert (cancelled.json()["is_active"], cancelled.json()["cancellation_reason"]) == (
        False,
        "Moved",
    )
    assert client.get(BOOKINGS).json()["items"] == []


def test_the_facility_does_not_see_a_reason_the_center_wrote(team, slot):
    booking = BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    slot_services.cancel_booking(booking, actor=team.navigator, reason="Ms Lindqvist is unwell")

    response = client_for(team.manufacturing_tech).get(BOOKINGS, {"include_cancelled": "true"})

    [item] = response.json()["items"]
    assert (item["is_active"], item["cancellation_reason"]) == (False, None)
    assert b"Lindqvist" not in response.content


def test_another_center_cannot_cancel_a_booking(team, slot):
    booking = BookingFactory(slot=slot, center=team.center, coi=coi_number(1))
    outsider = UserFactory(role=Role.NAVIGATOR, organization=CenterFactory())

    response = post(client_for(outsider), f"{BOOKINGS}/{booking.public_id}/cancel", {"reason": "x"})

    assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.cancelled_at is None


def test_cancelling_without_a_reason_is_422(team, slot):
    booking = BookingFactory(slot=slot, center=team.center, coi=coi_number(1))

    response = post(
        client_for(team.navigator), f"{BOOKINGS}/{booking.public_id}/cancel", {"reason": ""}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {"reason": ["Reason for cancelling is required."]}


def test_no_facility_answer_carries_patient_identity(team, journey, slot):
    # Given the journey booked into the facility's slot, cancelled once and booked again
    first = book_journey(slot, journey, team)
    slot_services.cancel_booking(first, actor=team.navigator, reason="Theodora Lindqvist MRN004512")
    booking = book_journey(slot, journey, team)
    client = client_for(team.manufacturing_tech)
    next_day = (facility_today(team.facility) + dt.timedelta(days=30)).isoformat()

    # When the technologist calls every operation a facility may call, and some it may not
    answers = [
        client.get(SLOTS),
        client.get(f"{SLOTS}/{slot.public_id}"),
        client.get(BOOKINGS, {"include_cancelled": "true"}),
        client.get(BOOKINGS, {"coi": journey.coi_din}),
        post(client, SLOTS, {"starts_on": next_day, "capacity": 2}),
        post(client, f"{SLOTS}/{slot.public_id}/capacity", {"capacity": 0}),
        post(client, f"{SLOTS}/{slot.public_id}/bookings", booking_body(coi_number(5))),
        post(client, f"{BOOKINGS}/{booking.public_id}/cancel", {"reason": "Suite closed"}),
    ]

    # Then each answered, and none carries the patient's name, MRN or date of birth
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 201, 422, 403, 200]
    for answer in answers:
        for text in IDENTITY:
            assert text not in answer.content
