"""Calculators take exactly the inputs they declare: strict JSON on the API, typed text on the page.

Every calculator's schema is made strict when it is registered, so a calculator declares nothing
for it: a misspelt field is refused instead of being ignored (a creatinine graded without its
misspelt baseline came back a different grade), and `true` is not a count of 1. The page's form
sends typed text ("2"), which it may.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.html import escape
from pydantic import ValidationError

from tilcare.accounts.choices import Role
from tilcare.audit.models import AuditEvent
from tilcare.calculators.registry import all_calculators, field_for_message, get_calculator
from tilcare.calculators.tests.helpers import client_for, post
from tilcare.core.api_support import InputSchema
from tilcare.core.validation import NO_OFFSET, WHOLE_NUMBER

pytestmark = pytest.mark.django_db

UNKNOWN = "Unknown field; check its spelling against the API documentation."
CELL_DOSE = "cell-dose-lifileucel-us-2024"


def test_every_registered_calculator_takes_a_strict_input_schema():
    # Given every calculator, as registered by its definition module
    # When its input schema is looked at
    # Then each is strict (unknown fields refused, JSON types checked)
    assert [c.slug for c in all_calculators() if not issubclass(c.input_schema, InputSchema)] == []


def test_a_misspelt_baseline_is_refused_not_graded_without_it():
    # Given a creatinine with its baseline under a misspelt name
    body = {"creatinine": "2.1", "uln": "1.2", "baseline_creatinne": "0.9", "unit": "mg_per_dl"}
    before = AuditEvent.objects.count()

    # When it is sent to the CTCAE v5.0 creatinine calculator
    response = post(client_for(Role.PHYSICIAN), "ctcae-creatinine", body)

    # Then it is refused naming the unknown field, and no grade is given
    assert response.status_code == 422
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": {"baseline_creatinne": [UNKNOWN]},
    }
    assert AuditEvent.objects.count() == before


def test_true_is_not_a_count_of_bags_on_the_api():
    # Given a cell dose whose number of bags is sent as true
    body = {"total_viable_cells": "21.4", "unit": "e9_cells", "bag_count": True}

    # When it is sent to the API
    response = post(client_for(Role.PHARMACIST), CELL_DOSE, body)

    # Then the number of bags is refused as not a whole number
    assert response.status_code == 422
    assert response.json()["errors"] == {"bag_count": [WHOLE_NUMBER]}


def test_text_for_a_count_is_refused_on_the_api():
    body = {"total_viable_cells": "21.4", "unit": "e9_cells", "bag_count": "2"}

    response = post(client_for(Role.PHARMACIST), CELL_DOSE, body)

    assert response.status_code == 422
    assert response.json()["errors"] == {"bag_count": [WHOLE_NUMBER]}


def test_the_page_form_takes_the_count_typed_as_text():
    # Given the cell dose the API calculates from JSON (a count as a number)
    pharmacist = client_for(Role.PHARMACIST)
    json_body = {"total_viable_cells": "21.4", "unit": "e9_cells", "bag_count": 2}
    headline = post(pharmacist, CELL_DOSE, json_body).json()["headline"]

    # When the same values are typed on the calculator's page, every value text
    form = {"total_viable_cells": "21.4", "unit": "e9_cells", "bag_count": "2"}
    response = pharmacist.post(f"/calculators/{CELL_DOSE}/", form, HTTP_HX_REQUEST="true")

    # Then the page shows the same answer: text is what a form sends
    assert response.status_code == 200
    assert escape(headline) in response.content.decode()
    assert WHOLE_NUMBER not in response.content.decode()


def worked_example(slug: str) -> dict[str, Any]:
    """The calculator's worked example, as the API documentation shows it."""
    calculator = get_calculator(slug)
    assert calculator is not None and calculator.example is not None
    return calculator.example


def test_a_refusal_naming_a_quantity_without_its_unit_lands_on_the_input_with_the_unit():
    # Given the harvest forecast's worked example with a lower dose of 0 ×10⁹ cells
    example = worked_example("harvest-forecast")
    body = {**example, "dose_lower_e9_cells": 0}

    # When it is calculated (the clinical core names the quantity "dose_lower", in cells)
    response = post(client_for(Role.MANUFACTURING_TECH), "harvest-forecast", body)

    # Then the refusal is on the input that carries it, not on the whole form
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["dose_lower_e9_cells"]


def test_a_field_begun_by_two_inputs_is_not_guessed():
    # Given inputs two of which begin with "min_ifn_gamma"
    names = [
        "min_ifn_gamma_fold",
        "min_ifn_gamma_difference_pg_per_ml",
        "min_cd137_difference_percent",
    ]

    # When a message names "min_ifn_gamma", then "min_cd137_difference"
    # Then the first is not guessed, the second is the one input it begins
    assert field_for_message("min_ifn_gamma 5 is out of range.", names) == "__all__"
    assert field_for_message("min_cd137_difference 104 % is outside 0 to 100 %.", names) == (
        "min_cd137_difference_percent"
    )


def test_a_refusal_naming_a_row_by_position_lands_on_that_row_s_column():
    # Given the harvest forecast's worked example with its first count on day 400
    example = worked_example("harvest-forecast")
    counts = example["counts"]
    body = {**example, "counts": [{**counts[0], "day": 400}, *counts[1:]]}

    # When it is calculated (the clinical core says "counts[0].day 400 is above ...")
    response = post(client_for(Role.MANUFACTURING_TECH), "harvest-forecast", body)

    # Then the refusal is on that row's day
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["counts.0.day"]


def test_a_refusal_naming_a_row_by_its_id_lands_on_that_row_s_column():
    # Given the reactivity screen's worked example with the second culture's tumour IFN-γ
    # typed 1000 times too high
    example = worked_example("culture-reactivity")
    readouts = example["readouts"]
    second = {**readouts[1], "ifn_gamma_tumor_pg_per_ml": "2000000000"}
    body = {**example, "readouts": [readouts[0], second, *readouts[2:]]}

    # When it is ranked (the clinical core names the culture by its id)
    response = post(client_for(Role.MANUFACTURING_TECH), "culture-reactivity", body)

    # Then the refusal is on that culture's row and column
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["readouts.1.ifn_gamma_tumor_pg_per_ml"]


def test_a_date_time_without_its_offset_is_refused_on_its_field():
    # Given the infusion window's worked example with "now" written without a UTC offset
    example = worked_example("infusion-window-lifileucel-us-2024")
    body = {**example, "at": "2026-03-01T08:00:00"}

    # When it is sent to the API
    response = post(client_for(Role.PHARMACIST), "infusion-window-lifileucel-us-2024", body)

    # Then the time is refused on its own field as ambiguous, not read in some time zone
    assert response.status_code == 422
    assert response.json()["errors"] == {"at": [NO_OFFSET]}


def test_every_worked_example_is_valid_strict_input():
    # Given every calculator's worked example (shown in the API documentation)
    # When it is read by the calculator's strict schema, as the API reads JSON
    refused = {}
    for calculator in all_calculators():
        try:
            calculator.input_schema.model_validate(calculator.example or {})
        except ValidationError as error:
            refused[calculator.slug] = [e["loc"] for e in error.errors()]

    # Then none is refused: a client copying an example sends strict JSON
    assert refused == {}
