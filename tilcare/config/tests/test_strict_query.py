"""A query is as strict as a body: a parameter the operation does not declare is refused, not
ignored (a misspelt `limt=500` must never fall back to the default page), and a typed parameter's
text is its type strictly. Every refusal is the documented 422 naming the parameter, and nothing
is written.

Requests go in process to the WSGI application, as schemathesis sends them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from tilcare.accounts.choices import Role
from tilcare.audit.models import AuditEvent
from tilcare.calculators.registry import get_calculator
from tilcare.config.api import REPEATED_QUERY_PARAMETER, api
from tilcare.config.tests.api_world import ApiWorld
from tilcare.config.tests.test_openapi import ROOT, assert_documented, document, send
from tilcare.core.api_support import (
    QUERY_DECIMAL,
    QUERY_TRUE_OR_FALSE,
    QUERY_WHOLE_NUMBER,
    UNKNOWN_QUERY_PARAMETER,
    InputSchema,
)
from tilcare.core.tests.clients import invalid_input, rows_in_every_table
from tilcare.patients.models import BodyMeasurement, Patient
from tilcare.patients.schemas import MeasurementIn
from tilcare.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

__all__ = ["document"]  # the fixture, shared with test_openapi

# The wording of a refused unknown body field, said of a query parameter.
BODY_UNKNOWN = "Unknown field; check its spelling against the API documentation."
CALCULATOR = "il2-dutcher-2014"
MEASUREMENT = {"measured_on": "2026-01-05", "weight_kg": "68.4", "height_cm": "172.0"}


def test_the_query_refusal_says_what_the_body_refusal_says():
    # Given the refusal of an unknown body field
    # When the refusal of an unknown query parameter is read
    # Then it is the same sentence, naming a query parameter instead of a field
    said_of_a_query = BODY_UNKNOWN.replace("Unknown field", "Unknown query parameter")
    assert said_of_a_query == UNKNOWN_QUERY_PARAMETER


# --- unknown parameters --------------------------------------------------------------------------


def test_a_misspelt_page_size_on_a_list_is_refused_not_answered_with_the_default_page(
    world, document
):
    # Given a list that is paged by `limit`
    # When `limit` is misspelt `limt`
    response = send(
        "GET", "/patients", headers=world.bearer(Role.NAVIGATOR), query_string={"limt": "500"}
    )

    # Then it is refused with the documented 422 naming the misspelt parameter
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"limt": [UNKNOWN_QUERY_PARAMETER]})
    assert_documented(document, "GET", "/patients", response)


def test_a_query_parameter_on_a_detail_route_that_takes_none_is_refused(world, document):
    # Given one patient's record, whose route takes no query parameter
    path = f"/patients/{world.patient.public_id}"

    # When it is asked for with one
    response = send(
        "GET", path, headers=world.bearer(Role.NAVIGATOR), query_string={"expand": "journeys"}
    )

    # Then it is refused with the documented 422 naming it
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"expand": [UNKNOWN_QUERY_PARAMETER]})
    assert_documented(document, "GET", "/patients/{public_id}", response)


def test_a_query_parameter_on_a_calculator_is_refused_though_its_body_is_valid(world, document):
    # Given a calculator's own example body (the IL-2 hold/stop criteria, Dutcher 2014), which it
    # answers, and the rows already in the database
    calculator = get_calculator(CALCULATOR)
    assert calculator is not None
    body = json.dumps(calculator.example)
    headers = {**world.bearer(Role.PHYSICIAN), "Content-Type": "application/json"}
    assert send("POST", f"/calc/{CALCULATOR}", headers=headers, data=body).status_code == 200
    rows, events = rows_in_every_table(), AuditEvent.objects.count()

    # When the same body is sent with a query parameter the calculator does not take
    response = send(
        "POST", f"/calc/{CALCULATOR}", headers=headers, data=body, query_string={"dose": "600000"}
    )

    # Then it is refused with the documented 422 naming it, and nothing is written
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"dose": [UNKNOWN_QUERY_PARAMETER]})
    assert_documented(document, "POST", f"/calc/{CALCULATOR}", response)
    assert (rows_in_every_table(), AuditEvent.objects.count()) == (rows, events)


def test_a_query_parameter_on_a_write_is_refused_and_nothing_is_written(world, document):
    # Given a patient and a valid measurement
    patient = world.patient
    rows, events = rows_in_every_table(), AuditEvent.objects.count()

    # When it is posted with a query parameter the operation does not take
    response = send(
        "POST",
        f"/patients/{patient.public_id}/measurements",
        headers={**world.bearer(Role.NAVIGATOR), "Content-Type": "application/json"},
        data=json.dumps(MEASUREMENT),
        query_string={"dry_run": "true"},
    )

    # Then it is refused with the documented 422 naming it, and nothing is written
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"dry_run": [UNKNOWN_QUERY_PARAMETER]})
    assert_documented(document, "POST", "/patients/{public_id}/measurements", response)
    assert BodyMeasurement.objects.filter(patient=patient).count() == 0
    assert (rows_in_every_table(), AuditEvent.objects.count()) == (rows, events)


def test_an_unknown_parameter_is_refused_with_the_other_input_errors_in_one_answer(world):
    # When a list is asked for with a page size over its limit and a misspelt offset
    response = send(
        "GET",
        "/patients",
        headers=world.bearer(Role.NAVIGATOR),
        query_string={"limit": "500", "ofset": "50"},
    )

    # Then both are refused, each by its name
    assert response.status_code == 422
    assert response.get_json() == invalid_input(
        {"limit": ["limit must be at most 200."], "ofset": [UNKNOWN_QUERY_PARAMETER]}
    )


def test_the_declared_parameters_still_work(world):
    # Given two more patients than those of the API's world
    known = Patient.objects.filter(center=world.team.center).count()
    PatientFactory.create_batch(2, center=world.team.center)

    # When the list is asked for one patient a page, from the second
    response = send(
        "GET",
        "/patients",
        headers=world.bearer(Role.NAVIGATOR),
        query_string={"limit": "1", "offset": "1", "q": ""},
    )

    # Then one patient is answered, of them all
    assert response.status_code == 200
    body = response.get_json()
    assert (len(body["items"]), body["count"]) == (1, known + 2)


def test_an_anonymous_request_with_an_unknown_parameter_is_told_to_authenticate(document):
    # When a request without credentials sends an unknown parameter
    response = send("GET", "/patients", query_string={"limt": "5"})

    # Then it is the documented 401 (authentication comes before any input is read)
    assert response.status_code == 401
    assert_documented(document, "GET", "/patients", response)


def test_a_path_the_api_does_not_have_is_not_found_whatever_its_query(world):
    # When a path the API does not have is asked for with a query
    response = send(
        "GET", "/no-such-list", headers=world.bearer(Role.NAVIGATOR), query_string={"limt": "5"}
    )

    # Then it is not found, as without the query (the path is what is wrong)
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Not found."}


def _operations() -> list[tuple[str, str]]:
    return [
        (method, path.removeprefix(ROOT))
        for path, operations in api.get_openapi_schema()["paths"].items()
        for method in operations
    ]


def test_every_operation_refuses_an_unknown_query_parameter_as_documented(world, document):
    # Given every operation of the document, each sent as a role that may perform it, about a
    # record it may see (a body, where one is taken, is empty: its own refusals may come too)
    operations = _operations()
    assert len(operations) > 100
    rows, events = rows_in_every_table(), AuditEvent.objects.count()
    wrong = []
    for method, template in operations:
        path = template
        for name, value in world.path_parameters(template).items():
            path = path.replace("{" + name + "}", value)
        headers = world.bearer(ApiWorld.role_for(method, template))
        if method != "get":
            headers["Content-Type"] = "application/json"

        # When it is sent a query parameter it does not declare
        response = send(
            method.upper(),
            path,
            headers=headers,
            data="{}" if method != "get" else None,
            query_string={"zz_misspelt": "1"},
        )

        # Then it is refused with its documented 422, naming the parameter
        errors = response.get_json().get("errors", {}) if response.is_json else {}
        if response.status_code != 422 or errors.get("zz_misspelt") != [UNKNOWN_QUERY_PARAMETER]:
            wrong.append(f"{method.upper()} {template}: {response.status_code} {errors}")
        else:
            assert_documented(document, method.upper(), template, response)

    assert wrong == []
    # And nothing was written by any of them
    assert (rows_in_every_table(), AuditEvent.objects.count()) == (rows, events)


# --- typed parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["true", "1.0", "1e2", "+5", "5_0", " 5", ""])
def test_a_page_size_that_is_not_digits_only_is_refused(world, text):
    # When the page size is written as a yes/no, a decimal, an exponent, signed, with an
    # underscore or a space, or left empty (Python or pydantic would read most of these)
    response = send(
        "GET", "/patients", headers=world.bearer(Role.NAVIGATOR), query_string={"limit": text}
    )

    # Then it is refused once, naming the page size and how to write it
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"limit": [QUERY_WHOLE_NUMBER]})


def late_shipments(world, text):
    """The navigator's shipment list asked with `late` written as `text`."""
    return send(
        "GET",
        "/identity/shipments",
        headers=world.bearer(Role.NAVIGATOR),
        query_string={"late": text},
    )


@pytest.mark.parametrize("text", ["1", "0", "yes", "on", "True", ""])
def test_a_yes_no_parameter_takes_only_true_or_false(world, text):
    # When the late-shipments filter is written other than true or false
    response = late_shipments(world, text)

    # Then it is refused, saying how to write it
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"late": [QUERY_TRUE_OR_FALSE]})


@pytest.mark.parametrize("text", ["true", "false"])
def test_a_yes_no_parameter_written_true_or_false_is_taken(world, text):
    # When the late-shipments filter is written true or false
    response = late_shipments(world, text)

    # Then the list is answered
    assert response.status_code == 200


def test_a_parameter_given_twice_is_refused(world):
    # When the page size is given twice, with two values
    response = send(
        "GET",
        "/patients",
        headers=world.bearer(Role.NAVIGATOR),
        query_string=[("limit", "1"), ("limit", "200")],
    )

    # Then it is refused rather than one of them chosen
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"limit": [REPEATED_QUERY_PARAMETER]})


# --- the early-warning threshold and the screen thresholds ---------------------------------------

FORECAST = "/manufacturing/batches/{public_id}/forecast"
RANKING = "/manufacturing/batches/{public_id}/ranking"


def _query_schema(template: str, name: str) -> dict[str, Any]:
    operation = api.get_openapi_schema()["paths"][ROOT + template]["get"]
    return next(p["schema"] for p in operation["parameters"] if p["name"] == name)


def test_the_early_warning_threshold_is_documented_as_a_probability():
    # When the forecast's threshold parameter is read in the document
    schema = _query_schema(FORECAST, "warn_below_probability")

    # Then it is a number above 0 and at most 1 (the clinical core's range for it)
    assert (schema["type"], schema["exclusiveMinimum"], schema["maximum"]) == ("number", 0, 1)


def test_the_screen_thresholds_are_documented_with_their_ranges():
    # When the ranking's threshold parameters are read in the document
    ranges = {
        name: (schema["type"], schema["minimum"], schema["maximum"])
        for name in (
            "min_ifn_gamma_difference_pg_per_ml",
            "min_ifn_gamma_fold",
            "min_cd137_difference_points",
        )
        for schema in [_query_schema(RANKING, name)]
    }

    # Then each is a number with the range a facility's stored threshold has
    assert ranges == {
        "min_ifn_gamma_difference_pg_per_ml": ("number", 0, 1_000_000),
        "min_ifn_gamma_fold": ("number", 0, 1000),
        "min_cd137_difference_points": ("number", 0, 100),
    }


def forecast_warning_below(world, text):
    """The technologist's forecast of the world's batch, its early-warning threshold written as
    `text`."""
    return send(
        "GET",
        FORECAST.replace("{public_id}", str(world.batch.public_id)),
        headers=world.bearer(Role.MANUFACTURING_TECH),
        query_string={"warn_below_probability": text},
    )


@pytest.mark.parametrize("text", ["1e-1", "0,8", "", "80%"])
def test_an_early_warning_threshold_not_written_as_a_decimal_is_refused(world, document, text):
    # When the forecast is asked for with a threshold written as an exponent, with a decimal
    # comma, empty, or as a percentage
    response = forecast_warning_below(world, text)

    # Then it is refused with the documented 422, saying how to write it
    assert response.status_code == 422
    assert response.get_json() == invalid_input({"warn_below_probability": [QUERY_DECIMAL]})
    assert_documented(document, "GET", FORECAST, response)


def test_an_early_warning_threshold_of_zero_is_refused_by_the_threshold_check(world, document):
    # When the forecast is asked for with a threshold of 0 (no probability is below it)
    response = forecast_warning_below(world, "0")

    # Then it is refused naming the threshold and its range
    assert response.status_code == 422
    assert response.get_json() == invalid_input(
        {
            "warn_below_probability": [
                "Early-warning threshold “0” must be a probability above 0 and at most 1 "
                "(e.g. 0.80)."
            ]
        }
    )
    assert_documented(document, "GET", FORECAST, response)


def test_an_early_warning_threshold_of_one_is_taken(world):
    # When the forecast is asked for with a threshold of 1 (the range's upper end)
    response = forecast_warning_below(world, "1")

    # Then the forecast is answered with that threshold
    assert response.status_code == 200
    assert Decimal(response.get_json()["warn_below_probability"]) == Decimal(1)


# --- request schemas read JSON objects only ------------------------------------------------------


def test_a_request_schema_does_not_read_an_object_s_attributes():
    # Given an object whose attributes are a valid measurement
    measurement = SimpleNamespace(**MEASUREMENT)

    # When a measurement's request schema is given the object instead of a JSON object
    with pytest.raises(ValidationError) as refused:
        MeasurementIn.model_validate(measurement)

    # Then it is refused as not an object
    assert [error["type"] for error in refused.value.errors()] == ["model_type"]


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_every_request_schema_reads_json_objects_only():
    # Given every request schema of the API (calculators' made strict at registration)
    schemas = _subclasses(InputSchema)
    assert len(schemas) > 50

    # When their settings are read
    reading_attributes = [s.__qualname__ for s in schemas if s.model_config.get("from_attributes")]

    # Then none reads a value's attributes
    assert reading_attributes == []
