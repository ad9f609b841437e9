"""The journey scans API: a courier's, lab's or pharmacy's system posts a custody scan and, for a
receipt, the journey's stage is settled as on the scan page (milestone, batch record, move).

A mismatch is 409, blocked and recorded with its alert; bad input is 422 naming the field with
nothing written; those who do not record custody get 403, a journey out of sight 404. A facility's
answers never carry the patient's identity.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from tilcare.accounts.api_auth import NOT_FOR_THIS_ACCOUNT
from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for, row_counts
from tilcare.identity.choices import AlertSeverity, HandoffStep, ScanResult
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item
from tilcare.identity.tests.helpers import refused_as_another_journeys_bag
from tilcare.journey import services
from tilcare.journey.choices import MilestoneKind, Stage
from tilcare.journey.guards import current_milestone
from tilcare.journey.models import Journey, Milestone
from tilcare.journey.services import release
from tilcare.journey.tests.factories import make_team, open_journey_for, theodora_at, walk_to
from tilcare.journey.tests.test_custody import make_item
from tilcare.manufacturing.choices import Disposition
from tilcare.manufacturing.models import Batch
from tilcare.manufacturing.tests.batch_factories import (
    batch_team,
    specimen_of,
    tissue_on_its_way,
)
from tilcare.manufacturing.tests.test_release_services import (
    Scene,
    bag_items,
    expiry,
    fresh,
    make_scene,
    ready_for_disposition,
)
from tilcare.patients.tests.factories import (
    TEST_PASSWORD,
    CenterFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)

# Scans are dated NOW, read at import: each test's clock starts there (root conftest).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_at_module_now")]

URL = "/api/v1/journeys/scans"
NOW = timezone.now()
IDENTITY = (b"Theodora", b"Lindqvist", b"MRN004512", b"1968-04-12")
TISSUE_RECORDED = "Recorded: Tissue received at the manufacturing facility."
NAVIGATOR_MOVES_TO_MANUFACTURING = (
    "The journey stays in “Tissue procured” until the center's nurse navigator / coordinator "
    "moves it to “At manufacturing”."
)


def post(user, body):
    return client_for(user).post(URL, data=json.dumps(body), content_type="application/json")


def scan(journey, text, step, **extra):
    return {
        "coi": f"{journey.coi_din}{journey.coi_check}",
        "step": step,
        "scanned_text": text,
        **extra,
    }


def counts() -> tuple[int, ...]:
    return row_counts(CustodyEvent, IdentityAlert, Milestone, Batch, AuditEvent)


def fresh_journey(journey) -> Journey:
    return Journey.objects.select_related("center", "manufacturing_facility").get(pk=journey.pk)


@pytest.fixture
def team():
    return batch_team()


@pytest.fixture
def tissue_journey(team):
    """A journey whose tumor specimen is on its way to the facility (everything else for "At
    manufacturing" in place), of a patient whose identity the facility must never see."""
    return tissue_on_its_way(team, patient=theodora_at(team.center))


@pytest.fixture
def product_released(team):
    """A journey in "Product released" with one released bag of its attempt."""
    journey = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator),
        Stage.PRODUCT_RELEASED,
        users=team,
    )
    make_item(journey, team)
    return fresh_journey(journey)


# ---------- Tissue received at the facility ----------


def test_the_facility_posts_the_tissue_receipt_which_records_the_milestone_and_opens_the_batch(
    team, tissue_journey
):
    # Given the journey's tumor specimen container, on its way to the facility
    specimen = specimen_of(tissue_journey, team)

    # When the facility's technologist's system posts its receipt scan
    response = post(
        team.manufacturing_tech,
        scan(tissue_journey, specimen.item_id, "tissue_received", location="Receiving bench 2"),
    )

    # Then the scan matches and the receipt is recorded as the technologist's
    assert response.status_code == 201
    body = response.json()
    event = CustodyEvent.objects.get()
    assert body["event"]["public_id"] == str(event.public_id)
    assert (body["event"]["step"], body["event"]["result"], body["event"]["item_id"]) == (
        "tissue_received",
        "match",
        specimen.item_id,
    )
    assert (event.from_party, event.to_party, event.location) == (
        "Courier",
        "Northgate Cell Therapy",
        "Receiving bench 2",
    )
    milestone = current_milestone(fresh_journey(tissue_journey), MilestoneKind.TISSUE_RECEIVED)
    assert milestone.recorded_by == team.manufacturing_tech
    assert milestone.reference == specimen.item_id
    assert body["milestone"] == MilestoneKind.TISSUE_RECEIVED == "tissue_received"
    # And the facility's batch record of the attempt is opened
    batch = Batch.objects.get(coi_din=tissue_journey.coi_din)
    assert (batch.manufacture_attempt, batch.facility) == (1, team.facility)
    assert body["batch"] == str(batch.public_id)
    # And the journey waits for the navigator to move it
    assert (body["advanced_to"], body["outstanding"]) == ("", [])
    assert body["notes"] == [TISSUE_RECORDED, NAVIGATOR_MOVES_TO_MANUFACTURING]
    assert fresh_journey(tissue_journey).stage == Stage.TISSUE_PROCURED


def test_the_facility_receipt_answer_carries_no_patient_identity(team, tissue_journey):
    specimen = specimen_of(tissue_journey, team)

    response = post(
        team.manufacturing_tech, scan(tissue_journey, specimen.item_id, "tissue_received")
    )

    assert response.status_code == 201
    for secret in IDENTITY:
        assert secret not in response.content


def test_the_facility_mismatch_answer_carries_no_identity(team, tissue_journey):
    specimen_of(tissue_journey, team)

    response = post(team.manufacturing_tech, scan(tissue_journey, "Lindqvist", "tissue_received"))

    assert response.status_code == 409
    assert response.json()["result"] == ScanResult.UNKNOWN_ITEM
    # What the technologist typed is theirs to see; nothing else names the patient.
    assert response.json()["event"]["scanned_text"] == "Lindqvist"
    for secret in (b"Theodora", b"MRN004512", b"1968-04-12"):
        assert secret not in response.content
    assert Milestone.objects.filter(kind=MilestoneKind.TISSUE_RECEIVED).count() == 0
    assert Batch.objects.count() == 0


def test_a_given_scan_time_is_the_receipts_time(team, tissue_journey):
    specimen = specimen_of(tissue_journey, team)
    Item.objects.filter(pk=specimen.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    at = (timezone.now() - dt.timedelta(minutes=30)).replace(microsecond=0)

    response = post(
        team.manufacturing_tech,
        scan(
            tissue_journey,
            specimen.item_id,
            "tissue_received",
            occurred_at=at.isoformat(),
            late_entry_reason="Entered from the receiving log after the network outage",
        ),
    )

    assert response.status_code == 201
    assert CustodyEvent.objects.get().occurred_at == at
    assert Milestone.objects.get(kind=MilestoneKind.TISSUE_RECEIVED).occurred_at == at


# ---------- Product received at the center ----------


@pytest.fixture
def released_scene() -> Scene:
    """A batch released by the facility's QA into two labelled bags, and its journey moved by
    the navigator to "Product released"."""
    scene = make_scene()
    ready_for_disposition(scene)
    release.dispose_batch(
        fresh(scene.batch),
        decision=Disposition.RELEASE,
        password=TEST_PASSWORD,
        actor=scene.team.qa_reviewer,
        expires_at=expiry(),
    )
    services.advance(
        Journey.objects.get(pk=scene.journey.pk), Stage.PRODUCT_RELEASED, actor=scene.team.navigator
    )
    return scene


def test_the_pharmacist_posts_each_released_bag_and_the_last_records_product_received(
    released_scene,
):
    # Given the two released bags of the batch
    first, second = bag_items(released_scene.batch)
    pharmacist = released_scene.team.pharmacist
    journey = released_scene.journey

    # When the pharmacy's system posts the first bag's receipt
    response = post(pharmacist, scan(journey, first.item_id, "product_received"))

    # Then it matches and the receipt waits for the second bag
    assert response.status_code == 201
    body = response.json()
    assert (body["milestone"], body["advanced_to"], body["batch"]) == (None, "", None)
    assert body["outstanding"] == [second.item_id]
    assert body["notes"] == [
        f"Still to receive before “Product received at the center” is recorded: {second.item_id}."
    ]

    # When the second bag's receipt is posted
    response = post(pharmacist, scan(journey, second.item_id, "product_received"))

    # Then "Product received at the center" is recorded as the pharmacist's
    assert response.status_code == 201
    body = response.json()
    assert body["milestone"] == MilestoneKind.PRODUCT_RECEIVED == "product_received"
    milestone = current_milestone(fresh_journey(journey), MilestoneKind.PRODUCT_RECEIVED)
    assert milestone.recorded_by == pharmacist
    assert milestone.reference == second.item_id
    assert (body["outstanding"], body["batch"], body["advanced_to"]) == ([], None, "")
    # And the journey waits for the navigator, as the answer says
    assert body["notes"] == [
        "Recorded: Product received at the center.",
        "The journey stays in “Product released” until the center's nurse navigator / "
        "coordinator moves it to “Product at center”.",
    ]
    assert fresh_journey(journey).stage == Stage.PRODUCT_RELEASED
    assert [e.to_party for e in CustodyEvent.objects.order_by("id")] == [
        "Riverside Cancer Center",
        "Riverside Cancer Center",
    ]


def test_the_navigators_receipt_moves_the_journey_to_product_at_center(team, product_released):
    bag = Item.objects.get(coi_din=product_released.coi_din)

    response = post(team.navigator, scan(product_released, bag.item_id, "product_received"))

    assert response.status_code == 201
    assert response.json()["advanced_to"] == Stage.PRODUCT_AT_CENTER == "product_at_center"
    assert response.json()["notes"][-1] == "Journey moved to “Product at center”."
    assert fresh_journey(product_released).stage == Stage.PRODUCT_AT_CENTER


def test_another_journeys_bag_answers_409_alerts_and_records_no_milestone(team, product_released):
    # Given a bag of another patient's journey
    other = open_journey_for(PatientFactory(center=team.center), team.navigator)
    stray = make_item(other, team)
    milestones = Milestone.objects.count()

    # When the pharmacy posts it as this journey's receipt
    response = post(team.pharmacist, scan(product_released, stray.item_id, "product_received"))

    # Then the answer is 409 with the recorded event, its result and message
    body = refused_as_another_journeys_bag(response)
    assert body["detail"] == (
        "Scan did not match: the step is blocked. The scan and its alert are recorded."
    )
    # And a critical alert is raised on each journey, both named in the event
    alert = IdentityAlert.objects.get(coi_din=product_released.coi_din)
    stray_alert = IdentityAlert.objects.get(coi_din=other.coi_din)
    assert (alert.severity, stray_alert.severity) == (AlertSeverity.CRITICAL,) * 2
    assert sorted(body["event"]["alerts"]) == sorted(
        [str(alert.public_id), str(stray_alert.public_id)]
    )
    # And nothing is received: no milestone, no move
    assert Milestone.objects.count() == milestones
    assert fresh_journey(product_released).stage == Stage.PRODUCT_RELEASED


def test_other_handoffs_record_the_event_with_its_parties_only(team, product_released):
    bag = Item.objects.get(coi_din=product_released.coi_din)
    milestones = Milestone.objects.count()

    response = post(
        team.pharmacist,
        scan(
            product_released,
            bag.item_id,
            "product_to_storage",
            to_party="Cryostorage freezer 2",
            expected_item_id=bag.item_id,
        ),
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["milestone"], body["advanced_to"], body["notes"], body["outstanding"]) == (
        None,
        "",
        [],
        [],
    )
    assert body["event"]["to_party"] == "Cryostorage freezer 2"
    assert body["event"]["expected_item_id"] == bag.item_id
    assert Milestone.objects.count() == milestones


# ---------- Refused input: nothing written ----------


def test_a_wrong_check_character_in_the_coi_is_refused_naming_the_field(team, product_released):
    bag = Item.objects.get(coi_din=product_released.coi_din)
    wrong = "Z" if product_released.coi_check != "Z" else "Y"
    before = counts()

    response = post(
        team.pharmacist,
        {
            **scan(product_released, bag.item_id, "product_received"),
            "coi": f"{product_released.coi_din}{wrong}",
        },
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["coi"]
    assert f"expected “{product_released.coi_check}”" in response.json()["errors"]["coi"][0]
    assert counts() == before


@pytest.mark.parametrize(
    ("occurred_at", "message"),
    [
        ((NOW + dt.timedelta(hours=1)).isoformat(), "The scan time cannot be in the future."),
        ("2026-01-05T10:00:00", "Give the date and time with its UTC offset"),
    ],
    ids=["future", "naive"],
)
def test_a_future_or_naive_scan_time_is_refused(team, product_released, occurred_at, message):
    bag = Item.objects.get(coi_din=product_released.coi_din)
    before = counts()

    response = post(
        team.pharmacist,
        scan(product_released, bag.item_id, "product_received", occurred_at=occurred_at),
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["occurred_at"]
    assert response.json()["errors"]["occurred_at"][0].startswith(message)
    assert counts() == before


def test_an_unknown_step_is_refused(team, product_released):
    bag = Item.objects.get(coi_din=product_released.coi_din)
    before = counts()

    response = post(team.pharmacist, scan(product_released, bag.item_id, "teleported"))

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["step"]
    assert counts() == before


def test_a_step_the_callers_organization_does_not_record_is_refused(team, tissue_journey):
    specimen = specimen_of(tissue_journey, team)
    before = counts()

    response = post(team.navigator, scan(tissue_journey, specimen.item_id, "tissue_received"))

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "step": [
            f"“{HandoffStep.TISSUE_RECEIVED.label}” is not a step your organization records; "
            "choose one of: specimen_collected, specimen_dispatched, product_received, "
            "product_to_storage, product_to_bedside, handoff."
        ]
    }
    assert counts() == before


def test_a_receipt_refuses_parties_and_an_expected_item_it_sets_itself(team, product_released):
    bag = Item.objects.get(coi_din=product_released.coi_din)
    before = counts()

    response = post(
        team.pharmacist,
        scan(
            product_released,
            bag.item_id,
            "product_received",
            from_party="Courier X",
            expected_item_id=bag.item_id,
        ),
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "from_party": [
            "A receipt is recorded from the courier to the receiving organization: "
            "leave from_party empty."
        ],
        "expected_item_id": [
            "A receipt waits for every item of the manufacture attempt: "
            "leave expected_item_id empty."
        ],
    }
    assert counts() == before


def test_an_empty_scan_and_unknown_fields_are_refused(team, product_released):
    before = counts()

    empty = post(team.pharmacist, scan(product_released, "   ", "product_received"))
    extra = post(
        team.pharmacist, {**scan(product_released, "x", "product_received"), "patient_name": "x"}
    )

    assert empty.status_code == 422
    assert empty.json()["errors"] == {"scanned_text": ["Scan or type the label: nothing was read."]}
    assert extra.status_code == 422
    assert list(extra.json()["errors"]) == ["patient_name"]
    assert counts() == before


# ---------- Who may post ----------


@pytest.mark.parametrize("role", ["patient", "financial_coordinator", "social_worker"])
def test_roles_that_do_not_record_custody_are_refused_and_nothing_is_written(
    team, product_released, role
):
    bag = Item.objects.get(coi_din=product_released.coi_din)
    user = (
        UserFactory(role=role, organization=team.center)
        if role == "patient"
        else getattr(team, role)
    )
    before = counts()

    response = post(user, scan(product_released, bag.item_id, "product_received"))

    assert response.status_code == 403
    assert response.json() == {
        # The patient is refused at the API's door; staff by the custody rule.
        "detail": NOT_FOR_THIS_ACCOUNT
        if role == "patient"
        else "Only staff who handle the specimen and the product record custody scans."
    }
    assert counts() == before
    assert fresh_journey(product_released).stage == Stage.PRODUCT_RELEASED


@pytest.mark.parametrize("who", ["pharmacist", "manufacturing_tech"])
def test_staff_of_another_center_or_facility_get_404_and_nothing_is_written(
    team, product_released, who
):
    bag = Item.objects.get(coi_din=product_released.coi_din)
    stranger = getattr(make_team(CenterFactory(), FacilityFactory()), who)
    step = "product_received" if who == "pharmacist" else "handoff"
    before = counts()

    response = post(stranger, scan(product_released, bag.item_id, step))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert counts() == before


def test_the_api_needs_authentication(product_released):
    response = Client().post(
        URL,
        data=json.dumps(scan(product_released, "x", "product_received")),
        content_type="application/json",
    )

    assert response.status_code == 401
    assert CustodyEvent.objects.count() == 0


# ---------- OpenAPI ----------


def test_openapi_lists_the_endpoint_with_its_request_schema(team):
    response = client_for(team.navigator).get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    operation = document["paths"][URL]["post"]
    assert set(operation["responses"]) >= {"201", "409"}
    reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    assert set(schema["properties"]) == {
        "coi",
        "step",
        "scanned_text",
        "location",
        "from_party",
        "to_party",
        "expected_item_id",
        "occurred_at",
        "late_entry_reason",
    }
    assert set(schema["required"]) == {"coi", "step", "scanned_text"}
