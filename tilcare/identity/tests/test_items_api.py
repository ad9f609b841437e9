"""The items and labels API: who may read and act, creating items, printing, files, reconciling.

Facility answers must carry the COI identifier and nothing that identifies the patient.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tilcare.accounts.api_auth import NOT_FOR_THIS_ACCOUNT
from tilcare.accounts.choices import Role
from tilcare.core.tests.clients import client_for, post_json
from tilcare.identity.choices import LabelStatus
from tilcare.identity.models import Item
from tilcare.identity.services import items as services
from tilcare.identity.tests.factories import STORAGE, new_item
from tilcare.identity.tests.helpers import item_counts
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/identity"
NOT_FOUND = {"detail": "Not found."}
IDENTITY = (b"Theodora", b"Lindqvist", b"MRN004512", b"1968-04-12")
MAY_ACT = ["navigator", "nurse", "surgeon", "pharmacist", "manufacturing_tech", "qa_reviewer"]


@pytest.fixture
def bag(team, journey):
    return new_item(team, journey, description="TIL product, bag 1 of 2")


@pytest.fixture
def label(team, bag):
    return services.print_label(bag, actor=team.navigator)


def item_body(journey, **fields):
    body = {
        "coi_din": journey.coi_din,
        "coi_check": journey.coi_check,
        "kind": "cassette",
        "description": "TIL product cassette",
    }
    body.update(fields)
    return body


# --- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*MAY_ACT, "financial_coordinator"])
def test_parties_list_the_cois_items_without_patient_identity(team, bag, label, role):
    response = client_for(team.by_role(role)).get(f"{API}/items", {"coi": bag.coi_din})
    assert response.status_code == 200
    (row,) = response.json()["items"]
    assert (row["item_id"], row["labels_printed"], row["labels_outstanding"]) == (
        bag.item_id,
        1,
        1,
    )
    # Only those who may print labels get the file's address (fetching it prints a copy)
    expected_pdf = f"{API}/labels/{label.public_id}.pdf" if role in MAY_ACT else None
    assert row["labels"][0]["pdf_url"] == expected_pdf
    for value in IDENTITY:
        assert value not in response.content


def test_coi_with_a_wrong_check_character_is_refused(team, bag):
    wrong = "A" if bag.coi_check != "A" else "B"
    response = client_for(team.navigator).get(f"{API}/items", {"coi": bag.coi_din + wrong})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["coi"]


@pytest.mark.parametrize(
    "user",
    [
        lambda team: UserFactory(role=Role.NAVIGATOR, organization=CenterFactory()),
        lambda team: UserFactory(role=Role.QA_REVIEWER, organization=FacilityFactory()),
    ],
    ids=["other-center", "other-facility"],
)
def test_others_see_no_item(team, bag, label, user):
    client = client_for(user(team))
    assert client.get(f"{API}/items").json()["items"] == []
    response = client.get(f"{API}/items/{bag.public_id}")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert client.get(f"{API}/labels/{label.public_id}.pdf").status_code == 404


def test_the_patient_is_refused_every_item_operation(team, bag, label):
    # Given the patient's portal account at the bag's own center
    client = client_for(UserFactory(role=Role.PATIENT, organization=team.center))

    # When it asks for the items, the bag and its label
    responses = [
        client.get(f"{API}/items"),
        client.get(f"{API}/items/{bag.public_id}"),
        client.get(f"{API}/labels/{label.public_id}.pdf"),
    ]

    # Then each is refused at the API's door
    assert [(r.status_code, r.json()["detail"]) for r in responses] == [
        (403, NOT_FOR_THIS_ACCOUNT)
    ] * 3


def test_facility_answer_has_the_coi_and_no_identity(team, bag, label):
    response = client_for(team.manufacturing_tech).get(f"{API}/items/{bag.public_id}")
    body = response.json()
    assert (body["coi_display"], body["facility"]) == (
        f"{bag.coi_din[:5]} {bag.coi_din[5:7]} {bag.coi_din[7:]} {bag.coi_check}",
        "Northgate Cell Therapy",
    )
    for value in IDENTITY:
        assert value not in response.content


def test_void_reason_is_hidden_from_the_other_organization(team, bag, label):
    services.void_label(label, actor=team.nurse, reason="Torn; reprinted for bed 4")
    facility = client_for(team.qa_reviewer).get(f"{API}/items/{bag.public_id}").json()
    center = client_for(team.navigator).get(f"{API}/items/{bag.public_id}").json()
    assert facility["labels"][0]["void_reason"] is None
    assert center["labels"][0]["void_reason"] == "Torn; reprinted for bed 4"


# --- creating items ---------------------------------------------------------------------------


def test_center_creates_the_first_item_for_a_facility(team, journey):
    body = item_body(
        journey,
        kind="tumor_specimen",
        description="Specimen jar",
        facility=str(team.facility.public_id),
        storage_temperature="2–8 °C",
    )
    response = post_json(client_for(team.nurse), f"{API}/items", body)
    assert response.status_code == 201
    item = Item.objects.get(public_id=response.json()["public_id"])
    assert (item.item_id, item.center, item.facility) == (
        f"{journey.coi_din}-TS01",
        team.center,
        team.facility,
    )


def test_facility_adds_an_item_to_a_coi_it_makes(team, journey, bag):
    expires = (timezone.now() + dt.timedelta(days=90)).replace(microsecond=0)
    response = post_json(
        client_for(team.manufacturing_tech),
        f"{API}/items",
        item_body(journey, expires_at=expires.isoformat(), storage_temperature=STORAGE),
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["item_id"], body["center"], body["facility"]) == (
        f"{journey.coi_din}-CS01",
        "Riverside Cancer Center",
        "Northgate Cell Therapy",
    )
    assert body["expires_at"] == expires.astimezone(dt.UTC).isoformat()


def test_facility_cannot_start_a_coi(team, journey):
    before = item_counts()
    response = post_json(client_for(team.qa_reviewer), f"{API}/items", item_body(journey))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert item_counts() == before


def test_wrong_check_character_is_422_on_its_field(team, journey, bag):
    wrong = "A" if journey.coi_check != "A" else "B"
    before = item_counts()
    response = post_json(
        client_for(team.navigator), f"{API}/items", item_body(journey, coi_check=wrong)
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["coi_check"]
    assert item_counts() == before


def test_naive_expiry_is_refused_by_the_schema(team, journey, bag):
    response = post_json(
        client_for(team.navigator),
        f"{API}/items",
        item_body(journey, expires_at="2030-01-01T10:00:00"),
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["expires_at"]


def test_financial_coordinator_may_not_create_items(team, journey, bag):
    before = item_counts()
    response = post_json(client_for(team.financial_coordinator), f"{API}/items", item_body(journey))
    assert response.status_code == 403
    assert item_counts() == before


# --- labels -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MAY_ACT)
def test_roles_that_handle_labels_print_apply_and_void(team, bag, role):
    client = client_for(team.by_role(role))
    printed = post_json(client, f"{API}/items/{bag.public_id}/labels")
    assert (printed.status_code, printed.json()["copy_number"]) == (201, 1)
    public_id = printed.json()["public_id"]
    applied = post_json(client, f"{API}/labels/{public_id}/apply")
    assert applied.json()["status"] == "applied"
    voided = post_json(client, f"{API}/labels/{public_id}/void", {"reason": "Peeled off"})
    assert (voided.json()["status"], voided.json()["void_reason"]) == ("voided", "Peeled off")


@pytest.mark.parametrize("role", ["financial_coordinator", "social_worker", "physician"])
def test_roles_without_label_permission_change_nothing(team, bag, label, role):
    client = client_for(team.by_role(role))
    before = item_counts()
    assert post_json(client, f"{API}/items/{bag.public_id}/labels").status_code == 403
    assert post_json(client, f"{API}/labels/{label.public_id}/apply").status_code == 403
    response = post_json(client, f"{API}/labels/{label.public_id}/void", {"reason": "x"})
    assert response.status_code == 403
    label.refresh_from_db()
    assert label.status == LabelStatus.PRINTED
    assert item_counts() == before


def test_void_without_reason_is_422(team, bag, label):
    before = item_counts()
    response = post_json(
        client_for(team.nurse), f"{API}/labels/{label.public_id}/void", {"reason": ""}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"reason": ["Say why the label is voided (required)."]}
    assert item_counts() == before


def test_voided_label_cannot_be_applied(team, bag, label):
    services.void_label(label, actor=team.nurse, reason="Misprint")
    response = post_json(client_for(team.nurse), f"{API}/labels/{label.public_id}/apply")
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "__all__": ["Label copy 1 was voided: it cannot be applied."]
    }


def test_label_files(team, bag, label):
    client = client_for(team.qa_reviewer)
    pdf = client.get(f"{API}/labels/{label.public_id}.pdf")
    png = client.get(f"{API}/labels/{label.public_id}.png")
    assert (pdf.status_code, pdf["Content-Type"], pdf.content[:5]) == (
        200,
        "application/pdf",
        b"%PDF-",
    )
    assert (png.status_code, png["Content-Type"], png.content[:4]) == (200, "image/png", b"\x89PNG")


def test_file_of_an_applied_copy_is_409(team, bag, label):
    services.apply_label(label, actor=team.nurse)
    response = client_for(team.nurse).get(f"{API}/labels/{label.public_id}.pdf")
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Label copy 1 of {bag.item_id} is applied: print a new copy instead."
    }


def test_view_only_staff_get_no_file_links_and_no_files(team, bag, label):
    client = client_for(team.financial_coordinator)
    body = client.get(f"{API}/items/{bag.public_id}").json()
    assert (body["labels"][0]["pdf_url"], body["labels"][0]["png_url"]) == (None, None)
    assert client.get(f"{API}/labels/{label.public_id}.pdf").status_code == 403
