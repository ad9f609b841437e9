"""Shipments pages: the list with its late and excursion badges, the shipment page with its chart,
CSV upload (errors with the line, nothing saved), dispatch, receipt and planning; who may open
and use each; and no patient identity on any of them."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from tilcare.core.tests.browser import sign_in
from tilcare.core.tests.clients import client_for
from tilcare.identity.choices import ShipmentStatus
from tilcare.identity.models import IdentityAlert, Shipment, TemperatureReading
from tilcare.identity.services.shipments import (
    add_temperature_readings,
    dispatch_shipment,
    receive_shipment,
)
from tilcare.identity.tests.helpers import (
    IDENTITY,
    World,
    counts,
    dispatched,
    every_ten_minutes,
    logged,
    make_world,
    minute,
    new_shipment,
)
from tilcare.journey.tests.factories import make_team
from tilcare.patients.tests.factories import UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.django_db

LIST = "/identity/shipments/"
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def detail(shipment: Shipment) -> str:
    return f"{LIST}{shipment.public_id}/"


def text_of(response) -> str:
    return response.content.decode()


def assert_no_identity(response) -> None:
    for text in IDENTITY:
        assert text not in text_of(response)


def csv_upload(start: dt.datetime, *temperatures: str, name: str = "logger-17.csv"):
    lines = [
        f"{(start + dt.timedelta(minutes=10 * i)).isoformat()},{t}"
        for i, t in enumerate(temperatures)
    ]
    body = "recorded_at,temperature_c\n" + "\n".join(lines) + "\n"
    return SimpleUploadedFile(name, body.encode(), content_type="text/csv")


# --- the list ---------------------------------------------------------------------------------


def test_list_shows_a_late_badge_for_a_shipment_in_transit_past_its_expected_arrival(world):
    # Given a 48-hour shipment dispatched 50 hours ago
    shipment, _ = dispatched(world, hours_ago=50)

    response = client_for(world.team.navigator).get(LIST)

    assert response.status_code == 200
    html = text_of(response)
    assert shipment.shipper.item_id in html
    assert '<span class="badge badge-danger ship-flag-late">Late</span>' in html
    assert "In transit" in html


def test_list_shows_no_late_badge_before_the_expected_arrival(world):
    dispatched(world, hours_ago=1)

    html = text_of(client_for(world.team.navigator).get(LIST))

    assert "ship-flag-late" not in html


def test_list_shows_an_excursion_badge_after_receipt(world):
    shipment = logged(world, "5.0", "9.0", "5.0")
    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=minute(timezone.now()))

    html = text_of(client_for(world.team.qa_reviewer).get(LIST))

    assert '<span class="badge badge-danger ship-flag-excursion">Excursion</span>' in html


def test_list_filter_late_shows_only_late_shipments(world):
    dispatched(world, hours_ago=50)
    client = client_for(world.team.navigator)

    assert "ship-flag-late" in text_of(client.get(f"{LIST}?status=late"))
    assert "No shipment here." in text_of(client.get(f"{LIST}?status=received"))


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
def test_facility_staff_see_the_list_without_patient_identity(world, role):
    new_shipment(world)

    response = client_for(world.team.by_role(role)).get(LIST)

    assert response.status_code == 200
    assert world.shipper.item_id in text_of(response)
    assert_no_identity(response)


def test_another_organization_sees_an_empty_list(world):
    new_shipment(world)

    html = text_of(client_for(make_team().navigator).get(LIST))

    assert world.shipper.item_id not in html
    assert "No shipment here." in html


def test_a_patient_may_not_open_the_shipments_list(world):
    patient_user = UserFactory(role="patient", organization=world.center)

    assert client_for(patient_user).get(LIST).status_code == 403


# --- the shipment page ------------------------------------------------------------------------


def test_shipment_page_carries_the_chart_data_and_the_range(world):
    shipment, start = dispatched(world)
    add_temperature_readings(
        shipment,
        readings=every_ten_minutes(start, "5.0", "9.0"),
        source="api",
        actor=world.team.navigator,
    )

    response = client_for(world.team.manufacturing_tech).get(detail(shipment))

    assert response.status_code == 200
    [raw] = re.findall(r'data-temperature-chart="([^"]*)"', text_of(response))
    chart = json.loads(raw.replace("&quot;", '"'))
    assert chart == {
        "x": [int(start.timestamp()), int(start.timestamp()) + 600],
        "temperature": ["5.0", "9.0"],
        "outside": [None, "9.0"],
        "range_min": "2.0",
        "range_max": "8.0",
        "time_zone": "America/New_York",
    }
    assert "Preliminary:" in text_of(response)
    assert_no_identity(response)


def test_another_organization_gets_404_for_the_shipment_page(world):
    shipment = new_shipment(world)

    assert client_for(make_team().navigator).get(detail(shipment)).status_code == 404


def test_the_sender_sees_dispatch_and_the_receiver_does_not(world):
    shipment = new_shipment(world)

    sender = text_of(client_for(world.team.navigator).get(detail(shipment)))
    receiver = text_of(client_for(world.team.manufacturing_tech).get(detail(shipment)))

    assert "Dispatch shipment" in sender
    assert "Dispatch shipment" not in receiver


def test_the_receiver_sees_receive_and_upload_and_the_sender_sees_only_upload(world):
    shipment, _ = dispatched(world)

    receiver = text_of(client_for(world.team.manufacturing_tech).get(detail(shipment)))
    sender = text_of(client_for(world.team.navigator).get(detail(shipment)))

    assert "Receive shipment" in receiver and "Upload readings" in receiver
    assert "Receive shipment" not in sender and "Upload readings" in sender


@pytest.mark.parametrize(
    ("shipper_type", "low", "high", "example"),
    [
        ("ln2_dry_shipper", "-196.0", "-150.0", "2026-01-05T10:00:00+00:00,-189.6"),
        ("controlled_2_8", "2.0", "8.0", "2026-01-05T10:00:00+00:00,5.0"),
    ],
    ids=["LN2 dry shipper", "2-8 C box"],
)
def test_the_upload_example_reads_like_this_shipper_s_logger(
    world, shipper_type, low, high, example
):
    # Given a shipment in transit in a liquid-nitrogen dry shipper (vapour phase) or a 2–8 °C box
    shipment = new_shipment(
        world, shipper_type=shipper_type, range_min_c=Decimal(low), range_max_c=Decimal(high)
    )
    dispatch_shipment(shipment, actor=world.team.navigator, at=minute(timezone.now()))

    # When the receiver opens it / Then the CSV example shows temperatures such a logger records
    page = text_of(client_for(world.team.manufacturing_tech).get(detail(shipment)))
    assert f"recorded_at,temperature_c\n{example}" in page


def test_a_social_worker_sees_the_page_without_any_action(world):
    shipment, _ = dispatched(world)

    html = text_of(client_for(world.team.social_worker).get(detail(shipment)))

    assert "Upload readings" not in html
    assert "Receive shipment" not in html


# --- CSV upload -------------------------------------------------------------------------------


def test_a_good_csv_is_added_and_the_page_says_how_many(world):
    shipment, start = dispatched(world)

    response = client_for(world.team.manufacturing_tech).post(
        f"{detail(shipment)}temperatures/",
        {"file": csv_upload(start, "5.0", "5.1", "5.2")},
        follow=True,
    )

    assert response.status_code == 200
    assert "Added 3 readings from logger-17.csv." in text_of(response)
    assert shipment.readings.count() == 3


def test_a_bad_csv_shows_each_problem_with_its_line_and_saves_nothing(world):
    shipment, start = dispatched(world)
    upload = csv_upload(start, "5.0", "41 F", "warm")
    before = counts()

    response = client_for(world.team.manufacturing_tech).post(
        f"{detail(shipment)}temperatures/", {"file": upload}
    )

    assert response.status_code == 200
    html = text_of(response)
    assert "Nothing was saved from this file." in html
    assert "Line 3, temperature_c: “41 F” is in °F; give °C (values are never converted)." in html
    assert "Line 4, temperature_c: “warm” is not a number." in html
    assert counts() == before


def test_a_csv_repeating_a_logged_time_shows_the_time(world):
    shipment, start = dispatched(world)
    add_temperature_readings(
        shipment, readings=[(start, Decimal("5.0"))], source="api", actor=world.team.navigator
    )

    response = client_for(world.team.navigator).post(
        f"{detail(shipment)}temperatures/", {"file": csv_upload(start, "5.0")}
    )

    assert f"{start.isoformat()} is already in this shipment&#x27;s log" in text_of(response)
    assert TemperatureReading.objects.count() == 1


def test_a_social_worker_may_not_upload(world):
    shipment, start = dispatched(world)

    response = client_for(world.team.social_worker).post(
        f"{detail(shipment)}temperatures/", {"file": csv_upload(start, "5.0")}
    )

    assert response.status_code == 403
    assert TemperatureReading.objects.count() == 0


# --- dispatch and receive ---------------------------------------------------------------------


def test_dispatch_reads_the_time_in_the_centers_time_zone(world):
    shipment = new_shipment(world)
    local = timezone.now().astimezone(NEW_YORK).replace(second=0, microsecond=0)
    local = local - dt.timedelta(hours=1)

    response = client_for(world.team.navigator).post(
        f"{detail(shipment)}dispatch/", {"at": local.strftime("%Y-%m-%dT%H:%M")}
    )

    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.IN_TRANSIT
    assert shipment.dispatched_at == local


def test_dispatch_in_the_future_shows_the_error_and_changes_nothing(world):
    shipment = new_shipment(world)
    later = timezone.now().astimezone(NEW_YORK) + dt.timedelta(days=1)

    response = client_for(world.team.navigator).post(
        f"{detail(shipment)}dispatch/", {"at": later.strftime("%Y-%m-%dT%H:%M")}
    )

    assert response.status_code == 200
    assert "Date and time cannot be in the future." in text_of(response)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PLANNED


def test_receiving_with_an_excursion_says_so_and_alerts_qa(world):
    shipment = logged(world, "5.0", "5.0", "9.0", "9.5", "9.0", "5.0")
    now_local = timezone.now().astimezone(NEW_YORK)

    response = client_for(world.team.manufacturing_tech).post(
        f"{detail(shipment)}receive/",
        {"at": now_local.strftime("%Y-%m-%dT%H:%M"), "max_logging_interval_minutes": "10"},
        follow=True,
    )

    html = text_of(response)
    assert "Received. Temperature excursion flagged and sent to QA." in html
    assert "Excursion on receipt:</strong> 40 minutes outside 2.0 to 8.0 °C." in html
    assert IdentityAlert.objects.filter(shipment=shipment).count() == 1
    assert_no_identity(response)
    # And the page keeps the logger interval given at receipt and the status history
    assert "<dt>Logger interval</dt><dd>10 min " in html
    assert '<ol class="ship-log">' in html
    assert "<li><strong>In transit</strong>" in html
    assert "<li><strong>Received</strong>" in html


def test_the_sender_may_not_receive(world):
    shipment, _ = dispatched(world)
    now_local = timezone.now().astimezone(NEW_YORK)

    response = client_for(world.team.navigator).post(
        f"{detail(shipment)}receive/", {"at": now_local.strftime("%Y-%m-%dT%H:%M")}
    )

    assert response.status_code == 403
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.IN_TRANSIT


def test_receiving_twice_goes_back_with_the_reason(world):
    shipment, _ = dispatched(world)
    receive_shipment(shipment, actor=world.team.manufacturing_tech, at=minute(timezone.now()))
    now_local = timezone.now().astimezone(NEW_YORK)

    response = client_for(world.team.manufacturing_tech).post(
        f"{detail(shipment)}receive/", {"at": now_local.strftime("%Y-%m-%dT%H:%M")}, follow=True
    )

    assert "This shipment was already received." in text_of(response)
    assert IdentityAlert.objects.count() == 1


# --- planning ---------------------------------------------------------------------------------


def plan_data(world: World, **changes: str) -> dict[str, object]:
    data: dict[str, object] = {
        "shipper_item": world.shipper.pk,
        "items": [world.specimen.pk],
        "destination": world.facility.pk,
        "shipper_type": "controlled_2_8",
        "expected_hold_hours": "48",
        "range_min_c": "2.0",
        "range_max_c": "8.0",
    }
    data.update(changes)
    return data


def test_a_navigator_plans_a_shipment(world):
    response = client_for(world.team.navigator).post(f"{LIST}new/", plan_data(world))

    shipment = Shipment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(shipment)
    assert (shipment.origin, shipment.destination, shipment.coi_din) == (
        world.center,
        world.facility,
        world.coi_din,
    )


def test_planning_with_a_bad_range_shows_the_limit_and_saves_nothing(world):
    before = counts()

    response = client_for(world.team.navigator).post(
        f"{LIST}new/", plan_data(world, range_min_c="9.0")
    )

    assert response.status_code == 200
    assert "The range maximum (8.0 °C) must be above the minimum (9.0 °C)." in text_of(response)
    assert counts() == before


def test_the_plan_form_offers_only_visible_items_and_their_other_party(world):
    html = text_of(client_for(world.team.navigator).get(f"{LIST}new/"))

    assert world.shipper.item_id in html
    assert "Northgate Cell Therapy" in html
    assert "Riverside Cancer Center</option>" not in html


def test_a_physician_may_not_plan_a_shipment(world):
    assert client_for(world.team.physician).get(f"{LIST}new/").status_code == 403


# --- in a browser -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_facility_uploads_the_log_sees_the_chart_and_receives_the_excursion(
    live_server: LiveServer, page: Page
) -> None:
    # Given a shipment in transit to the facility, and its technologist signed in
    world = make_world()
    shipment, start = dispatched(world)
    tech = world.team.manufacturing_tech
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, tech)

    # When the technologist uploads the logger's CSV on the shipment page
    page.goto(live_server.url + detail(shipment))
    upload = csv_upload(start, "5.0", "5.0", "9.0", "9.5", "9.0", "5.0")
    page.set_input_files(
        "input[name='file']",
        files=[{"name": "logger-17.csv", "mimeType": "text/csv", "buffer": upload.read()}],
    )
    page.click("button:has-text('Upload readings')")

    # Then the readings are added and the chart is drawn (uPlot's canvas, no CSP error)
    expect(page.locator(".messages")).to_contain_text("Added 6 readings from logger-17.csv.")
    expect(page.locator(".ship-chart canvas")).to_have_count(1)

    # And on receipt the excursion is flagged with 40 minutes outside
    page.click("button:has-text('Receive shipment')")
    expect(page.locator(".ship-headline")).to_contain_text("40 minutes outside 2.0 to 8.0 °C")
    expect(page.locator(".page-actions .ship-flag-excursion")).to_have_text("Excursion")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    for text in IDENTITY:
        assert text not in page.content()
