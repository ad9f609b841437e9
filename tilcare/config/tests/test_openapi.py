"""The OpenAPI document tells the truth: each refusal a route gives is declared with the body it
really has, its schemas are unambiguous, and every example in it is a request that succeeds.

Requests go in process to the WSGI application (werkzeug's test client, which schemathesis reads);
each answer is checked against the document by schemathesis' own checks: a status code the
operation declares, a body matching the declared schema, the declared media type and headers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import schemathesis
from ninja.openapi.schema import OpenAPISchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client as WsgiClient

from tilcare.accounts.choices import Role
from tilcare.calculators.api import NEEDS_CENTER_SETTINGS
from tilcare.config.api import BODY_NOT_OBJECT, NOT_AUTHENTICATED, NUL_REFUSED, api
from tilcare.config.tests.api_world import ApiWorld
from tilcare.config.wsgi import application
from tilcare.core.tests.clients import invalid_input
from tilcare.journey.models import Journey
from tilcare.patients.models import Patient

pytestmark = pytest.mark.django_db

ROOT = "/api/v1"
CHECKS = [
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def document(world) -> Any:
    return schemathesis.openapi.from_wsgi(
        f"{ROOT}/openapi.json", application, headers=world.bearer(Role.NAVIGATOR)
    )


def send(method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
    return WsgiClient(application).open(ROOT + path, method=method, headers=headers, **kwargs)


def assert_documented(document: Any, method: str, template: str, response: Any) -> None:
    """The answer's status, body, media type and headers are the ones the document declares."""
    operation = document[ROOT + template][method]
    operation.Case().validate_response(response, checks=CHECKS)


# --- the schemas are unambiguous -------------------------------------------------------------


class _CollisionRecorder(OpenAPISchema):
    """Ninja's schema builder, noting each schema name given to two different schemas (ninja
    would silently keep the last one, and the document would lie about the first)."""

    collisions: list[str]

    def add_schema_definitions(self, definitions: dict[str, Any]) -> None:
        if not hasattr(self, "collisions"):
            self.collisions = []
        for name, definition in definitions.items():
            if name in self.schemas and self.schemas[name] != definition:
                self.collisions.append(name)
        super().add_schema_definitions(definitions)


def test_no_two_schemas_share_a_name():
    # When the document is built, recording every schema it names
    built = _CollisionRecorder(api, f"{ROOT}/")

    # Then no name was given to two different schemas
    assert getattr(built, "collisions", []) == []


def _limits(node: Any) -> list[Any]:
    if isinstance(node, dict):
        found = [value for key, value in node.items() if key in ("minimum", "maximum")]
        return found + [limit for value in node.values() for limit in _limits(value)]
    if isinstance(node, list):
        return [limit for item in node for limit in _limits(item)]
    return []


def test_every_limit_in_the_document_is_a_number(document):
    # Given the limits the document declares (Decimal limits included, e.g. a weight gain of
    # -50 to 100 %)
    limits = _limits(document.raw_schema)
    gain = document.raw_schema["components"]["schemas"]["Dutcher2014ObservationsIn"]

    # Then each is a JSON number, as JSON Schema requires, not text
    assert limits
    assert [limit for limit in limits if not isinstance(limit, int | float)] == []
    assert (
        gain["properties"]["weight_gain_percent"]["minimum"],
        gain["properties"]["weight_gain_percent"]["maximum"],
    ) == (-50, 100)


# --- every refusal is declared, with the body it has ------------------------------------------


def test_every_operation_answers_an_anonymous_request_with_its_documented_401(document):
    # Given every operation of the document
    operations = [result.ok() for result in document.get_all_operations()]
    assert len(operations) == sum(len(ops) for ops in document.raw_schema["paths"].values())

    for operation in operations:
        # When it is called with no credentials (on an id, where its path names one)
        path = operation.path.replace("{public_id}", UNKNOWN_ID).replace("{culture_id}", "F01")
        response = WsgiClient(application).open(path, method=operation.method.upper())

        # Then the answer is 401, as documented, with the header that says how to authenticate
        assert response.status_code == 401, operation.label
        assert response.get_json() == {"detail": NOT_AUTHENTICATED}, operation.label
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="tilcare"'
        operation.Case().validate_response(response, checks=CHECKS)


def test_a_role_that_may_not_act_gets_the_documented_403(world, document):
    # When the facility's technologist tries to register a patient
    response = send(
        "POST",
        "/patients",
        headers=world.bearer(Role.MANUFACTURING_TECH),
        json={
            "mrn": "MRN900001",
            "given_name": "Ingrid",
            "family_name": "Solberg",
            "date_of_birth": "1971-09-30",
            "sex": "female",
        },
    )

    # Then it is refused with 403, as documented
    assert response.status_code == 403
    assert set(response.get_json()) == {"detail"}
    assert_documented(document, "POST", "/patients", response)


def test_an_object_out_of_scope_gets_the_documented_404(world, document):
    # When a patient id that does not exist is read
    response = send("GET", f"/patients/{uuid.uuid4()}", headers=world.bearer(Role.NAVIGATOR))

    # Then the answer is the documented 404
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Not found."}
    assert_documented(document, "GET", "/patients/{public_id}", response)


def test_a_blocked_transition_gets_the_documented_409_with_its_reasons(world, document):
    # Given a journey at referral
    journey = world.journey

    # When the physician moves it straight to infusion
    response = send(
        "POST",
        f"/journeys/{journey.public_id}/transitions",
        headers=world.bearer(Role.PHYSICIAN),
        json={"to_stage": "infusion"},
    )

    # Then it is refused with 409 and the reason, as documented, and the journey did not move
    assert response.status_code == 409
    assert response.get_json() == {
        "detail": "Transition blocked",
        "reasons": ["A journey cannot move from “Referral” to “Infusion”."],
    }
    assert_documented(document, "POST", "/journeys/{public_id}/transitions", response)
    assert Journey.objects.get(pk=journey.pk).stage == "referral"


def test_a_certificate_asked_for_before_disposition_gets_the_documented_409(world, document):
    # Given a batch that QA has not decided yet
    batch = world.batch

    # When its certificate of analysis is asked for
    response = send(
        "GET",
        f"/manufacturing/batches/{batch.public_id}/coa.pdf",
        headers=world.bearer(Role.QA_REVIEWER),
    )

    # Then it is refused with 409, as documented
    assert response.status_code == 409
    assert response.get_json() == {
        "detail": "The certificate of analysis is issued after QA's disposition."
    }
    assert_documented(document, "GET", "/manufacturing/batches/{public_id}/coa.pdf", response)


def test_a_body_missing_its_fields_gets_the_documented_422_field_by_field(world, document):
    # When a measurement is posted with no field
    response = send(
        "POST",
        f"/patients/{world.patient.public_id}/measurements",
        headers=world.bearer(Role.NAVIGATOR),
        json={},
    )

    # Then the answer is 422 with a message under each required field, as documented
    assert response.status_code == 422
    body = response.get_json()
    assert body["detail"] == "Invalid input."
    assert body["errors"]["measured_on"] == ["This field is required."]
    assert_documented(document, "POST", "/patients/{public_id}/measurements", response)


def test_text_with_a_nul_character_is_refused_by_field_and_changes_nothing(world, document):
    # Given a patient (PostgreSQL cannot store a NUL character; it used to fail as a 500)
    patient = world.patient

    # When a change of their record holds a NUL character in its reason
    response = send(
        "PATCH",
        f"/patients/{patient.public_id}",
        headers=world.bearer(Role.NAVIGATOR),
        json={"cancer_type": "melanoma_acral", "reason": "typo\x00"},
    )

    # Then it is refused with the documented 422 naming the field, and the record is unchanged
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"reason": [NUL_REFUSED]})
    assert_documented(document, "PATCH", "/patients/{public_id}", response)
    assert Patient.objects.get(pk=patient.pk).cancer_type == patient.cancer_type


def test_a_query_with_a_nul_character_is_refused_by_field(world, document):
    # When the patient search is sent a NUL character
    response = send(
        "GET", "/patients", headers=world.bearer(Role.NAVIGATOR), query_string={"q": "Ann\x00"}
    )

    # Then it is refused with the documented 422 naming the parameter
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"q": [NUL_REFUSED]})
    assert_documented(document, "GET", "/patients", response)


def test_a_body_that_is_a_bare_number_is_refused_not_read_as_an_empty_object(world, document):
    # Given a calculator whose every field is optional (the IL-2 hold/stop criteria, Dutcher
    # 2014: a criterion left out is "not assessed")
    path = "/calc/il2-dutcher-2014"

    # When its body is the number 0.0 instead of an object (found by the API fuzzing: it was
    # answered 200 as if it were {})
    response = send(
        "POST",
        path,
        headers={**world.bearer(Role.PHYSICIAN), "Content-Type": "application/json"},
        data="0.0",
    )

    # Then it is refused with the documented 422, saying what to send
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"__all__": [BODY_NOT_OBJECT]})
    assert_documented(document, "POST", path, response)


def test_a_body_that_is_not_json_gets_the_documented_400(world, document):
    # When the body cannot be parsed
    response = send(
        "POST",
        "/patients",
        headers={**world.bearer(Role.NAVIGATOR), "Content-Type": "application/json"},
        data="{not json",
    )

    # Then the answer is the documented 400
    assert response.status_code == 400
    assert response.get_json() == {"detail": "Cannot parse request body"}
    assert_documented(document, "POST", "/patients", response)


def test_a_label_is_documented_as_a_pdf(world, document):
    # When a printed label is fetched as PDF
    response = send(
        "GET", f"/identity/labels/{world.label.public_id}.pdf", headers=world.bearer("navigator")
    )

    # Then it is a PDF, the media type the document declares
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert_documented(document, "GET", "/identity/labels/{public_id}.pdf", response)


# --- every example is a request that succeeds -------------------------------------------------


def _request_examples(raw: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(method, path, media type, example) of every request body example in the document."""
    found = []
    for path, operations in raw["paths"].items():
        for method, operation in operations.items():
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                if "example" in content:
                    found.append((method, path, media, content["example"]))
                for example in content.get("examples", {}).values():
                    found.append((method, path, media, example["value"]))
    return found


def test_every_request_example_in_the_document_succeeds(world, document):
    # Given every request body example the document shows
    # (among them, one for each calculator that needs no center settings)
    examples = _request_examples(document.raw_schema)
    calculators = {
        path
        for path, operations in document.raw_schema["paths"].items()
        if path.startswith(f"{ROOT}/calc/")
        and "post" in operations
        and NEEDS_CENTER_SETTINGS not in operations["post"]["description"]
    }
    assert len(calculators) >= 20
    assert calculators <= {path for _method, path, _media, _example in examples}

    failures = []
    for method, path, media, example in examples:
        template = path.removeprefix(ROOT)
        # When it is sent as a user whose role may perform the operation
        for name, value in world.path_parameters(template).items():
            path = path.replace("{" + name + "}", value)
        response = WsgiClient(application).open(
            path,
            method=method.upper(),
            headers={
                **world.bearer(ApiWorld.role_for(method, template)),
                "Content-Type": media,
            },
            data=json.dumps(example) if media == "application/json" else example,
        )
        # Then it succeeds
        if not 200 <= response.status_code < 300:
            failures.append(f"{method.upper()} {path}: {response.status_code} {response.data!r}")

    assert failures == [], "\n".join(failures)
