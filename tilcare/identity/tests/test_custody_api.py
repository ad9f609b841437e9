"""The custody events API: instruments and courier systems post scans; a mismatch is 409,
blocked and recorded; the chain of custody is read by COI identifier. A facility's answers
never carry the patient's identity. The two receipts settle a journey stage and are refused here:
they are posted to /api/v1/journeys/scans (tested in tilcare/journey/tests/test_custody_api.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for, row_counts
from tilcare.identity.choices import ITEM_CODES, AlertSeverity, ItemKind, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item
from tilcare.journey import services as journey_services
from tilcare.journey.tests.factories import make_team, open_journey_for
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, PatientFactory

# Scans are dated NOW, read at import: each test's clock starts there (root conftest).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_at_module_now")]

URL = "/api/v1/identity/custody-events"
NOW = timezone.now()
IDENTITY = (b"Theodora", b"Lindqvist", b"MRN004512", b"1968-04-12")
LATE_REASON = "Entered from the paper custody form after the network outage"


def _journey(team, **patient):
    journey = open_journey_for(PatientFactory(center=team.center, **patient), team.navigator)
    return journey_services.plan_journey(
        journey, actor=team.navigator, changes={"manufacturing_facility": team.facility}
    )


@pytest.fixture
def journey(team):
    return _journey(
        team,
        given_name="Theodora",
        family_name="Lindqvist",
        mrn="MRN004512",
        date_of_birth=dt.date(1968, 4, 12),
    )


def make_item(journey, team, kind=ItemKind.PRODUCT_BAG, number=1, **fields):
    values = {
        "released_at": NOW - dt.timedelta(days=1),
        "expires_at": NOW + dt.timedelta(days=30),
    }
    values.update(fields)
    return Item.objects.create(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        kind=kind,
        number=number,
        item_id=f"{journey.coi_din}-{ITEM_CODES[kind]}{number:02d}",
        center=journey.center,
        facility=team.facility,
        description=f"{kind} {number}",
        created_by=team.navigator,
        **values,
    )


def post(user, body):
    return client_for(user).post(URL, data=json.dumps(body), content_type="application/json")


def scan(journey, text, step="product_to_storage", **extra):
    return {
        "coi": f"{journey.coi_din}{journey.coi_check}",
        "step": step,
        "scanned_text": text,
        **extra,
    }


def counts() -> tuple[int, ...]:
    return row_counts(CustodyEvent, IdentityAlert, AuditEvent)


# ---------- Posting a scan ----------


def test_a_matching_scan_answers_201_with_the_event(team, journey):
    # Given a released bag
    bag = make_item(journey, team)

    # When the pharmacy's system posts the scan as the bag goes into storage
    response = post(team.pharmacist, scan(journey, bag.item_id, location="Pharmacy"))

    # Then it is recorded and answered 201
    assert response.status_code == 201
    body = response.json()
    event = CustodyEvent.objects.get()
    assert body["public_id"] == str(event.public_id)
    assert (body["result"], body["accepted"], body["item_id"]) == ("match", True, bag.item_id)
    assert body["message"] == f"Matches — {bag.item_id} (product bag 1)."
    assert (body["location"], body["scanned_text"], body["alerts"]) == ("Pharmacy", bag.item_id, [])
    assert body["occurred_at"].endswith("+00:00")


def test_a_bag_of_another_journey_answers_409_blocked_and_recorded(team, journey):
    # Given this journey's bag and another patient's bag
    make_item(journey, team)
    other = make_item(_journey(team), team)

    # When the other bag is posted as this journey's
    response = post(team.nurse, scan(journey, other.item_id))

    # Then the answer is 409 with the recorded event, its result and message
    assert response.status_code == 409
    body = response.json()
    event = CustodyEvent.objects.get()
    assert body["event_id"] == str(event.public_id)
    assert body["result"] == ScanResult.OTHER_JOURNEY
    assert body["message"] == event.message
    assert body["message"].startswith("This product bag belongs to another patient's journey")
    assert "Set the item aside" in body["next_step"]
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
    before = counts()

    response = post(
        team.pharmacist, {**scan(journey, bag.item_id), "coi": f"{journey.coi_din}{wrong}"}
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["coi"]
    assert f"expected “{journey.coi_check}”" in response.json()["errors"]["coi"][0]
    assert counts() == before


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
    before = counts()

    response = post(team.social_worker, scan(journey, bag.item_id))

    assert response.status_code == 403
    assert counts() == before


def test_another_centers_staff_get_404_and_nothing_is_written(team, journey):
    bag = make_item(journey, team)
    stranger = make_team(CenterFactory(), FacilityFactory()).pharmacist
    before = counts()

    response = post(stranger, scan(journey, bag.item_id))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert counts() == before


@pytest.mark.parametrize(
    ("who", "step", "item_kind"),
    [
        ("manufacturing_tech", "tissue_received", ItemKind.TUMOR_SPECIMEN),
        ("pharmacist", "product_received", ItemKind.PRODUCT_BAG),
    ],
)
def test_the_receipts_are_refused_here_and_sent_to_the_journey_scans(
    team, journey, who, step, item_kind
):
    # Given the item a receipt would scan
    item = make_item(journey, team, item_kind)
    before = counts()

    # When a receipt is posted here
    response = post(getattr(team, who), scan(journey, item.item_id, step=step))

    # Then it is refused on the step, pointing to the journey's endpoint, and nothing is written
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "step": [
            f"“{step}” settles the journey's stage: post it to /api/v1/journeys/scans, "
            "which also records the milestone."
        ]
    }
    assert counts() == before


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
