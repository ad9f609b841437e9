"""Temperature readings sent as one JSON list are added all together or not at all."""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.core.tests.clients import client_for, post_json
from tilcare.identity.tests.helpers import counts, dispatched, make_world

pytestmark = pytest.mark.django_db

BASE = "/api/v1/identity/shipments"
UNKNOWN = "Unknown field; check its spelling against the API documentation."


def post_readings(user, shipment, body: object):
    return post_json(client_for(user), f"{BASE}/{shipment.public_id}/temperatures", body)


def test_a_list_whose_second_reading_is_implausible_adds_none():
    # Given a dispatched shipment and two readings, the second at 150 °C (a logger fault)
    world = make_world()
    shipment, start = dispatched(world)
    body = [
        {"recorded_at": start.isoformat(), "temperature_c": "5.0"},
        {"recorded_at": (start + dt.timedelta(minutes=10)).isoformat(), "temperature_c": "150"},
    ]
    before = counts()

    # When they are posted as one list
    response = post_readings(world.team.navigator, shipment, body)

    # Then the list is refused, and neither reading (nor any event) is written
    assert response.status_code == 422
    second = (start + dt.timedelta(minutes=10)).isoformat()
    assert response.json()["errors"] == {
        "readings": [f"Reading 2 ({second}): 150 °C is outside the plausible -273.1 to +100.0 °C."]
    }
    assert counts() == before


def test_a_list_with_a_misspelt_field_in_its_second_reading_adds_none():
    world = make_world()
    shipment, start = dispatched(world)
    body = [
        {"recorded_at": start.isoformat(), "temperature_c": "5.0"},
        {"recorded_at": (start + dt.timedelta(minutes=10)).isoformat(), "temprature_c": "5.1"},
    ]
    before = counts()

    response = post_readings(world.team.navigator, shipment, body)

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "1.temperature_c": ["This field is required."],
        "1.temprature_c": [UNKNOWN],
    }
    assert counts() == before
