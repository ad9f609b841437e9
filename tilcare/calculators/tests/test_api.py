"""The calculator API: every calculator answers its example with its working, refuses bad input
field by field, and only the roles it is meant for may use it."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tilcare.accounts.api_auth import NOT_FOR_THIS_ACCOUNT
from tilcare.accounts.choices import Role
from tilcare.accounts.roles import Perm, permissions_for
from tilcare.audit.models import AuditEvent
from tilcare.calculators.api import NEEDS_CENTER_SETTINGS
from tilcare.calculators.registry import all_calculators
from tilcare.calculators.tests.helpers import client_for, post
from tilcare.core.tests.clients import invalid_input

pytestmark = pytest.mark.django_db

CALCULATORS = all_calculators()


def test_every_calculator_has_an_example_and_a_documented_operation():
    # Given the OpenAPI document
    client = client_for(Role.PHARMACIST)
    schema = client.get("/api/v1/openapi.json").json()

    # Then each calculator has its own POST with its own request schema and example; where
    # the example is refused only for the center settings it rightly leaves out, the document
    # shows no example (each it shows is a request that succeeds) and says what to send
    for calc in CALCULATORS:
        assert calc.example, calc.slug
        operation = schema["paths"][f"/api/v1/calc/{calc.slug}"]["post"]
        content = operation["requestBody"]["content"]["application/json"]
        assert content["schema"]["$ref"].endswith(calc.input_schema.__name__)
        if operation["description"] == calc.purpose + NEEDS_CENTER_SETTINGS:
            assert "example" not in content, calc.slug
            refused = post(client, calc.slug, calc.example)
            messages = [m for ms in refused.json()["errors"].values() for m in ms]
            assert refused.status_code == 422, calc.slug
            assert all(m.startswith("Set '") for m in messages), calc.slug
        else:
            assert content["example"] == calc.example, calc.slug


@pytest.mark.parametrize("calc", CALCULATORS, ids=lambda c: c.slug)
def test_each_calculator_answers_its_example_with_its_working(calc):
    # Given a role allowed to use it
    role = Role.PHYSICIAN  # holds both clinical and manufacturing calculator permissions
    client = client_for(role)

    # When its documented example is posted
    response = post(client, calc.slug, calc.example)

    # Then the answer carries the headline and the whole calculation with its source, or (for
    # a protocol calculation, whose examples carry no center settings) a refusal naming each
    # setting the center must make
    body = response.json()
    if response.status_code == 422:
        messages = [m for ms in body["errors"].values() for m in ms]
        assert calc.slug.split("-")[-1].isdigit(), body  # only protocol calculators
        assert messages and all(m.startswith("Set '") for m in messages), body
        return
    assert response.status_code == 200, body
    assert body["calculator"] == calc.slug
    assert body["headline"]
    assert body["tone"] in {"ok", "info", "warn", "danger"}
    assert "source" in json.dumps(body["result"])


def test_bsa_worked_example_mosteller():
    # Mosteller, NEJM 1987: √(175 × 70 / 3600) = 1.8447 → 1.84 m² (2 dp, half up)
    response = post(
        client_for(Role.PHARMACIST),
        "bsa",
        {"weight_kg": "70", "height_cm": "175", "formula": "mosteller"},
    )

    assert response.status_code == 200
    assert response.json()["result"]["bsa"] == {"value": "1.84", "unit": "m²"}
    assert response.json()["headline"] == "BSA 1.84 m² (Mosteller)"


def test_json_numbers_are_read_exactly():
    # 68.4 as a JSON number reaches the calculation as exactly 68.4, not a binary float
    response = post(
        client_for(Role.PHARMACIST),
        "bmi",
        {"weight_kg": 68.4, "height_cm": 172.5},
    )

    assert response.status_code == 200
    assert response.json()["result"]["weight_kg"] == "68.4"


@pytest.mark.parametrize(
    ("slug", "body", "field", "message"),
    [
        (
            "bsa",
            {"weight_kg": "400", "height_cm": "175", "formula": "mosteller"},
            "weight_kg",
            "weight_kg 400 is above the plausible maximum 350 kg.",
        ),
        (
            "bsa",
            {"weight_kg": "70", "height_cm": "90", "formula": "mosteller"},
            "height_cm",
            "height_cm 90 is below the plausible minimum 100 cm.",
        ),
        (
            "bsa",
            {"weight_kg": "70", "height_cm": "175", "formula": "boyd"},
            "formula",
            "Input should be 'mosteller' or 'dubois'.",
        ),
        (
            "bsa",
            {"weight_kg": "seventy", "height_cm": "175", "formula": "mosteller"},
            "weight_kg",
            "Input should be a valid decimal.",
        ),
        ("bmi", {"height_cm": "175"}, "weight_kg", "This field is required."),
        (
            "creatinine-clearance",
            {
                "age_years": "15",
                "weight_kg": "60",
                "weight_basis": "actual",
                "serum_creatinine_mg_per_dl": "1.0",
                "sex": "female",
            },
            "age_years",
            "age_years 15 is below the minimum 18 years (Cockcroft–Gault is an adult formula).",
        ),
        (
            "creatinine-clearance",
            {
                "age_years": "50",
                "weight_kg": "60",
                "weight_basis": "actual",
                "serum_creatinine_mg_per_dl": "0",
                "sex": "female",
            },
            "serum_creatinine_mg_per_dl",
            "serum_creatinine_mg_per_dl 0 must be greater than 0 mg/dL.",
        ),
        (
            "adjusted-body-weight",
            {"weight_kg": "110", "height_cm": "175", "sex": "male", "factor": "1.5"},
            "factor",
            "factor 1.5 must lie between 0 and 1.",
        ),
        (
            "check-character",
            {"identifier": "W12342612345600"},
            "identifier",
            "identifier: expected 13 characters (to compute the check character) or 14 (to "
            "verify it), got 15.",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else "",
)
def test_bad_input_is_refused_with_the_field_and_its_limit(slug, body, field, message):
    response = post(client_for(Role.PHARMACIST), slug, body)

    assert response.status_code == 422
    assert response.json() == invalid_input({field: [message]})


def test_a_wrong_check_character_names_the_expected_one():
    # ICCBBA: W1234 26 123456 has check character … ; a scan ending in another is refused
    good = post(client_for(Role.NURSE), "check-character", {"identifier": "W123426123456"})
    expected = good.json()["result"]["character"]
    wrong = "0" if expected != "0" else "1"

    response = post(
        client_for(Role.NURSE), "check-character", {"identifier": f"W123426123456{wrong}"}
    )

    assert response.status_code == 422
    assert f"expected “{expected}”" in response.json()["errors"]["identifier"][0]


def test_calculations_write_nothing():
    before = AuditEvent.objects.count()

    post(client_for(Role.PHARMACIST), "bmi", {"weight_kg": "70", "height_cm": "175"})

    assert AuditEvent.objects.count() == before


def test_anonymous_caller_is_refused():
    response = post(Client(), "bmi", {"weight_kg": "70", "height_cm": "175"})

    assert response.status_code == 401


@pytest.mark.parametrize("role", [r for r in Role if r != Role.PATIENT], ids=lambda r: r.value)
def test_each_role_may_use_exactly_its_calculators(role):
    # Given a user of this role
    client = client_for(role)
    granted = permissions_for(role)

    # When they list the calculators and post each example
    listed = {row["slug"] for row in client.get("/api/v1/calc/").json()}
    allowed = {calc.slug for calc in CALCULATORS if set(calc.perms) & granted}

    # Then they see and may run exactly those their permissions allow; others are 403
    assert listed == allowed
    for calc in CALCULATORS:
        response = post(client, calc.slug, calc.example)
        if calc.slug in allowed:
            assert response.status_code in (200, 422), (calc.slug, response.json())
        else:
            assert response.status_code == 403, calc.slug
            assert response.json() == {"detail": "Your role may not use this calculator."}


def test_a_financial_coordinator_sees_no_calculator():
    assert client_for(Role.FINANCIAL_COORDINATOR).get("/api/v1/calc/").json() == []


def test_a_patient_is_refused_every_calculator_at_the_api_door():
    # Given a patient's portal account (the API serves staff and their systems)
    client = client_for(Role.PATIENT)

    # When it lists the calculators or posts each example
    responses = [client.get("/api/v1/calc/")] + [
        post(client, calc.slug, calc.example) for calc in CALCULATORS
    ]

    # Then every request is refused, saying why
    assert {(r.status_code, r.json()["detail"]) for r in responses} == {(403, NOT_FOR_THIS_ACCOUNT)}


def test_a_technologist_sees_the_lab_calculators_and_the_check_character_only():
    listed = {
        row["slug"] for row in client_for(Role.MANUFACTURING_TECH).get("/api/v1/calc/").json()
    }

    assert "check-character" in listed
    assert listed == {
        calc.slug for calc in CALCULATORS if Perm.USE_MANUFACTURING_CALCULATORS in calc.perms
    }
    assert "news2" not in listed
