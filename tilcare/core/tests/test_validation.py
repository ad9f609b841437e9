"""The shared input checks: JSON types at the API's edge, strict schemas, refusals by field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import Field, Schema
from pydantic import ValidationError

from tilcare.core.api_support import (
    FORM_TEXT,
    InputSchema,
    checked_range,
    field_errors,
    one_or_many,
    strict_input,
)
from tilcare.core.forms import DecimalField, IntegerField
from tilcare.core.validation import (
    DATE,
    DATE_TIME,
    DECIMAL,
    NO_OFFSET,
    TRUE_OR_FALSE,
    UNDERSCORE,
    WHOLE_NUMBER,
    check_decimal_range,
    json_type_problem,
)

UNKNOWN = "Unknown field; check its spelling against the API documentation."


@pytest.mark.parametrize(
    ("value", "annotation", "problem"),
    [
        (True, int, WHOLE_NUMBER),
        ("3", int, WHOLE_NUMBER),
        (Decimal("3.0"), int, WHOLE_NUMBER),
        (3, int, None),
        (1, bool, TRUE_OR_FALSE),
        ("true", bool, TRUE_OR_FALSE),
        (False, bool, None),
        (1767225600, dt.datetime, DATE_TIME),
        ("2026-01-01T00:00:00Z", dt.datetime, None),
        ("2026-01-01T09:00:00", dt.datetime, NO_OFFSET),
        ("2026-01-01", dt.datetime, NO_OFFSET),
        (20260101, dt.date, DATE),
        ("2026-01-01", dt.date, None),
        (None, int | None, None),
        (True, int | None, WHOLE_NUMBER),
        ([1, True], list[int], f"Item 2: {WHOLE_NUMBER[:1].lower()}{WHOLE_NUMBER[1:]}"),
        (True, Literal[1, 2], "Send one of: 1, 2."),
        (Decimal("2.5"), Decimal, None),
        ("68.4", Decimal, None),
        ("6_84", Decimal, UNDERSCORE),
    ],
    ids=repr,
)
def test_json_types_that_lax_conversion_would_take_are_refused(value, annotation, problem):
    # Given a value as the API's parser reads it from JSON, and the field's type
    # When it is checked
    # Then only a confusion of JSON types is refused, in words
    assert json_type_problem(value, annotation) == problem


class _Row(Schema):
    day: int = Field(..., ge=0, le=60)


class _Calculator(Schema):
    """A calculator's schema as its definition declares it: a plain Schema."""

    count: int = Field(2, ge=1, le=20, description="Bags")
    rows: list[_Row] = Field(default_factory=list)


def _refusals(schema: type[Schema], body: object, context: dict | None = None) -> dict:
    try:
        schema.model_validate(body, context=context)
    except ValidationError as error:
        return field_errors([{**e, "loc": ("body", "payload", *e["loc"])} for e in error.errors()])
    return {}


def test_a_strict_version_keeps_the_name_limits_and_description():
    # Given a calculator's plain schema
    # When it is made strict
    strict = strict_input(_Calculator)

    # Then it is an InputSchema under the same name, with the same field, limits and description
    assert issubclass(strict, InputSchema)
    assert strict.__name__ == "_Calculator"
    assert strict.model_fields["count"].description == "Bags"
    assert _refusals(strict, {"count": 21}) == {"count": ["count must be at most 20."]}
    assert strict_input(_Calculator) is strict


def test_a_strict_version_refuses_an_unknown_field_a_plain_schema_ignored():
    # Given a misspelt field, which the plain schema drops silently
    body = {"cuont": 3}
    assert _refusals(_Calculator, body) == {}

    # When the strict version reads it
    # Then it is refused by name
    assert _refusals(strict_input(_Calculator), body) == {"cuont": [UNKNOWN]}


def test_nested_rows_are_strict_and_named_by_their_path():
    strict = strict_input(_Calculator)

    assert _refusals(strict, {"rows": [{"day": 1}, {"day": True}]}) == {
        "rows.1.day": [WHOLE_NUMBER]
    }
    assert _refusals(strict, {"rows": [{"day": 1, "dya": 2}]}) == {"rows.0.dya": [UNKNOWN]}


def test_the_page_form_may_send_typed_text():
    # Given the values a page's form sends: text
    body = {"count": "3", "rows": [{"day": "2"}]}

    # When they are validated in the form's context, and as JSON
    # Then the form's text is taken, the JSON's text refused
    assert _refusals(strict_input(_Calculator), body, FORM_TEXT) == {}
    assert _refusals(strict_input(_Calculator), {"count": "1_0"}, FORM_TEXT) == {
        "count": [UNDERSCORE]
    }
    assert _refusals(strict_input(_Calculator), body) == {
        "count": [WHOLE_NUMBER],
        "rows.0.day": [WHOLE_NUMBER],
    }


class _Count(InputSchema):
    viable_cells: Decimal


class _Counts(Schema):
    payload: one_or_many(_Count, "counts")  # type: ignore[valid-type]


def test_one_object_or_a_list_name_a_field_like_the_services():
    # Given a body that may be one count or a list of counts
    # When one count, then a list, carries true for a number of cells
    one = _refusals_of_body({"viable_cells": True})
    many = _refusals_of_body([{"viable_cells": 5}, {"viable_cells": True}])

    # Then the one names the field, the list its row, and neither the other shape's complaints
    message = DECIMAL
    assert one == {"viable_cells": [message]}
    assert many == {"counts.1.viable_cells": [message]}


def _refusals_of_body(body: object) -> dict:
    try:
        _Counts.model_validate({"payload": body})
    except ValidationError as error:
        return field_errors([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
    return {}


def test_a_limit_message_names_the_field_and_the_limit_as_people_write_it():
    errors = [
        {
            "loc": ("body", "payload", "viable_cells"),
            "msg": "Input should be less than or equal to 1E+11",
            "type": "less_than_equal",
            "ctx": {"le": Decimal("1E+11")},
        },
        {
            "loc": ("query", "offset"),
            "msg": "Input should be greater than or equal to 0",
            "type": "greater_than_equal",
            "ctx": {"ge": 0},
        },
    ]

    assert field_errors(errors) == {
        "viable_cells": ["viable_cells must be at most 100,000,000,000."],
        "offset": ["offset must be at least 0."],
    }


def test_a_checked_range_is_declared_as_json_numbers():
    assert checked_range(Decimal("0.001"), Decimal(500)) == {"minimum": 0.001, "maximum": 500}
    assert checked_range(0, Decimal("1E+12"), above_minimum=True) == {
        "exclusiveMinimum": 0,
        "maximum": 1000000000000,
    }


def test_a_decimal_range_refuses_true_as_a_number():
    # Given true sent for a weight
    errors: dict[str, list[str]] = {}

    # When the weight is checked against its range
    value = check_decimal_range(
        errors, "weight_kg", "Weight", True, Decimal(20), Decimal(350), "kg"
    )

    # Then it is refused by name, not read as 1 kg
    assert value is None
    assert errors == {"weight_kg": ["Weight must be a number in kg, not true/false."]}


def test_a_body_of_the_wrong_shape_is_told_what_to_send():
    # Given a list sent where an object is expected, and an object where a list is
    errors = [
        {
            "loc": ("body", "payload"),
            "msg": "Input should be a valid dictionary",
            "type": "model_attributes_type",
        },
        {
            "loc": ("body", "payload", 0),
            "msg": "Input should be a valid dictionary",
            "type": "dict_type",
        },
    ]

    # When they are reformatted
    # Then the whole body, or the row, is told what to send
    assert field_errors(errors) == {
        "__all__": ["Send a JSON object with its fields."],
        "0": ["Send a JSON object with its fields."],
    }


@pytest.mark.parametrize("field", [DecimalField(), IntegerField()], ids=["decimal", "whole"])
def test_a_domain_form_refuses_a_number_typed_with_an_underscore(field):
    # Given a number typed on a page as "1_0" (which Python would read as 10)
    # When the form's number field cleans it
    with pytest.raises(DjangoValidationError) as refused:
        field.clean("1_0")

    # Then it is refused, saying how to write it, and a plain number is still taken
    assert refused.value.messages == [UNDERSCORE]
    assert field.clean("10") == 10
