"""Custody over the API: instruments and courier systems post scans to /api/v1/journeys/scans (its
receipts are tested in tilcare/journey/tests/test_custody_api.py); a mismatch is 409, blocked and
recorded; the chain of custody is read by COI identifier at /api/v1/identity/custody-events,
which takes no scans. A facility's answers never carry the patient's identity."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from django.test import Client
from django.utils import timezone

from tilcare.core.tests.clients import client_for, post_json
from tilcare.identity.choices import AlertSeverity, ItemKind, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item

# Scans are dated NOW, read at import: each test's clock starts there (root conftest).
from tilcare.identity.tests.factories import planned_journey
from tilcare.identity.tests.helpers import custody_counts, refused_as_another_journeys_bag
from tilcare.journey.tests import factories as journey_factories
from tilcare.journey.tests.factories import make_team
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_at_module_now")]

URL = "/api/v1/identity/custody-events"
SCANS = "/api/v1/journeys/scans"
NOW = timezone.now()
IDENTITY = (b"Theodora", b"Lindqvist", b"MRN004512", b"1968-04-12")
LATE_REASON = "Entered from the paper custody form after the network outage"


@pytest.fixture
def journey(team, theodora):
    return planned_journey(theodora, team)


make_item = partial(journey_factories.make_item, now=NOW)


def post(user, body):
    return post_json(client_for(user), SCANS, body)


def scan(journey, text, step="product_to_storage", **extra):
    return {
        "coi": f"{journey.coi_din}{journey.coi_check}",
        "step": step,
        "scanned_text": text,
        **extra,
    }


# ---------- Posting a scan ----------


def test_a_matching_scan_answers_201_with_the_event(team, journey):
    # Given a released bag
    bag = make_item(journey, team)

    # When the pharmacy's system posts the scan as the bag goes into storage
    response = post(team.pharmacist, scan(journey, bag.item_id, location="Pharmacy"))

    # Then it is recorded and answered 201
    assert response.status_code == 201
    body = response.json()["event"]
    event = CustodyEvent.objects.get()
    assert body["public_id"] == str(event.public_id)
    assert (body["result"], body["accepted"], body["item_id"]) == ("match", True, bag.item_id)
    assert body["message"] == f"Matches — {bag.item_id} (product bag 1)."
    assert (body["location"], body["scanned_text"], body["alerts"]) == ("Pharmacy", bag.item_id, [])
    assert body["occurred_at"].endswith("+00:00")


def test_a_bag_of_another_journey_answers_409_blocked_and_recorded(team, journey):
    # Given this journey's bag and another patient's bag
    make_item(journey, team)
    other = make_item(planned_journey(PatientFactory(center=team.center), team), team)

    # When the other bag is posted as this journey's
    response = post(team.nurse, scan(journey, other.item_id))

    # Then the answer is 409 with the recorded event, its result and message
    body = refused_as_another_journeys_bag(response)
    assert body["detail"].startswith("Scan did not match: the step is blocked.")
    alert = IdentityAlert.objects.get(coi_din=journey.coi_din)
    assert alert.severity == AlertSeverity.CRITICAL
    assert str(alert.public_id) in body["event"]["alerts"]


@pytest.mark.parametrize(
    ("fields", "result", "severity"),
    [
        ({"released_at": None}, ScanResult.NOT_RELEASED, AlertSeverity.CRITICAL),
        ({"expires_at": NOW - dt.timedelta(hours=2)}, ScanResult.EXPIRED, AlertSeverity.CRITICAL),
    ],
)
def test_an_unreleased_or_expired_product_answers_409(team, journey, fields, result, severity):
    bag = make_item(journey, team, **fields)

    response = post(team.pharmacist, scan(journey, bag.item_id))

    assert response.status_code == 409
    assert response.json()["result"] == result
    assert IdentityAlert.objects.get().severity == severity


def test_a_wrong_check_character_in_the_scan_answers_409(team, journey):
    bag = make_item(journey, team)
    wrong = "Z" if journey.coi_check != "Z" else "Y"

    response = post(team.pharmacist, scan(journey, f"{bag.item_id}|{journey.coi_din}{wrong}"))

    assert response.status_code == 409
    assert response.json()["result"] == ScanResult.WRONG_CHECK_CHARACTER
    assert f"expected “{journey.coi_check}”" in response.json()["message"]


def test_a_wrong_check_character_in_the_coi_field_is_refused_naming_the_field(team, journey):
    bag = make_item(journey, team)
    wrong = "Z" if journey.coi_check != "Z" else "Y"
    before = custody_counts()

    response = post(
        team.pharmacist, {**scan(journey, bag.item_id), "coi": f"{journey.coi_din}{wrong}"}
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["coi"]
    assert f"expected “{journey.coi_check}”" in response.json()["errors"]["coi"][0]
    assert custody_counts() == before


def test_an_empty_scan_and_unknown_fields_are_refused(team, journey):
    make_item(journey, team)

    empty = post(team.nurse, scan(journey, "   "))
    extra = post(team.nurse, {**scan(journey, "x"), "patient_name": "x"})

    assert empty.status_code == 422
    assert empty.json()["errors"] == {"scanned_text": ["Scan or type the label: nothing was read."]}
    assert extra.status_code == 422
    assert "patient_name" in extra.json()["errors"]
    assert CustodyEvent.objects.count() == 0


@pytest.mark.parametrize(
    "occurred_at",
    [(NOW + dt.timedelta(hours=1)).isoformat(), "2026-01-05T10:00:00"],
)
def test_a_future_or_naive_scan_time_is_refused(team, journey, occurred_at):
    bag = make_item(journey, team)

    response = post(team.nurse, scan(journey, bag.item_id, occurred_at=occurred_at))

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["occurred_at"]
    assert CustodyEvent.objects.count() == 0


def test_a_given_scan_time_is_kept(team, journey):
    bag = make_item(journey, team)
    Item.objects.filter(pk=bag.pk).update(created_at=NOW - dt.timedelta(hours=2))
    at = (NOW - dt.timedelta(minutes=30)).replace(microsecond=0)

    response = post(
        team.nurse,
        scan(journey, bag.item_id, occurred_at=at.isoformat(), late_entry_reason=LATE_REASON),
    )

    assert response.status_code == 201
    assert CustodyEvent.objects.get().occurred_at == at


def test_a_role_without_the_custody_permission_is_refused_and_nothing_is_written(team, journey):
    bag = make_item(journey, team)
    before = custody_counts()

    response = post(team.social_worker, scan(journey, bag.item_id))

    assert response.status_code == 403
    assert custody_counts() == before


def test_another_centers_staff_get_404_and_nothing_is_written(team, journey):
    bag = make_item(journey, team)
    stranger = make_team(CenterFactory(), FacilityFactory()).pharmacist
    before = custody_counts()

    response = post(stranger, scan(journey, bag.item_id))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert custody_counts() == before


def test_scans_are_not_posted_here(team, journey):
    # Given an item a scan would name
    item = make_item(journey, team)
    before = custody_counts()

    # When a scan is posted to the chain of custody, which only reads
    response = post_json(client_for(team.pharmacist), URL, scan(journey, item.item_id))

    # Then the method is not allowed, as for any method a path does not serve, and nothing is
    # written
    assert response.status_code == 405
    assert client_for(team.pharmacist).put(SCANS).status_code == 405
    assert custody_counts() == before


def test_the_facility_posts_a_handoff_and_sees_no_identity(team, journey):
    specimen = make_item(journey, team, ItemKind.TUMOR_SPECIMEN)

    response = post(team.manufacturing_tech, scan(journey, specimen.item_id, step="handoff"))

    assert response.status_code == 201
    for secret in IDENTITY:
        assert secret not in response.content


# ---------- Reading the chain of custody ----------


def test_the_chain_of_custody_is_listed_oldest_first(team, journey):
    bag = make_item(journey, team)
    post(team.pharmacist, scan(journey, "not a label"))
    post(team.pharmacist, scan(journey, bag.item_id))

    response = client_for(team.navigator).get(URL, {"coi": f"{journey.coi_din}{journey.coi_check}"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [e["result"] for e in body["items"]] == ["unknown_item", "match"]
    assert body["items"][0]["scanned_text"] == "not a label"


def test_the_facility_reads_the_chain_without_what_the_center_typed(team, journey):
    # Given a center scan where someone typed the patient's name into the scan field
    make_item(journey, team)
    post(team.pharmacist, scan(journey, "Theodora Lindqvist", location="Ward 7, MRN004512"))

    # When the facility reads the chain of custody
    response = client_for(team.qa_reviewer).get(
        URL, {"coi": f"{journey.coi_din}{journey.coi_check}"}
    )

    # Then it sees the event and its result, and none of the typed text
    assert response.status_code == 200
    event = response.json()["items"][0]
    assert event["result"] == ScanResult.UNKNOWN_ITEM
    assert (event["scanned_text"], event["location"]) == (None, None)
    for secret in IDENTITY:
        assert secret not in response.content


def test_a_coi_outside_the_users_organizations_lists_nothing(team, journey):
    make_item(journey, team)
    post(team.pharmacist, scan(journey, "x"))
    stranger = make_team(CenterFactory(), FacilityFactory()).navigator

    response = client_for(stranger).get(URL, {"coi": f"{journey.coi_din}{journey.coi_check}"})

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_listing_needs_a_valid_coi(team, journey):
    missing = client_for(team.navigator).get(URL)
    wrong = client_for(team.navigator).get(URL, {"coi": "W12342600000"})

    assert missing.status_code == 422
    assert list(missing.json()["errors"]) == ["coi"]
    assert wrong.status_code == 422
    assert list(wrong.json()["errors"]) == ["coi"]


def test_the_api_needs_authentication(journey):
    response = Client().get(URL, {"coi": f"{journey.coi_din}{journey.coi_check}"})

    assert response.status_code == 401
