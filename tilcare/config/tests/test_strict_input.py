"""Every request body of the API is strict, found from the OpenAPI document itself.

For each operation with a JSON body (calculators included) and each field of its body (and of
the rows nested in it): an unknown field, `true` for a whole number, 1 for a yes/no, a number
for a date-time or a date, and a date-time without its UTC offset are each refused with 422
naming that field (its path, for a row) and the problem, and nothing is written. A new
operation or field is covered without changing this test.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from tilcare.audit.models import AuditEvent
from tilcare.config.api import api
from tilcare.core.tests.clients import client_for, rows_in_every_table
from tilcare.core.validation import DATE, DATE_TIME, NO_OFFSET, TRUE_OR_FALSE, WHOLE_NUMBER
from tilcare.patients.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

UNKNOWN = "Unknown field; check its spelling against the API documentation."
MISSPELT = "zz_misspelt_field"

_DOCUMENT = api.get_openapi_schema()
_COMPONENTS = _DOCUMENT["components"]["schemas"]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(_COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]])
    return schema


def _kinds(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives of a property (`X | None` is an anyOf), each resolved."""
    alternatives = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return [_resolve(alternative) for alternative in alternatives]


def _bodies() -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, the body's object schema, how the object is sent: object or list)."""
    found = []
    for path, operations in _DOCUMENT["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            # A body of one object or a list of them is sent as one object (the list's own
            # naming of its rows is tested with the batch record).
            kinds = {
                kind.get("type"): kind for kind in _kinds(content["application/json"]["schema"])
            }
            if "object" in kinds:
                found.append((method, path, kinds["object"], "object"))
            elif "array" in kinds:
                found.append((method, path, _resolve(kinds["array"]["items"]), "list"))
    return found


def _wrong_values(
    schema: dict[str, Any], prefix: str = ""
) -> list[tuple[str, dict[str, Any], str]]:
    """(field path, a body sending the wrong JSON type there, the expected message)."""
    cases = [(f"{prefix}{MISSPELT}", {MISSPELT: 1}, UNKNOWN)]
    for name, prop in schema.get("properties", {}).items():
        kinds = _kinds(prop)
        types = {kind.get("type") for kind in kinds}
        formats = {kind.get("format") for kind in kinds}
        if "integer" in types:
            cases.append((f"{prefix}{name}", {name: True}, WHOLE_NUMBER))
        if "boolean" in types:
            cases.append((f"{prefix}{name}", {name: 1}, TRUE_OR_FALSE))
        if "date-time" in formats:
            cases.append((f"{prefix}{name}", {name: 1767225600}, DATE_TIME))
            cases.append((f"{prefix}{name}", {name: "2026-01-01T09:00:00"}, NO_OFFSET))
        elif "date" in formats:
            cases.append((f"{prefix}{name}", {name: 20260101}, DATE))
        for kind in kinds:
            rows = _resolve(kind.get("items", {})) if kind.get("type") == "array" else {}
            if rows.get("type") == "object" and not prefix:
                for path, row, message in _wrong_values(rows, f"{name}.0."):
                    cases.append((path, {name: [row]}, message))
    return cases


def _cases() -> list[Any]:
    cases = []
    for method, path, schema, shape in _bodies():
        url = path.replace("{public_id}", str(uuid.UUID(int=7))).replace("{culture_id}", "F01")
        for field, body, message in _wrong_values(schema):
            sent: Any = [body] if shape == "list" else body
            where = f"0.{field}" if shape == "list" else field
            cases.append(
                pytest.param(method, url, sent, where, message, id=f"{method} {path} {where}")
            )
    return cases


@pytest.fixture
def client() -> Client:
    return client_for(UserFactory())


@pytest.mark.parametrize(("method", "url", "body", "field", "message"), _cases())
def test_a_wrong_json_type_or_an_unknown_field_is_refused_naming_the_field(
    client, method, url, body, field, message
):
    # Given the rows already in the database
    rows, events = rows_in_every_table(), AuditEvent.objects.count()

    # When a body sends an unknown field, or true for a number, 1 for true, a number for a date
    response = client.generic(
        method.upper(), url, data=json.dumps(body), content_type="application/json"
    )

    # Then it is refused with 422 naming the field (by its path in a row) and the problem
    assert response.status_code == 422, response.content
    assert response.json()["errors"][field] == [message]
    # And nothing is written
    assert (rows_in_every_table(), AuditEvent.objects.count()) == (rows, events)


def test_the_check_reaches_every_json_body_of_the_api():
    # Given the OpenAPI document's operations with a JSON request body
    operations = {
        (method, path)
        for path, ops in _DOCUMENT["paths"].items()
        for method, op in ops.items()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    }

    # When the bodies this test sends are gathered
    covered = {(method, path) for method, path, _schema, _shape in _bodies()}

    # Then every such operation is covered, calculators included
    assert covered == operations
    assert any(path.startswith("/api/v1/calc/") for _method, path in covered)
    assert ("post", "/api/v1/manufacturing/batches/{public_id}/cultures") in covered


def _numbers_without_a_range() -> list[str]:
    missing = []
    for _method, path, schema, _shape in _bodies():
        if path.startswith("/api/v1/calc/"):
            continue  # each calculator's limits are refused by the clinical core, with its source
        rows = [("", schema)] + [
            (f"{name}.0.", _resolve(kind["items"]))
            for name, prop in schema.get("properties", {}).items()
            for kind in _kinds(prop)
            if kind.get("type") == "array" and "$ref" in kind.get("items", {})
        ]
        for prefix, row in rows:
            for name, prop in row.get("properties", {}).items():
                kinds = [prop, *_kinds(prop)]
                if not {kind.get("type") for kind in kinds} & {"integer", "number"}:
                    continue
                low = any("minimum" in k or "exclusiveMinimum" in k for k in kinds)
                high = any("maximum" in k or "exclusiveMaximum" in k for k in kinds)
                if not (low and high):
                    missing.append(f"{path} {prefix}{name}")
    return sorted(set(missing))


def test_every_number_in_a_request_body_has_a_plausible_range():
    # Given every request body of the API outside the calculators
    # When its numbers are looked at
    # Then each declares its lowest and highest plausible value to clients
    assert _numbers_without_a_range() == []


def test_a_page_offset_past_any_list_is_refused_with_its_limit(client):
    # Given an offset a typing slip made enormous (past every database's integer range)
    # When a list is asked for from there
    response = client.get("/api/v1/patients", {"offset": 10**20})

    # Then it is refused naming the offset and its limit, not answered with a server error
    assert response.status_code == 422
    assert response.json()["errors"] == {"offset": ["offset must be at most 1,000,000,000."]}


def test_every_request_body_tells_clients_it_takes_no_other_fields():
    # Given every JSON request body of the OpenAPI document (its object, or its list's rows)
    # When its schema is read
    open_bodies = [
        f"{method} {path}"
        for method, path, schema, _shape in _bodies()
        if schema.get("additionalProperties") is not False
    ]

    # Then each declares that no other field is taken
    assert open_bodies == []
