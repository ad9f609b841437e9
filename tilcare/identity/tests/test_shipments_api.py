"""Shipments over the API: who may do what, the temperature log as JSON and as CSV, and no
patient identity in any answer (a shipment carries COI and item identifiers only)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tilcare.accounts.services import issue_api_token
from tilcare.core.tests.clients import client_for, post_json
from tilcare.identity.choices import ShipmentStatus
from tilcare.identity.models import IdentityAlert, Shipment, TemperatureReading
from tilcare.identity.services.shipments import add_temperature_readings
from tilcare.identity.tests.helpers import (
    IDENTITY,
    World,
    counts,
    dispatched,
    every_ten_minutes,
    minute,
    new_shipment,
)
from tilcare.journey.tests.factories import make_team

pytestmark = pytest.mark.django_db

BASE = "/api/v1/identity/shipments"
NOT_FOUND = {"detail": "Not found."}


def csv_text(start: dt.datetime, *temperatures: str) -> str:
    lines = [
        f"{(start + dt.timedelta(minutes=10 * i)).isoformat()},{t}"
        for i, t in enumerate(temperatures)
    ]
    return "recorded_at,temperature_c\n" + "\n".join(lines) + "\n"


def assert_no_identity(response) -> None:
    for text in IDENTITY:
        assert text.encode() not in response.content


def post_to(user, shipment, action: str, body: object):
    """POST `body` to one of `shipment`'s actions (dispatch, receive, temperatures) as `user`."""
    return post_json(client_for(user), f"{BASE}/{shipment.public_id}/{action}", body)


def post_csv(user, shipment, text: str, content_type: str = "text/csv"):
    """POST `text` to `shipment`'s CSV upload as `user`, as a logger's software sends it."""
    return client_for(user).post(
        f"{BASE}/{shipment.public_id}/temperatures.csv", data=text, content_type=content_type
    )


def create_body(world: World) -> dict[str, object]:
    return {
        "coi_din": world.coi_din,
        "shipper": world.shipper.item_id,
        "items": [world.specimen.item_id],
        "destination": str(world.facility.public_id),
        "shipper_type": "controlled_2_8",
        "expected_hold_hours": 48,
        "range_min_c": 2.0,
        "range_max_c": 8.0,
    }


# --- create, list, get ------------------------------------------------------------------------


def test_center_navigator_creates_a_shipment(world):
    response = post_json(client_for(world.team.navigator), BASE, create_body(world))

    assert response.status_code == 201
    body = response.json()
    assert body["coi_din"] == world.coi_din
    assert body["shipper"] == world.shipper.item_id
    assert body["items"] == [world.specimen.item_id]
    assert body["origin"]["name"] == "Riverside Cancer Center"
    assert body["destination"]["name"] == "Northgate Cell Therapy"
    assert (body["status"], body["range_min_c"], body["range_max_c"]) == ("planned", "2.0", "8.0")
    assert (body["late"], body["flags"], body["readings"]) == (False, [], 0)


def test_create_refuses_bad_input_with_the_field_named(world):
    body = {**create_body(world), "range_min_c": 9.0}
    before = counts()

    response = post_json(client_for(world.team.navigator), BASE, body)

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "range_max_c": ["The range maximum (8.0 °C) must be above the minimum (9.0 °C)."]
    }
    assert counts() == before


def test_create_refuses_an_unknown_item(world):
    body = {**create_body(world), "items": ["W123426999999-BG01"]}

    response = post_json(client_for(world.team.navigator), BASE, body)

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "items": ["No item “W123426999999-BG01” that you may see."]
    }


def test_a_physician_may_not_create(world):
    before = counts()

    response = post_json(client_for(world.team.physician), BASE, create_body(world))

    assert response.status_code == 403
    assert counts() == before


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
def test_facility_staff_list_and_get_shipments_without_patient_identity(world, role):
    shipment = new_shipment(world)
    client = client_for(world.team.by_role(role))

    listed = client.get(BASE)
    one = client.get(f"{BASE}/{shipment.public_id}")

    assert listed.status_code == 200
    assert [s["public_id"] for s in listed.json()["items"]] == [str(shipment.public_id)]
    assert one.status_code == 200
    assert one.json()["coi_din"] == world.coi_din
    assert_no_identity(listed)
    assert_no_identity(one)


def test_another_organization_gets_404_and_an_empty_list(world):
    shipment = new_shipment(world)
    client = client_for(make_team().navigator)

    assert client.get(BASE).json()["items"] == []
    response = client.get(f"{BASE}/{shipment.public_id}")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_list_filters_by_status(world):
    shipment, _ = dispatched(world)
    client = client_for(world.team.navigator)

    assert client.get(f"{BASE}?status=planned").json()["items"] == []
    in_transit = client.get(f"{BASE}?status=in_transit").json()["items"]
    assert [s["public_id"] for s in in_transit] == [str(shipment.public_id)]


def test_list_filters_late_shipments(world):
    late, _ = dispatched(world, hours_ago=50)
    client = client_for(world.team.qa_reviewer)

    body = client.get(f"{BASE}?late=true").json()

    assert [s["public_id"] for s in body["items"]] == [str(late.public_id)]
    assert body["items"][0]["late"] is True
    assert body["items"][0]["flags"] == ["late"]


def test_anonymous_callers_are_refused(world):
    assert Client().get(BASE).status_code == 401


# --- dispatch and receive ---------------------------------------------------------------------


def test_dispatch_then_receive_with_an_excursion_alerts_qa(world):
    shipment = new_shipment(world)
    start = minute(timezone.now()) - dt.timedelta(hours=3)

    dispatched_ = post_to(world.team.nurse, shipment, "dispatch", {"at": start.isoformat()})
    added = post_csv(
        world.team.manufacturing_tech,
        shipment,
        csv_text(start, "5.0", "5.0", "9.0", "9.5", "9.0", "5.0"),
    )
    received = post_to(
        world.team.manufacturing_tech,
        shipment,
        "receive",
        {"at": minute(timezone.now()).isoformat(), "max_logging_interval_minutes": 10},
    )

    assert dispatched_.status_code == 200
    assert dispatched_.json()["expected_at"] == (start + dt.timedelta(hours=48)).isoformat()
    assert added.status_code == 201
    assert added.json()["added"] == 6
    assert received.status_code == 200
    body = received.json()
    assert (
        body["status"],
        body["excursion"],
        body["minutes_outside_range"],
        body["max_logging_interval_minutes"],
    ) == ("received", True, 40, 10)
    assert body["flags"] == ["excursion"]
    assert IdentityAlert.objects.get(shipment=shipment).facility == world.facility
    assert_no_identity(received)


def test_dispatch_without_an_offset_is_refused(world):
    shipment = new_shipment(world)

    response = post_to(world.team.navigator, shipment, "dispatch", {"at": "2026-01-05T10:00:00"})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["at"]


def test_dispatching_twice_answers_409(world):
    shipment, _ = dispatched(world)

    response = post_to(
        world.team.navigator, shipment, "dispatch", {"at": timezone.now().isoformat()}
    )

    assert response.status_code == 409
    assert response.json()["reasons"] == ["This shipment is already in transit."]


def test_the_center_may_not_receive_its_own_outgoing_shipment(world):
    shipment, _ = dispatched(world)

    response = post_to(
        world.team.navigator, shipment, "receive", {"at": timezone.now().isoformat()}
    )

    assert response.status_code == 403
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.IN_TRANSIT


# --- readings as JSON -------------------------------------------------------------------------


def test_readings_as_a_json_list_are_added(world):
    shipment, start = dispatched(world)
    body = [
        {"recorded_at": start.isoformat(), "temperature_c": 5.0},
        {"recorded_at": (start + dt.timedelta(minutes=10)).isoformat(), "temperature_c": "5.5"},
    ]

    response = post_to(world.team.navigator, shipment, "temperatures", body)

    assert response.status_code == 201
    assert response.json()["added"] == 2
    assert list(shipment.readings.values_list("temperature_c", "source")) == [
        (Decimal("5.0"), "API"),
        (Decimal("5.5"), "API"),
    ]


def test_a_naive_time_in_json_readings_is_refused(world):
    shipment, _ = dispatched(world)
    body = [{"recorded_at": "2026-01-05T10:00:00", "temperature_c": 5.0}]

    response = post_to(world.team.navigator, shipment, "temperatures", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["0.recorded_at"]
    assert TemperatureReading.objects.count() == 0


def test_json_readings_repeating_a_logged_time_are_refused_naming_it(world):
    shipment, start = dispatched(world)
    add_temperature_readings(
        shipment, readings=[(start, Decimal("5.0"))], source="api", actor=world.team.navigator
    )
    body = [{"recorded_at": start.isoformat(), "temperature_c": 6.0}]

    response = post_to(world.team.navigator, shipment, "temperatures", body)

    assert response.status_code == 422
    assert response.json()["errors"]["readings"] == [
        f"{start.isoformat()} is already in this shipment's log; nothing was added."
    ]
    assert TemperatureReading.objects.count() == 1


# --- readings as CSV --------------------------------------------------------------------------


def test_a_csv_file_in_a_multipart_form_is_added_with_its_name(world):
    shipment, start = dispatched(world)
    upload = SimpleUploadedFile("logger-17.csv", csv_text(start, "5.0", "5.1").encode())

    response = client_for(world.team.qa_reviewer).post(
        f"{BASE}/{shipment.public_id}/temperatures.csv", {"file": upload}
    )

    assert response.status_code == 201
    assert set(shipment.readings.values_list("source", flat=True)) == {"CSV logger-17.csv"}


def test_a_bad_csv_answers_422_naming_the_line_and_saves_nothing(world):
    shipment, start = dispatched(world)
    text = csv_text(start, "5.0", "5.1") + "2026-01-05T10:30:00,5.0\n"
    before = counts()

    response = post_csv(world.team.navigator, shipment, text)

    assert response.status_code == 422
    assert response.json()["errors"]["file"][0].startswith(
        "Line 4, recorded_at: “2026-01-05T10:30:00” has no UTC offset"
    )
    assert counts() == before


def test_a_csv_with_a_future_time_is_refused_naming_the_line(world):
    shipment, _ = dispatched(world)
    future = minute(timezone.now()) + dt.timedelta(hours=2)

    response = post_csv(world.team.navigator, shipment, csv_text(future, "5.0"))

    assert response.status_code == 422
    assert response.json()["errors"]["file"] == [
        f"Line 2, recorded_at: {future.isoformat()} is in the future."
    ]


def test_a_csv_repeating_a_logged_time_names_it_under_file(world):
    shipment, start = dispatched(world)
    add_temperature_readings(
        shipment, readings=[(start, Decimal("5.0"))], source="api", actor=world.team.navigator
    )

    response = post_csv(world.team.navigator, shipment, csv_text(start, "5.0"))

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "file": [f"{start.isoformat()} is already in this shipment's log; nothing was added."]
    }


def test_a_csv_in_another_content_type_is_refused(world):
    shipment, start = dispatched(world)

    response = post_csv(
        world.team.navigator, shipment, csv_text(start, "5.0"), content_type="text/plain"
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "file": ["Send the CSV as a text/csv body or as a multipart field named “file”."]
    }


def test_a_social_worker_gets_403_before_the_file_is_read(world):
    shipment, _ = dispatched(world)

    response = post_csv(world.team.social_worker, shipment, "not even csv")

    assert response.status_code == 403
    assert TemperatureReading.objects.count() == 0


def test_a_system_with_a_bearer_token_uploads_the_csv(world):
    shipment, start = dispatched(world)
    _, secret = issue_api_token(world.team.manufacturing_tech, name="Logger gateway")

    response = Client().post(
        f"{BASE}/{shipment.public_id}/temperatures.csv",
        data=csv_text(start, "5.0", "5.1", "5.2"),
        content_type="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )

    assert response.status_code == 201
    assert response.json()["added"] == 3
    assert Shipment.objects.get(pk=shipment.pk).readings.count() == 3
    assert_no_identity(response)


def test_the_temperature_log_is_listed_in_time_order(world):
    shipment, start = dispatched(world)
    add_temperature_readings(
        shipment,
        readings=list(reversed(every_ten_minutes(start, "5.0", "6.0"))),
        source="api",
        actor=world.team.navigator,
    )

    response = client_for(world.team.qa_reviewer).get(f"{BASE}/{shipment.public_id}/temperatures")

    assert response.json() == [
        {"recorded_at": start.isoformat(), "temperature_c": "5.0", "source": "api"},
        {
            "recorded_at": (start + dt.timedelta(minutes=10)).isoformat(),
            "temperature_c": "6.0",
            "source": "api",
        },
    ]
