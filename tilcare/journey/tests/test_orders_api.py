"""`POST /api/v1/journeys/{public_id}/orders`: a treating physician orders lymphodepletion or IL-2
for the journey's current course; the doses are computed by the treatment domain and the answer
is the order as the treatment API shows it. Other roles get 403 and a facility 404, writing
nothing; a refused body is 422 naming the field, a refused state 409 in words.

Theodora is 80 kg and 180 cm (measured 14 June 2026); the Riverside center has the lifileucel
settings of the treatment tests in force: cyclophosphamide 4,800 mg, fludarabine 50 mg, IL-2
48,000,000 IU (the label's worked examples, tilcare/treatment/tests/test_orders.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for, invalid_input, post_json, row_counts
from tilcare.journey import services
from tilcare.journey.choices import Stage
from tilcare.journey.tests.factories import walk_to
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.models import Order, OrderDose
from tilcare.treatment.schemas.orders import CREATININE_AS_TEXT

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)  # noon in New York
WRITTEN = (Order, OrderDose, AuditEvent)
LYMPHODEPLETION = {
    "kind": "lymphodepletion",
    "serum_creatinine_mg_per_dl": "0.8",
    "creatinine_drawn_on": "2026-06-14",
}
NOT_IN_FORCE = (
    "Lifileucel (Amtagvi), US label regimen 2024: the center's protocol settings are not in "
    "force yet. A pharmacist and a treating physician of the center enter and sign them on the "
    "Protocols page; no dose is calculated before."
)
NO_CREATININE_FOR_IL2 = (
    "An IL-2 order takes no creatinine: its doses are computed from the weight. Send it without "
    "this field."
)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW):
        yield


def order(user: Any, journey: Any, body: object) -> Any:
    return post_json(client_for(user), f"/api/v1/journeys/{journey.public_id}/orders", body)


def refused(user: Any, journey: Any, body: object, status: int) -> Any:
    """Send a request that must be refused with `status`, and check it wrote nothing."""
    before = row_counts(*WRITTEN)
    response = order(user, journey, body)
    assert response.status_code == status, response.content
    assert row_counts(*WRITTEN) == before
    return response.json()


# 1. The physician orders both kinds -------------------------------------------------------------


def test_the_physician_orders_lymphodepletion(team, journey, measured, in_force):
    response = order(team.physician, journey, LYMPHODEPLETION)

    assert response.status_code == 201
    body = response.json()
    written = Order.objects.get()
    assert body["public_id"] == str(written.public_id)
    assert (body["kind"], body["status"], body["coi"], body["manufacture_attempt"]) == (
        OrderKind.LYMPHODEPLETION,
        OrderStatus.AWAITING_VERIFICATION,
        journey.coi_din + journey.coi_check,
        1,
    )
    assert body["activation"]["number"] == in_force.number == 1
    assert body["doses"] == [
        {"sequence": 1, "day": -7, "agent": "cyclophosphamide", "route": "IV", "dose": "4800.00",
         "dose_unit": "mg", "administration": None},
        {"sequence": 2, "day": -6, "agent": "cyclophosphamide", "route": "IV", "dose": "4800.00",
         "dose_unit": "mg", "administration": None},
        *[
            {"sequence": n, "day": n - 8, "agent": "fludarabine", "route": "IV", "dose": "50.00",
             "dose_unit": "mg", "administration": None}
            for n in range(3, 8)
        ],
    ]  # fmt: skip
    assert body["inputs"]["serum_creatinine_mg_per_dl"] == "0.8"
    assert body["inputs"]["creatinine_drawn_on"] == "2026-06-14"
    assert body["inputs"]["weight_kg"] == "80.0"
    assert body["ordered_by"] == team.physician.printed_name
    assert (written.ordered_by, written.coi_din) == (team.physician, journey.coi_din)


def test_the_physician_orders_il2(team, journey, measured, in_force):
    response = order(team.physician, journey, {"kind": "il2"})

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["status"]) == (OrderKind.IL2, OrderStatus.AWAITING_VERIFICATION)
    assert body["doses"] == [
        {"sequence": n, "day": None, "agent": "aldesleukin", "route": "IV", "dose": "48000000.00",
         "dose_unit": "IU", "administration": None}
        for n in range(1, 7)
    ]  # fmt: skip
    assert "serum_creatinine_mg_per_dl" not in body["inputs"]


def test_a_second_open_order_of_a_kind_is_refused_in_words(team, journey, measured, in_force):
    order(team.physician, journey, {"kind": "il2"})

    body = refused(team.physician, journey, {"kind": "il2"}, 409)

    assert body["errors"] == {
        "__all__": [
            "This course already has an open High-dose IL-2 (aldesleukin) order (awaiting "
            "pharmacist verification). Order again from that order to replace it, or cancel it "
            "first."
        ]
    }


# 2. Who may order -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["nurse", "pharmacist", "navigator"])
@pytest.mark.parametrize("body", [LYMPHODEPLETION, {"kind": "il2"}], ids=["lymphodepletion", "il2"])
def test_other_center_roles_are_refused(team, journey, measured, in_force, role, body):
    answer = refused(getattr(team, role), journey, body, 403)

    assert answer["detail"] == "Only a treating physician of this center writes treatment orders."


def test_a_facility_user_gets_404(team, journey, measured, in_force):
    journey = walk_to(journey, Stage.AT_MANUFACTURING, users=team)

    refused(team.manufacturing_tech, journey, LYMPHODEPLETION, 404)
    refused(team.qa_reviewer, journey, {"kind": "il2"}, 404)


# 3. Refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [LYMPHODEPLETION, {"kind": "il2"}], ids=["lymphodepletion", "il2"])
def test_without_settings_in_force_the_refusal_says_what_to_do(team, journey, measured, body):
    answer = refused(team.physician, journey, body, 409)

    assert answer == {"detail": NOT_IN_FORCE, "errors": {"__all__": [NOT_IN_FORCE]}}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"serum_creatinine_mg_per_dl": "25"},
            {"serum_creatinine_mg_per_dl": ["Serum creatinine must be between 0.2 and 20 mg/dL."]},
        ),
        (
            {"serum_creatinine_mg_per_dl": 0.8},
            {"serum_creatinine_mg_per_dl": [CREATININE_AS_TEXT]},
        ),
        (
            {"serum_creatinine_mg_per_dl": None},
            {"serum_creatinine_mg_per_dl": ["Serum creatinine is required."]},
        ),
        (
            {"creatinine_drawn_on": "2026-06-16"},
            {
                "creatinine_drawn_on": [
                    "The creatinine's date cannot be in the future (today is 2026-06-15)."
                ]
            },
        ),
    ],
    ids=["out of range", "a JSON number", "missing", "drawn tomorrow"],
)
def test_a_bad_creatinine_is_refused_naming_the_field(
    team, journey, measured, in_force, changes, errors
):
    answer = refused(team.physician, journey, {**LYMPHODEPLETION, **changes}, 422)

    assert answer == invalid_input(errors)


def test_an_il2_order_refuses_a_creatinine(team, journey, measured, in_force):
    answer = refused(
        team.physician,
        journey,
        {"kind": "il2", "serum_creatinine_mg_per_dl": "0.8"},
        422,
    )

    assert answer == invalid_input({"serum_creatinine_mg_per_dl": [NO_CREATININE_FOR_IL2]})


def test_an_unknown_field_or_kind_is_refused(team, journey, measured, in_force):
    unknown = refused(team.physician, journey, {**LYMPHODEPLETION, "dose_mg": "4800"}, 422)
    kind = refused(team.physician, journey, {"kind": "mesna"}, 422)

    assert list(unknown["errors"]) == ["dose_mg"]
    assert list(kind["errors"]) == ["kind"]


def test_a_closed_journey_takes_no_order(team, journey, measured, in_force):
    services.advance(
        journey, Stage.WITHDRAWN, actor=team.navigator, withdrawal_reason="patient_decision"
    )

    answer = refused(team.physician, journey, {"kind": "il2"}, 409)

    assert answer["errors"] == {
        "__all__": ["This journey is closed (“Withdrawn”): no treatment is ordered on it."]
    }
