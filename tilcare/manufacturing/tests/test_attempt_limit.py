"""One limit for a journey's manufacture attempt: its items (chain of identity), its slot
bookings and its batches refuse the same numbers with the same message, and the API document
declares the same range for each."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tilcare.core.errors import InvalidInput
from tilcare.identity.api.items import ItemIn
from tilcare.identity.choices import MANUFACTURE_ATTEMPT_MAX, ItemKind
from tilcare.identity.services import items as item_services
from tilcare.identity.tests.factories import DESCRIPTION, coi_of
from tilcare.journey import guards
from tilcare.journey.choices import Stage
from tilcare.manufacturing.schemas.slots import BookingIn
from tilcare.manufacturing.services import slots as slot_services
from tilcare.manufacturing.tests.batch_factories import open_batch_at
from tilcare.manufacturing.tests.factories import coi_number

pytestmark = pytest.mark.django_db

TOO_MANY = MANUFACTURE_ATTEMPT_MAX + 1
REFUSAL = f"Manufacture attempt must be a whole number from 1 to 9 (got {TOO_MANY})."


def test_the_limit_is_nine_attempts():
    # A journey is re-manufactured at most a few times; a tenth attempt is a typing slip.
    assert MANUFACTURE_ATTEMPT_MAX == 9


def create_item(team, journey, attempt: int):
    din, check = coi_of(journey)
    return item_services.create_item(
        coi_din=din,
        coi_check=check,
        kind=ItemKind.PRODUCT_BAG,
        center=team.center,
        facility=team.facility,
        description=DESCRIPTION,
        manufacture_attempt=attempt,
        actor=team.navigator,
    )


def test_an_item_takes_the_last_attempt_and_refuses_the_next(team, journey):
    # Given a journey's product bag; when labelled for attempt 9, then for attempt 10
    item = create_item(team, journey, MANUFACTURE_ATTEMPT_MAX)
    with pytest.raises(InvalidInput) as refused:
        create_item(team, journey, TOO_MANY)

    # Then the ninth is kept and the tenth refused, as a booking and a batch refuse it
    assert item.manufacture_attempt == 9
    assert refused.value.errors == {"manufacture_attempt": [REFUSAL]}


def test_a_booking_refuses_the_same_attempt(team, slot):
    din, check = coi_number(1)
    with pytest.raises(InvalidInput) as refused:
        slot_services.book_slot(
            slot,
            coi_din=din,
            coi_check=check,
            center=team.center,
            actor=team.navigator,
            manufacture_attempt=TOO_MANY,
        )

    assert refused.value.errors == {"manufacture_attempt": [REFUSAL]}


def test_a_batch_refuses_the_same_attempt(team):
    with pytest.raises(InvalidInput) as refused:
        open_batch_at(team, 17, attempt=TOO_MANY)

    assert refused.value.errors["manufacture_attempt"] == [
        "Manufacture attempt must be a whole number from 1 to 9."
    ]


@pytest.mark.parametrize("schema", [ItemIn, BookingIn], ids=["item", "booking"])
def test_the_api_document_declares_the_same_range(schema):
    declared = schema.model_json_schema()["properties"]["manufacture_attempt"]

    assert (declared["minimum"], declared["maximum"]) == (1, 9)


@pytest.mark.parametrize("attempt", [0, TOO_MANY])
def test_the_item_api_refuses_an_attempt_outside_the_range_instead_of_defaulting(
    team, journey, attempt
):
    # Given a nurse labelling the journey's first item through the API
    client = Client()
    client.force_login(team.nurse)
    body = {
        "coi_din": journey.coi_din,
        "coi_check": journey.coi_check,
        "kind": "tumor_specimen",
        "description": "Specimen jar",
        "facility": str(team.facility.public_id),
        "manufacture_attempt": attempt,
    }

    # When it is sent with attempt 0 or 10
    response = client.post(
        "/api/v1/identity/items", data=json.dumps(body), content_type="application/json"
    )

    # Then it is refused on that field (0 does not fall back to attempt 1)
    assert response.status_code == 422, response.json()
    assert response.json()["errors"] == {
        "manufacture_attempt": [
            f"Manufacture attempt must be a whole number from 1 to 9 (got {attempt})."
        ]
    }


@pytest.mark.parametrize(("attempt", "refused"), [(8, False), (9, True)])
def test_a_journey_is_not_re_manufactured_past_the_last_attempt(journey, attempt, refused):
    # Given a journey at manufacturing on its eighth or ninth attempt
    journey.stage = Stage.AT_MANUFACTURING
    journey.manufacture_attempt = attempt

    # When a re-manufacture (back to resection scheduled) is judged
    codes = [r.code for r in guards.evaluate_move(journey, Stage.RESECTION_SCHEDULED) if not r.met]

    # Then a tenth attempt, which no item, booking or batch could take, is refused with its reason
    assert ("manufacture_attempt_limit" in codes) is refused
    if refused:
        assert codes == ["manufacture_attempt_limit"]
