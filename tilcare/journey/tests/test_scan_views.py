"""The scan page and the chain-of-custody card of the journey page (without a browser)."""

from __future__ import annotations

from functools import partial

import pytest
from django.urls import reverse
from django.utils import timezone

from tilcare.identity.choices import ItemKind, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert
from tilcare.journey.choices import MilestoneKind, Stage
from tilcare.journey.guards import current_milestone
from tilcare.journey.models import Journey
from tilcare.journey.tests import factories
from tilcare.journey.tests.factories import make_team, open_journey_for, prepare_for, walk_to
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, PatientFactory

# Scans are dated NOW, read at import: each test's clock starts there (root conftest).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_at_module_now")]

SCAN = "/scan/"
RECORD = "/scan/record/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "scan-result"}
SECRETS = ("Theodora", "Lindqvist", "MRN004512", "1968")
NOW = timezone.now()


@pytest.fixture
def journey(product_released):
    """Product released: the bag is on its way to the center."""
    return product_released


make_item = partial(factories.make_item, now=NOW)


def coi_of(journey):
    return f"{journey.coi_din}{journey.coi_check}"


def session(journey, step="product_received", **extra):
    return {"step": step, "coi": coi_of(journey), "location": "Cell-therapy pharmacy", **extra}


def _body(response) -> str:
    return response.content.decode()


def _stage(journey):
    return Journey.objects.get(pk=journey.pk).stage


# ---------- Starting ----------


def test_the_start_form_offers_the_centers_steps(team, client):
    client.force_login(team.nurse)

    body = _body(client.get(SCAN))

    assert 'value="product_received"' in body
    assert 'value="product_to_bedside"' in body
    assert 'value="tissue_received"' not in body


def test_the_start_form_offers_the_facilitys_steps(team, client):
    client.force_login(team.manufacturing_tech)

    body = _body(client.get(SCAN))

    assert 'value="tissue_received"' in body
    assert 'value="product_received"' not in body


@pytest.mark.parametrize("role", ["physician", "social_worker", "financial_coordinator"])
def test_roles_that_do_not_scan_are_refused(team, client, role):
    client.force_login(team.by_role(role))

    assert client.get(SCAN).status_code == 403


def test_a_coi_with_a_wrong_check_character_is_refused_naming_the_expected_one(
    team, journey, client
):
    client.force_login(team.nurse)
    wrong = "Z" if journey.coi_check != "Z" else "Y"

    body = _body(client.get(SCAN, {**session(journey), "coi": f"{journey.coi_din}{wrong}"}))

    assert f"expected “{journey.coi_check}”" in body
    assert "data-scan-input" not in body


def test_a_journey_the_user_cannot_see_is_not_found(journey, client):
    client.force_login(make_team(CenterFactory(), FacilityFactory()).nurse)

    body = _body(client.get(SCAN, session(journey)))

    assert "No journey you can see has the COI identifier" in body
    for secret in SECRETS:
        assert secret not in body


def test_coming_from_the_journey_page_fills_in_the_coi(team, journey, client):
    client.force_login(team.nurse)

    body = _body(client.get(SCAN, {"coi": coi_of(journey)}))

    assert f'value="{coi_of(journey)}"' in body
    assert "form-errors" not in body


def test_the_scanning_panel_shows_the_journey_the_patient_and_a_large_focused_input(
    team, journey, client
):
    client.force_login(team.nurse)

    body = _body(client.get(SCAN, session(journey)))

    assert journey.coi_spaced in body
    assert "Lindqvist, Theodora" in body
    assert "MRN004512" in body
    assert 'class="scan-input"' in body
    assert "data-scan-input" in body
    assert "autofocus" in body
    assert "js/scan.js" in body
    assert 'hx-target="#scan-result"' in body


def test_the_facility_scanning_panel_shows_the_coi_only(team, journey, client):
    client.force_login(team.manufacturing_tech)

    body = _body(client.get(SCAN, session(journey, step="tissue_received")))

    assert journey.coi_spaced in body
    assert "data-scan-input" in body
    for secret in SECRETS:
        assert secret not in body


# ---------- Scanning ----------


def test_a_matching_bag_shows_the_green_panel_and_settles_the_receipt(team, journey, client):
    bag = make_item(journey, team)
    client.force_login(team.navigator)

    response = client.post(RECORD, {**session(journey), "scanned_text": bag.item_id}, **HTMX)

    body = _body(response)
    assert response.status_code == 200
    assert "scan-panel-match" in body
    assert f"Matches — {bag.item_id} (product bag 1)." in body
    assert "Journey moved to “Product at center”." in body
    assert _stage(journey) == Stage.PRODUCT_AT_CENTER
    assert "<html" not in body  # only the result panel is swapped


def test_a_bag_of_another_journey_shows_the_red_block_and_is_recorded(team, journey, client):
    other = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator),
        Stage.PRODUCT_RELEASED,
        users=team,
    )
    make_item(journey, team)
    stray = make_item(other, team)
    client.force_login(team.nurse)

    response = client.post(RECORD, {**session(journey), "scanned_text": stray.item_id}, **HTMX)

    body = _body(response)
    assert response.status_code == 200
    assert "scan-panel-stop" in body
    assert "Stop — Belongs to another patient&#x27;s journey" in body
    assert "Set the item aside" in body
    assert "with a critical alert for this journey" in body
    assert CustodyEvent.objects.get().result == ScanResult.OTHER_JOURNEY
    assert IdentityAlert.objects.filter(coi_din=journey.coi_din).count() == 1
    assert _stage(journey) == Stage.PRODUCT_RELEASED
    assert (
        current_milestone(Journey.objects.get(pk=journey.pk), MilestoneKind.PRODUCT_RECEIVED)
        is None
    )


def test_without_htmx_the_whole_page_comes_back_with_the_answer(team, journey, client):
    make_item(journey, team, released_at=None)
    client.force_login(team.pharmacist)

    response = client.post(RECORD, {**session(journey), "scanned_text": f"{journey.coi_din}-BG01"})

    body = _body(response)
    assert response.status_code == 200
    assert "<html" in body
    assert "Stop — Product not released" in body


def test_an_empty_scan_records_nothing(team, journey, client):
    make_item(journey, team)
    client.force_login(team.nurse)

    response = client.post(RECORD, {**session(journey), "scanned_text": ""}, **HTMX)

    assert "Not checked" in _body(response)
    assert "Scan or type the label: nothing was read." in _body(response)
    assert CustodyEvent.objects.count() == 0


def test_the_facility_scan_page_answer_has_no_identity(team, journey, client):
    make_item(journey, team, ItemKind.TUMOR_SPECIMEN)
    client.force_login(team.manufacturing_tech)

    response = client.post(
        RECORD, {**session(journey, step="tissue_received"), "scanned_text": "junk"}, **HTMX
    )

    body = _body(response)
    assert "scan-panel-stop" in body
    for secret in SECRETS:
        assert secret not in body


def test_a_role_that_does_not_scan_is_refused_and_nothing_is_written(team, journey, client):
    bag = make_item(journey, team)
    client.force_login(team.physician)

    response = client.post(RECORD, {**session(journey), "scanned_text": bag.item_id})

    assert response.status_code == 403
    assert CustodyEvent.objects.count() == 0


def test_a_posted_coi_of_a_journey_the_user_cannot_see_records_nothing(team, journey, client):
    make_item(journey, team)
    client.force_login(make_team(CenterFactory(), FacilityFactory()).nurse)

    response = client.post(RECORD, {**session(journey), "scanned_text": "x"})

    assert "No journey you can see has the COI identifier" in _body(response)
    assert CustodyEvent.objects.count() == 0


def test_journey_by_coi_goes_to_the_chain_of_custody(team, journey, client):
    client.force_login(team.qa_reviewer)

    response = client.get(reverse("journey:journey-by-coi", kwargs={"din": journey.coi_din}))

    assert response.status_code == 302
    assert response["Location"].endswith(f"/journeys/{journey.public_id}/#custody")
    client.force_login(make_team().navigator)
    assert client.get(f"/journeys/coi/{journey.coi_din}/").status_code == 404


# ---------- The journey page ----------


def _detail(journey):
    return reverse("journey:journey-detail", kwargs={"public_id": journey.public_id})


def _scan_into(journey, team, client, user, text, step="product_received"):
    client.force_login(user)
    client.post(RECORD, {**session(journey, step=step), "scanned_text": text})


def test_the_journey_page_shows_the_chain_of_custody_and_open_alerts(team, journey, client):
    bag = make_item(journey, team)
    _scan_into(journey, team, client, team.pharmacist, "4006381333931")
    _scan_into(journey, team, client, team.pharmacist, bag.item_id)
    client.force_login(team.navigator)

    body = _body(client.get(_detail(journey)))

    assert 'id="custody"' in body
    assert "Chain of custody" in body
    assert body.count('class="id-alert id-alert-') == 1
    assert (
        reverse(
            "identity:alert-acknowledge",
            kwargs={"public_id": IdentityAlert.objects.get().public_id},
        )
        in body
    )
    assert "Stop: Not a known item" in body
    assert bag.item_id in body
    assert ">Matches<" in body
    assert "Cell-therapy pharmacy" in body


def test_a_nurse_sees_the_alert_without_the_acknowledge_form_and_may_scan(team, journey, client):
    make_item(journey, team)
    _scan_into(journey, team, client, team.nurse, "junk")

    body = _body(client.get(_detail(journey)))

    assert body.count('class="id-alert id-alert-') == 1
    assert 'name="note"' not in body
    assert f'href="/scan/?coi={coi_of(journey)}"' in body


def test_the_facility_journey_page_shows_custody_without_identity_or_center_text(
    team, journey, client
):
    # Given a center scan where the patient's name was typed into the scan field
    make_item(journey, team)
    _scan_into(journey, team, client, team.nurse, "Theodora Lindqvist")
    client.force_login(team.qa_reviewer)

    # When the facility's QA reviewer opens the journey
    body = _body(client.get(_detail(journey)))

    # Then the chain of custody and the alert are there, without anything naming the patient
    assert 'id="custody"' in body
    assert body.count('class="id-alert id-alert-') == 1
    assert "Unregistered label" in body
    for secret in SECRETS:
        assert secret not in body


def test_the_facility_receipt_scan_from_the_page_records_tissue_received(team, patient, client):
    journey = walk_to(open_journey_for(patient, team.navigator), Stage.TISSUE_PROCURED, users=team)
    journey = prepare_for(
        journey, Stage.AT_MANUFACTURING, users=team, skip=frozenset({"tissue_received"})
    )
    specimen = make_item(journey, team, ItemKind.TUMOR_SPECIMEN)
    client.force_login(team.manufacturing_tech)

    response = client.post(
        RECORD,
        {**session(journey, step="tissue_received"), "scanned_text": specimen.item_id},
        **HTMX,
    )

    body = _body(response)
    assert "Recorded: Tissue received at the manufacturing facility." in body
    assert "until the center&#x27;s nurse navigator / coordinator moves it" in body
    assert current_milestone(Journey.objects.get(pk=journey.pk), MilestoneKind.TISSUE_RECEIVED)
