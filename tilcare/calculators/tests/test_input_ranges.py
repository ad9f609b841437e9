"""Every number every calculator takes has a plausible range: declared in the API document, and
enforced on the API, where a value outside it is refused on its own field.

The ranges are entry-slip limits that catch typing errors (a count typed in cells where ×10⁹ cells
were meant, hours typed as minutes, 10³⁰ from a broken interface): generous, not clinical limits.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tilcare.accounts.choices import Role
from tilcare.calculators.registry import Calculator, all_calculators
from tilcare.calculators.tests.helpers import client_for
from tilcare.calculators.tests.helpers import post as calculator_post

pytestmark = pytest.mark.django_db

NUMBER_TYPES = {"number", "integer"}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _resolve(root["$defs"][ref.rsplit("/", 1)[-1]], root)
    return schema


def _branches(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, root)
    found = [schema]
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            found.extend(_branches(branch, root))
    return found


def _is_number(schema: dict[str, Any], root: dict[str, Any]) -> bool:
    return any(branch.get("type") in NUMBER_TYPES for branch in _branches(schema, root))


def _bounded(schema: dict[str, Any]) -> bool:
    low = "minimum" in schema or "exclusiveMinimum" in schema
    high = "maximum" in schema or "exclusiveMaximum" in schema
    return low and high


def _unbounded_numbers(path: str, schema: dict[str, Any], root: dict[str, Any]) -> list[str]:
    """The dotted paths of every number under `schema` that declares no lower or upper bound."""
    schema = _resolve(schema, root)
    problems: list[str] = []
    numbers = [b for b in _branches(schema, root) if b.get("type") in NUMBER_TYPES]
    if numbers and not (_bounded(schema) or all(_bounded(branch) for branch in numbers)):
        problems.append(path)
    for branch in _branches(schema, root):
        if branch.get("type") == "array" and "items" in branch:
            problems += _unbounded_numbers(f"{path}[]", branch["items"], root)
        for name, child in branch.get("properties", {}).items():
            problems += _unbounded_numbers(f"{path}.{name}" if path else name, child, root)
    return problems


def test_every_number_of_every_calculator_declares_its_range():
    # Given every registered calculator's input schema, as the API document shows it
    # When each number in it is looked at, in nested rows and lists too
    unbounded = {}
    for calculator in all_calculators():
        schema = calculator.input_schema.model_json_schema()
        problems = _unbounded_numbers("", schema, schema)
        if problems:
            unbounded[calculator.slug] = problems

    # Then each declares a lower and an upper limit
    assert unbounded == {}


def _top_level_numbers(calculator: Calculator) -> list[tuple[str, bool]]:
    """(name, whole number?) of each number at the top level of the calculator's input."""
    schema = calculator.input_schema.model_json_schema()
    return [
        (name, all(b.get("type") != "number" for b in _branches(prop, schema)))
        for name, prop in schema["properties"].items()
        if _is_number(prop, schema)
    ]


# 10^30 and -10^30 as JSON numbers: a whole number for a whole-number field.
HUGE = {False: ("1e30", "-1e30"), True: (str(10**30), str(-(10**30)))}
CASES = [
    pytest.param(calculator.slug, field, value, id=f"{calculator.slug}-{field}-{value[:6]}")
    for calculator in all_calculators()
    for field, whole in _top_level_numbers(calculator)
    for value in HUGE[whole]
]
# A refusal says which limit the value is past ("above the plausible maximum 350 kg", "must be
# at least 0 /mm³", "must be between 0 and 80", "is outside 0 to 100 %", "would widen the
# protocol's range 8–12 h").
LIMIT_WORDS = re.compile(
    r"(maximum|minimum|at most|at least|greater than|between|outside|range) -?[0-9]"
)


@pytest.mark.parametrize(("slug", "field", "value"), CASES)
def test_a_number_far_outside_its_range_is_refused_on_its_own_field(slug, field, value):
    # Given the calculator's own worked example (its center settings left out: they have no
    # default), with one number of its schema set to 10^30 or -10^30 as a JSON number
    calculator = next(c for c in all_calculators() if c.slug == slug)
    body = {k: v for k, v in (calculator.example or {}).items() if k != field}
    raw = json.dumps(body)[:-1] + (", " if body else "") + f'"{field}": {value}}}'

    # When it is sent to the calculator
    response = post(slug, raw)

    # Then it is refused on that field alone, the message naming the limit it is past
    assert response.status_code == 422, response.json()
    errors = response.json()["errors"]
    assert list(errors) == [field], errors
    assert len(errors[field]) == 1
    assert LIMIT_WORDS.search(errors[field][0]), errors[field][0]


def test_every_calculator_has_numbers_to_refuse_or_none_at_all():
    # Given the cases above; when they are counted; then every calculator with a number is in
    # them (the enumeration did not silently find nothing)
    with_numbers = {slug for slug, _, _ in (case.values for case in CASES)}
    assert len(CASES) > 100
    assert "il2-schedule-lifileucel-us-2024" in with_numbers
    assert "cell-dose-lifileucel-us-2024" in with_numbers
    assert "culture-reactivity" in with_numbers


def post(slug: str, raw: str):
    """The raw JSON text sent to the calculator `slug` by a physician."""
    return calculator_post(client_for(Role.PHYSICIAN), slug, None, raw=raw)


@pytest.mark.parametrize(
    ("slug", "raw", "field", "message"),
    [
        pytest.param(
            "cell-dose-lifileucel-us-2024",
            '{"total_viable_cells": 1e12, "unit": "e9_cells", "bag_count": 2}',
            "total_viable_cells",
            "total_viable_cells 1E+12 ×10⁹ cells is above the plausible maximum 1,000 ×10⁹ "
            "cells; check the unit (cells or ×10⁹ cells).",
            id="cells-10^12-x10^9",
        ),
        pytest.param(
            "cell-dose-lifileucel-us-2024",
            '{"total_viable_cells": 2e12, "unit": "cells", "bag_count": 2}',
            "total_viable_cells",
            "total_viable_cells 2E+12 cells is above the plausible maximum "
            "1,000,000,000,000 cells; check the unit (cells or ×10⁹ cells).",
            id="cells-2x10^12-cells",
        ),
        pytest.param(
            "il2-schedule-lifileucel-us-2024",
            '{"infusion_end": "2026-03-03T14:00:00-05:00", '
            '"doses_given": ["2026-03-03T20:00:00-05:00"], '
            '"at": "2026-03-04T05:00:00-05:00", "il2_start_max_hours": 1000000000000}',
            "il2_start_max_hours",
            None,
            id="IL-2-start-10^12-h-after-the-first-dose",
        ),
        pytest.param(
            "ideal-body-weight",
            '{"height_cm": 175, "sex": "male", "weight_kg": -1000000000000}',
            "weight_kg",
            "weight_kg -1000000000000 is below the plausible minimum 20 kg.",
            id="IBW-weight--10^12-kg-not-needed-at-175-cm",
        ),
        pytest.param(
            "lymphodepletion-lifileucel-us-2024",
            '{"weight_kg": 80, "height_cm": 178, "sex": "male", "age_years": 52, '
            '"serum_creatinine_mg_per_dl": 1.0, "fludarabine_renal_bands": '
            '[{"crcl_from_ml_per_min": 40, "crcl_to_ml_per_min": 79, "dose": 1e30}]}',
            "fludarabine_renal_bands.0.dose",
            "dose 1E+30 is above the allowed maximum 25 mg/m².",
            id="fludarabine-band-dose-10^30-mg/m2",
        ),
        pytest.param(
            "culture-reactivity",
            '{"readouts": [{"culture_id": "F03", "ifn_gamma_tumor_pg_per_ml": 1850, '
            '"ifn_gamma_control_pg_per_ml": 120, "cd137_tumor_percent": 14.2, '
            '"cd137_control_percent": 1.1}], "min_ifn_gamma_difference_pg_per_ml": 200, '
            '"min_ifn_gamma_fold": 1e12, "min_cd137_difference_percent": 2}',
            "min_ifn_gamma_fold",
            "min_ifn_gamma_fold 1E+12 is above the plausible maximum 1000.",
            id="reactivity-fold-10^12",
        ),
    ],
)
def test_the_values_once_accepted_are_refused_on_their_field(slug, raw, field, message):
    # Given a number a typing slip could give, which the calculator once accepted
    # When it is sent
    response = post(slug, raw)

    # Then it is refused on its own field, naming the limit
    assert response.status_code == 422, response.json()
    errors = response.json()["errors"]
    assert list(errors) == [field]
    if message is None:
        # The IL-2 start window is the protocol's (lifileucel: 3 to 24 hours after the infusion,
        # US prescribing information): the center may narrow it, never widen it.
        assert "would widen the protocol's range 3–24 h" in errors[field][0]
    else:
        assert errors[field] == [message]


def _row_numbers(calculator: Calculator) -> list[tuple[str, str, bool]]:
    """(list, column, whole number?) of each number in the rows of the example's lists."""
    schema = calculator.input_schema.model_json_schema()
    found = []
    for name, value in (calculator.example or {}).items():
        if not (isinstance(value, list) and value and isinstance(value[0], dict)):
            continue
        arrays = [b for b in _branches(schema["properties"][name], schema) if "items" in b]
        row = _resolve(arrays[0]["items"], schema)
        found += [
            (name, column, all(b.get("type") != "number" for b in _branches(prop, schema)))
            for column, prop in row["properties"].items()
            if column in value[0] and _is_number(prop, schema)
        ]
    return found


ROW_CASES = [
    pytest.param(c.slug, rows, column, value, id=f"{c.slug}-{rows}-{column}-{value[:6]}")
    for c in all_calculators()
    for rows, column, whole in _row_numbers(c)
    for value in HUGE[whole]
]


def test_the_row_cases_reach_every_list_of_rows():
    assert {slug for slug, *_ in (case.values for case in ROW_CASES)} == {
        "harvest-forecast",
        "culture-reactivity",
        "recist-1-1",
    }


@pytest.mark.parametrize(("slug", "rows", "column", "value"), ROW_CASES)
def test_a_number_far_outside_its_range_in_a_row_is_refused_on_that_row(slug, rows, column, value):
    # Given the calculator's worked example, its first row's number set to 10^30 or -10^30
    calculator = next(c for c in all_calculators() if c.slug == slug)
    body = json.loads(json.dumps(calculator.example))
    body[rows][0][column] = "@"
    raw = json.dumps(body).replace('"@"', value)

    # When it is sent
    response = post(slug, raw)

    # Then it is refused on that row's column, naming the limit
    assert response.status_code == 422, response.json()
    errors = response.json()["errors"]
    assert list(errors) == [f"{rows}.0.{column}"], errors
    assert LIMIT_WORDS.search(errors[f"{rows}.0.{column}"][0])
