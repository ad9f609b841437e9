"""The release API: the checklist, the formulation, release test results (also from an instrument
with a bearer token), the CoA. Answers carry the COI identifier, never the patient; refusals are
403 (role), 404 (not visible), 409 (no CoA before the disposition), 422 (field and message)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tilcare.accounts.services import issue_api_token
from tilcare.core.tests.clients import client_for
from tilcare.core.tests.clients import post_json as post
from tilcare.manufacturing.choices import BatchStatus, ReleaseTestKind
from tilcare.manufacturing.models import ProductBag, ReleaseTest
from tilcare.manufacturing.tests.test_release_services import (
    IDENTITY,
    STORAGE,
    counts,
    formulate,
    released_by_qa,
    set_specs,
)
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

K = ReleaseTestKind
API = "/api/v1/manufacturing/batches"


def assert_no_identity(response) -> None:
    for value in IDENTITY:
        assert value.encode() not in response.content


def post_step(user, scene, step: str, body: dict):
    """`user` posts `body` to a release step of the scene's batch (formulation, release-tests)."""
    return post(client_for(user), f"{API}/{scene.batch.public_id}/{step}", body)


def an_hour_ago() -> str:
    return (timezone.now() - dt.timedelta(hours=1)).isoformat()


# ---------- the checklist ----------


@pytest.mark.parametrize("who", ["manufacturing_tech", "qa_reviewer", "physician"])
def test_the_checklist_by_coi_for_the_facility_and_the_center(scene, who):
    formulate(scene)

    response = client_for(getattr(scene.team, who)).get(f"{API}/{scene.batch.public_id}/release")

    assert response.status_code == 200
    answer = response.json()
    assert (answer["coi_din"], answer["coi_check"], answer["status"]) == (
        scene.batch.coi_din,
        scene.batch.coi_check,
        "harvested",
    )
    assert [(b["bag_number"], b["volume_ml"], b["viable_cells"]) for b in answer["bags"]] == [
        (1, "250.0", "9000000000"),
        (2, "250.0", "8500000000"),
    ]
    assert answer["total_viable_cells"] == "17500000000"
    assert answer["missing_tests"] == [k.label for k in K]
    assert (answer["released"], answer["disposition"], answer["coa_url"]) == (False, None, None)
    assert_no_identity(response)


@pytest.mark.parametrize("role", ["qa_reviewer", "navigator"])
def test_another_facility_or_center_gets_404(scene, role):
    other = FacilityFactory() if role == "qa_reviewer" else CenterFactory()

    response = client_for(UserFactory(role=role, organization=other)).get(
        f"{API}/{scene.batch.public_id}/release"
    )

    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


# ---------- formulation ----------


def formulation(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "bags": [
            {"volume_ml": "250.0", "viable_cells": 9000000000},
            {"volume_ml": 250, "viable_cells": "8500000000"},
        ],
        "storage_temperature": STORAGE,
    }
    body.update(extra)
    return body


def test_the_technologist_posts_the_formulation(scene):
    response = post_step(scene.team.manufacturing_tech, scene, "formulation", formulation())

    assert response.status_code == 201
    answer = response.json()
    assert [b["item_id"] for b in answer["bags"]] == [
        f"{scene.batch.coi_din}-BG01",
        f"{scene.batch.coi_din}-BG02",
    ]
    assert answer["status"] == BatchStatus.HARVESTED
    assert_no_identity(response)


def test_impossible_bags_answer_422_naming_the_bag(scene):
    before = counts()

    response = post_step(
        scene.team.manufacturing_tech,
        scene,
        "formulation",
        formulation(bags=[{"volume_ml": "0", "viable_cells": 1000}]),
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "bags": [
            "Bag 1: volume must be more than 0 and at most 1000 mL, with at most 1 decimal (got 0)."
        ]
    }
    assert counts() == before


def test_qa_may_not_post_the_formulation(scene):
    response = post_step(scene.team.qa_reviewer, scene, "formulation", formulation())

    assert response.status_code == 403
    assert ProductBag.objects.count() == 0


# ---------- release tests ----------


def test_an_instrument_posts_a_result_with_a_bearer_token(scene):
    set_specs(scene)
    formulate(scene)
    _token, secret = issue_api_token(scene.team.manufacturing_tech, name="Endotoxin reader")

    response = Client().post(
        f"{API}/{scene.batch.public_id}/release-tests",
        data=json.dumps(
            {"test": "endotoxin", "result_value": 0.8, "unit": "EU/mL", "tested_at": an_hour_ago()}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )

    assert response.status_code == 201
    row = next(t for t in response.json()["tests"] if t["test"] == "endotoxin")
    assert (row["specification"], row["result"], row["passed"]) == ("≤ 5 EU/mL", "0.8 EU/mL", True)
    assert ReleaseTest.objects.get().result_value == Decimal("0.8")


def test_a_result_without_a_specification_answers_422_naming_what_to_set(scene):
    formulate(scene)

    response = post_step(
        scene.team.qa_reviewer,
        scene,
        "release-tests",
        {"test": "mycoplasma", "result_text": "Negative", "tested_at": an_hour_ago()},
    )

    assert response.status_code == 422
    assert response.json()["errors"]["test"] == [
        "Mycoplasma has no specification for protocol lifileucel_us: a QA reviewer of Northgate "
        "Cell Therapy must set it on the release specifications page before this result can be "
        "judged."
    ]


def test_a_time_without_its_offset_is_refused(scene):
    set_specs(scene)
    formulate(scene)

    response = post_step(
        scene.team.manufacturing_tech,
        scene,
        "release-tests",
        {"test": "viability", "result_value": "80", "unit": "%", "tested_at": "2026-01-05T10:00"},
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["tested_at"]


def test_the_center_may_not_post_results(scene):
    set_specs(scene)
    formulate(scene)

    response = post_step(
        scene.team.nurse,
        scene,
        "release-tests",
        {"test": "viability", "result_value": "80", "unit": "%", "tested_at": an_hour_ago()},
    )

    assert response.status_code == 403
    assert ReleaseTest.objects.count() == 0


# ---------- the CoA ----------


def test_the_coa_after_the_disposition(scene):
    released_by_qa(scene)
    client = client_for(scene.team.pharmacist)

    checklist = client.get(f"{API}/{scene.batch.public_id}/release").json()
    response = client.get(checklist["coa_url"])

    assert checklist["coa_url"] == f"{API}/{scene.batch.public_id}/coa.pdf"
    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert response.content.startswith(b"%PDF-")


def test_no_coa_before_the_disposition(scene):
    response = client_for(scene.team.qa_reviewer).get(f"{API}/{scene.batch.public_id}/coa.pdf")

    assert (response.status_code, response.json()) == (
        409,
        {"detail": "The certificate of analysis is issued after QA's disposition."},
    )
