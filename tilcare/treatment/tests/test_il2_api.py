"""IL-2 dose by dose over the API: where the order stands, the nurse's assessment before a dose
and the treating physician's decision.

Refusals are 403 (a role that may not assess or decide, in the policy's words), 404 (another
center's staff, a facility's user, a lymphodepletion order), 409 (the order's state), 422 (the
field, or the observation under `observations.<key>`); a refused request writes nothing.

The infusion (lifileucel) starts 30 h after the last fludarabine dose (23:30 UTC, 14 December
2026) and ends half an hour later; the first IL-2 dose is assessed 4 h after its end, inside its
window (3 h to 24 h after the infusion).
"""

from __future__ import annotations

from typing import Any

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.clinical.units import Unit
from tilcare.config.api import api
from tilcare.core.tests.clients import client_for, invalid_input, post_json, row_counts
from tilcare.treatment.choices import AdministrationOutcome, OrderKind
from tilcare.treatment.models import Administration, Il2Decision, Order
from tilcare.treatment.schemas.il2 import OBSERVATION_TYPE
from tilcare.treatment.services.il2 import NOT_ASSESSOR, NOT_DECIDER
from tilcare.treatment.tests.factories import (
    API_START,
    HOUR,
    LOW_URINE_OUTPUT,
    MIN,
    InfusionDay,
    assessed,
    il2_ordered,
    infused,
)

pytestmark = pytest.mark.django_db

ROOT = "/api/v1"
NOT_FOUND = {"detail": "Not found."}
UNKNOWN_FIELD = "Unknown field; check its spelling against the API documentation."
URINE = "urine_output_ml_per_kg_per_h_over_8h"
HYPOTENSION = "hypotension_persisting_despite_fluids"
ENDED = API_START + 30 * MIN
ASSESSED_AT = ENDED + 4 * HOUR
HOLD = {"observations": LOW_URINE_OUTPUT, "choice": "hold"}


@pytest.fixture
def course(api_day: InfusionDay, time_machine: Any) -> tuple[InfusionDay, Order]:
    """The infusion given, the IL-2 order verified; the clock 4 h after the infusion's end."""
    infused(api_day, time_machine, API_START)
    order = il2_ordered(api_day)
    time_machine.move_to(ASSESSED_AT, tick=False)
    return api_day, order


def il2_url(order: Order, action: str = "") -> str:
    return f"{ROOT}/treatment/orders/{order.public_id}/il2" + (f"/{action}" if action else "")


def decision_url(decision: Il2Decision) -> str:
    return f"{ROOT}/treatment/il2-decisions/{decision.public_id}/decision"


def post(user: Any, path: str, body: object) -> Any:
    return post_json(client_for(user), path, body)


def counts() -> tuple[int, ...]:
    return row_counts(Il2Decision, Administration, Order, AuditEvent)


# --- the standing ---------------------------------------------------------------------------


def test_the_standing_names_the_next_dose_its_window_and_the_observations(course):
    day, order = course

    # When the nurse reads where the IL-2 order stands
    response = client_for(day.team.nurse).get(il2_url(order))

    # Then no dose is recorded, the first is next, inside its window of 3 h to 24 h after the end
    assert response.status_code == 200
    body = response.json()
    assert (body["order"], body["status"]) == (str(order.public_id), "verified")
    assert (body["given"], body["held"], body["not_given"]) == (0, 0, 0)
    assert body["infusion_end"] == ENDED.isoformat()
    assert body["next_dose"]["sequence"] == 1
    assert body["next_dose"]["dose_unit"] == "IU"
    window = body["window"]
    assert (window["next_dose_number"], window["max_doses"], window["status"]) == (1, 6, "allowed")
    assert (window["allowed_from"], window["allowed_until"]) == (
        (ENDED + 3 * HOUR).isoformat(),
        (ENDED + 24 * HOUR).isoformat(),
    )
    # and the catalogue says each observation's label, unit and plausible range
    observations = {entry["key"]: entry for entry in body["observations"]}
    assert observations[URINE] == {
        "key": URINE,
        "label": "Mean urine output over the last 8 h",
        "kind": "measurement",
        "unit": Unit.ml_per_kg_per_h.value,
        "range_low": "0",
        "range_high": "20",
    }
    assert observations[HYPOTENSION]["kind"] == "finding"
    assert observations[HYPOTENSION]["unit"] is None
    assert body["decisions"] == []


def test_the_standing_is_the_centers_own(course, other_team):
    day, order = course
    lymphodepletion = Order.objects.get(
        coi_din=order.coi_din, kind=OrderKind.LYMPHODEPLETION, status="verified"
    )

    # When the pharmacist and navigator, another center's nurse and the facility read it, and
    # the nurse asks for the IL-2 standing of the lymphodepletion order
    answers = [
        client_for(user).get(il2_url(order)).status_code
        for user in (
            day.team.pharmacist,
            day.team.navigator,
            other_team.nurse,
            day.team.manufacturing_tech,
        )
    ]
    wrong_kind = client_for(day.team.nurse).get(il2_url(lymphodepletion))

    # Then the center's staff read it; the others, and a lymphodepletion order, are 404
    assert answers == [200, 200, 404, 404]
    assert (wrong_kind.status_code, wrong_kind.json()) == (404, NOT_FOUND)


# --- the nurse's assessment -----------------------------------------------------------------


def test_the_nurse_assesses_the_dose_and_holds_it_for_the_physician(course):
    day, order = course

    # When the nurse enters a mean urine output of 0.4 mL/kg/h and holds the dose
    response = post(day.team.nurse, il2_url(order, "assessments"), HOLD)

    # Then the assessment awaits the physician, with the rule that fired and its value
    assert response.status_code == 201
    body = response.json()
    decision = Il2Decision.objects.get()
    assert body["public_id"] == str(decision.public_id)
    assert (body["dose_sequence"], body["status"], body["nurse_choice"]) == (
        1,
        "awaiting_physician",
        "hold",
    )
    assert body["observations"] == {URINE: "0.4"}
    assert body["evaluated_decision"] == decision.evaluated_decision
    assert "Hold criteria met (Urine output: urine output <4 mL/kg over 8 hours)" in body["reason"]
    assert body["assessed_at"] == ASSESSED_AT.isoformat()
    assert (body["nurse"], body["physician"], body["physician_choice"]) == (
        day.team.nurse.printed_name,
        None,
        None,
    )
    # and the standing lists it
    standing = client_for(day.team.nurse).get(il2_url(order)).json()
    assert [d["public_id"] for d in standing["decisions"]] == [body["public_id"]]


def test_an_assessment_is_refused_to_other_roles_and_writes_nothing(course, other_team):
    day, order = course
    before = counts()

    # When the pharmacist, the navigator, another center's nurse and the facility assess
    answers = [
        (response.status_code, response.json())
        for response in (
            post(user, il2_url(order, "assessments"), HOLD)
            for user in (
                day.team.pharmacist,
                day.team.navigator,
                other_team.nurse,
                day.team.manufacturing_tech,
            )
        )
    ]

    # Then the center's other roles are refused in words, the others do not learn of it
    denied = {"detail": NOT_ASSESSOR}
    assert answers == [(403, denied), (403, denied), (404, NOT_FOUND), (404, NOT_FOUND)]
    assert counts() == before


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"observations": {"heart_rate_bpm": "80"}},
            {
                "observations.heart_rate_bpm": [
                    "“heart_rate_bpm” is not an observation this protocol's IL-2 rules read."
                ]
            },
        ),
        (
            {"observations": {URINE: True}},
            {
                f"observations.{URINE}": [
                    "Mean urine output over the last 8 h: send the value as text in "
                    f"{Unit.ml_per_kg_per_h.value}, not as a JSON number or true/false."
                ]
            },
        ),
        ({"observations": {URINE: 0.4}}, {f"observations.{URINE}": [OBSERVATION_TYPE]}),
        ({"observations": {URINE: 1}}, {f"observations.{URINE}": [OBSERVATION_TYPE]}),
        (
            {"observations": {HYPOTENSION: "yes"}},
            {
                f"observations.{HYPOTENSION}": [
                    "Hypotension (below the admission blood-pressure target) persists despite IV "
                    "fluid boluses: send true or false (or null when it was not assessed)."
                ]
            },
        ),
        ({"extra": "x"}, {"extra": [UNKNOWN_FIELD]}),
    ],
    ids=[
        "unknown-key",
        "true-for-measurement",
        "number-for-measurement",
        "one-for-measurement",
        "text-for-finding",
        "unknown-field",
    ],
)
def test_an_assessment_is_refused_by_field_and_writes_nothing(course, changes, errors):
    day, order = course
    before = counts()

    # When the nurse sends the assessment with the change
    response = post(day.team.nurse, il2_url(order, "assessments"), {**HOLD, **changes})

    # Then it is refused on the field, in words, and nothing is written
    assert response.status_code == 422
    assert response.json() == invalid_input(errors)
    assert counts() == before


# --- the physician's decision ---------------------------------------------------------------


def test_the_physician_holds_the_assessed_dose(course, time_machine):
    day, order = course
    decision = assessed(day, time_machine, order, ASSESSED_AT)
    time_machine.move_to(ASSESSED_AT + 10 * MIN, tick=False)

    # When the treating physician decides to hold it
    response = post(day.team.physician, decision_url(decision), {"choice": "hold", "note": ""})

    # Then the decision is taken, and the dose recorded held now
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["physician"], body["physician_choice"]) == (
        "decided",
        day.team.physician.printed_name,
        "hold",
    )
    assert body["decided_at"] == (ASSESSED_AT + 10 * MIN).isoformat()
    held = Administration.objects.get(dose=decision.dose)
    assert (held.outcome, held.at) == (AdministrationOutcome.HELD, ASSESSED_AT + 10 * MIN)
    standing = client_for(day.team.nurse).get(il2_url(order)).json()
    assert (standing["held"], standing["next_dose"]["sequence"]) == (1, 2)


def test_a_decision_is_refused_to_other_roles_and_writes_nothing(course, other_team, time_machine):
    day, order = course
    decision = assessed(day, time_machine, order, ASSESSED_AT)
    before = counts()

    # When the nurse who assessed it, the pharmacist, another center's physician and the
    # facility decide
    answers = [
        (response.status_code, response.json())
        for response in (
            post(user, decision_url(decision), {"choice": "hold"})
            for user in (
                day.team.nurse,
                day.team.pharmacist,
                other_team.physician,
                day.team.manufacturing_tech,
            )
        )
    ]

    # Then the center's other roles are refused in words, the others do not learn of it
    denied = {"detail": NOT_DECIDER}
    assert answers == [(403, denied), (403, denied), (404, NOT_FOUND), (404, NOT_FOUND)]
    assert counts() == before
    assert Il2Decision.objects.get().status == "awaiting_physician"


def test_a_decision_refuses_true_for_its_note(course, time_machine):
    day, order = course
    decision = assessed(day, time_machine, order, ASSESSED_AT)
    before = counts()

    response = post(day.team.physician, decision_url(decision), {"choice": "hold", "note": True})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["note"]
    assert counts() == before


# --- the document ---------------------------------------------------------------------------

OPERATIONS = {
    ("get", "/treatment/orders/{public_id}/il2"): {200, 401, 403, 404, 422},
    ("post", "/treatment/orders/{public_id}/il2/assessments"): {
        201,
        400,
        401,
        403,
        404,
        409,
        413,
        422,
    },
    ("post", "/treatment/il2-decisions/{public_id}/decision"): {
        200,
        400,
        401,
        403,
        404,
        409,
        413,
        422,
    },
}


def test_the_document_declares_every_answer_of_the_il2_operations():
    paths = api.get_openapi_schema()["paths"]
    declared = {
        (method, path): {int(code) for code in paths[f"{ROOT}{path}"][method]["responses"]}
        for method, path in OPERATIONS
    }
    assert declared == OPERATIONS
