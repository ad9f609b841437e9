"""The IL-2 decision screen: the answer first (next dose, its window on the center's clock, the
counts), the nurse's assessment with the rules that fired and the values that fired them, the
treating physician's decision, the history; each POST refused by role with nothing written.

The course is the conftest's `bedside_day`, infused from noon to 12:30 EDT on 15 June 2026 (16:30
UTC): the first IL-2 dose is allowed from 15:30 EDT (3 h after) until 12:30 EDT the next day.
The clock stands at 16:00 EDT (20:00 UTC) unless a test moves it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for
from tilcare.journey.tests.factories import CareTeam, make_team
from tilcare.treatment.choices import AdministrationOutcome, OrderKind, OrderStatus
from tilcare.treatment.models import Administration, Il2Decision, Order
from tilcare.treatment.services.il2 import assess_il2_dose
from tilcare.treatment.tests.factories import (
    HOUR,
    MIN,
    PAGE_NOW,
    InfusionDay,
    il2_ordered,
    infused,
)

pytestmark = pytest.mark.django_db

ASSESSED = PAGE_NOW + 4 * HOUR  # 16:00 EDT, 20:00 UTC
WRITTEN = (Il2Decision, Administration, AuditEvent)
CREATININE_HOLD = {"serum_creatinine_mg_per_dl": "2.7", "choice": "hold", "note": ""}


def text_of(response: Any) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in WRITTEN)


@pytest.fixture
def order(bedside_day: InfusionDay, time_machine: Any) -> Order:
    infused(bedside_day, time_machine, PAGE_NOW)
    found = il2_ordered(bedside_day)
    time_machine.move_to(ASSESSED, tick=False)
    return found


def screen(order: Order) -> str:
    return reverse("treatment:il2", kwargs={"public_id": order.public_id})


def assess_url(order: Order) -> str:
    return reverse("treatment:il2_assess", kwargs={"public_id": order.public_id})


def decide_url(decision: Il2Decision) -> str:
    return reverse("treatment:il2_decide", kwargs={"public_id": decision.public_id})


def assessed(order: Order, team: CareTeam) -> Il2Decision:
    """The nurse's assessment: creatinine 2.7 mg/dL, held for the physician's decision."""
    return assess_il2_dose(
        order,
        observations={"serum_creatinine_mg_per_dl": "2.7"},
        choice="hold",
        actor=team.nurse,
    )


# ---------- Reading ----------


@pytest.mark.parametrize(
    ("role", "offered"),
    [("nurse", True), ("physician", True), ("pharmacist", False), ("navigator", False)],
)
def test_the_centers_staff_read_the_answer_first_and_only_assessors_get_the_form(
    team: CareTeam, order: Order, role: str, offered: bool
) -> None:
    response = client_for(team.by_role(role)).get(screen(order))

    assert response.status_code == 200
    text = text_of(response)
    assert (
        "Next: dose 1 of 6 Aldesleukin 42,000,000 IU (42 MIU) IV Open now · Allowed from "
        "Mon 15 Jun 15:30 EDT until Tue 16 Jun 12:30 EDT Open now, closes in 20 h 30 min "
        "Given 0 Held 0 Not given 0"
    ) in text
    assert ("Record assessment" in text) is offered
    if offered:
        assert text.index("Next: dose 1 of 6") < text.index("Assess dose 1 before it is given")


def test_the_form_groups_the_observations_by_rule_set_and_organ_system(
    team: CareTeam, order: Order
) -> None:
    response = client_for(team.nurse).get(screen(order))

    sections = response.context["assess_sections"]
    assert [s.title for s in sections] == [
        "Criteria for holding and stopping IL2",
        "IL-2 hold and discontinue parameters after TIL (expert consensus, Table 2)",
    ]
    assert [g.title for g in sections[1].groups] == ["Blood pressure", "Urine output", "Renal"]
    html = response.content.decode()
    # A finding defaults to "not assessed", never to "no".
    assert re.search(r'<input type="radio" name="intubation" value=""[^>]*checked', html)
    creatinine = re.search(r'<input type="number" name="serum_creatinine_mg_per_dl"[^>]*>', html)
    assert creatinine is not None
    assert 'min="0"' in creatinine.group(0) and 'max="30"' in creatinine.group(0)
    assert "Serum creatinine (mg/dL)" in text_of(response)


def test_another_centers_staff_get_404_and_a_lymphodepletion_order_has_no_screen(
    team: CareTeam, order: Order
) -> None:
    other = make_team()
    lymphodepletion = Order.objects.get(kind=OrderKind.LYMPHODEPLETION)
    before = counts()

    answers = [
        client_for(other.nurse).get(screen(order)).status_code,
        client_for(other.nurse).post(assess_url(order), CREATININE_HOLD).status_code,
        client_for(team.nurse).get(screen(lymphodepletion)).status_code,
    ]

    assert answers == [404, 404, 404]
    assert counts() == before


@pytest.mark.parametrize("role", ["pharmacist", "navigator"])
def test_who_does_not_assess_is_refused_with_nothing_written(
    team: CareTeam, order: Order, role: str
) -> None:
    before = counts()

    response = client_for(team.by_role(role)).post(assess_url(order), CREATININE_HOLD)

    assert response.status_code == 403
    assert counts() == before


# ---------- The nurse's assessment ----------


def test_the_nurse_assesses_and_sees_the_rule_that_fired_with_its_value(
    team: CareTeam, order: Order
) -> None:
    client = client_for(team.nurse)

    response = client.post(assess_url(order), CREATININE_HOLD)

    assert response.status_code == 302
    assert response["Location"] == screen(order) + "#assessment"
    decision = Il2Decision.objects.get()
    # Creatinine alone: a hold rule fired, and what was not assessed could make it a stop.
    assert (decision.nurse, decision.nurse_choice, decision.evaluated_decision) == (
        team.nurse,
        "hold",
        "cannot decide",
    )
    assert decision.observations == {"serum_creatinine_mg_per_dl": "2.7"}
    page = client.get(screen(order))
    text = text_of(page)
    assert (
        "Dose 1 assessed: the rules say cannot decide: not enough was assessed; you chose hold. "
        "It awaits the treating physician's decision."
    ) in text
    assert (
        "The rules say: Cannot decide: not enough was assessed A rule that fired already asks "
        "at least: hold."
    ) in text
    fired = page.context["assessment"].fired
    assert [(f.rule_set, f.system, f.action) for f in fired] == [
        ("Criteria for holding and stopping IL2", "Renal", "hold"),
        (
            "IL-2 hold and discontinue parameters after TIL (expert consensus, Table 2)",
            "Renal",
            "hold",
        ),
    ]
    assert fired[0].values == ["Serum creatinine: 2.7 mg/dL (between 2.5 and 2.9 mg/dL inclusive)"]
    assert page.context["assessment"].not_assessed  # everything else was left not assessed
    assert "Record assessment" not in text  # the dose is assessed: no second assessment
    assert "Record decision" not in text  # the nurse does not decide


def test_a_nurse_may_not_give_a_dose_the_rules_do_not_clear(team: CareTeam, order: Order) -> None:
    before = counts()

    response = client_for(team.nurse).post(assess_url(order), {**CREATININE_HOLD, "choice": "give"})

    assert response.status_code == 422
    errors = response.context["assess_form"].errors
    assert list(errors) == ["choice"]
    assert errors["choice"][0].startswith("The rules do not clear this dose (")
    assert errors["choice"][0].endswith(
        "A nurse may hold it for the physician's decision or stop; only the physician may give it."
    )
    assert counts() == before


def test_a_measurement_outside_its_range_is_refused_on_its_field(
    team: CareTeam, order: Order
) -> None:
    before = counts()

    response = client_for(team.nurse).post(
        assess_url(order), {**CREATININE_HOLD, "serum_creatinine_mg_per_dl": "31"}
    )

    assert response.status_code == 422
    assert list(response.context["assess_form"].errors) == ["serum_creatinine_mg_per_dl"]
    assert 'class="assess-fold" open' in response.content.decode()
    assert counts() == before


# ---------- The physician's decision ----------


def test_only_a_physician_other_than_the_assessor_is_offered_the_decision(
    team: CareTeam, order: Order
) -> None:
    assessed(order, team)

    offered = {
        role: "Record decision" in text_of(client_for(team.by_role(role)).get(screen(order)))
        for role in ("nurse", "physician", "pharmacist", "navigator")
    }

    assert offered == {"nurse": False, "physician": True, "pharmacist": False, "navigator": False}


@pytest.mark.parametrize("role", ["nurse", "pharmacist", "navigator"])
def test_who_may_not_decide_is_refused_with_nothing_written(
    team: CareTeam, order: Order, role: str
) -> None:
    decision = assessed(order, team)
    before = counts()

    response = client_for(team.by_role(role)).post(
        decide_url(decision), {"choice": "hold", "note": ""}
    )

    assert response.status_code == 403
    assert counts() == before
    assert Il2Decision.objects.get().status == "awaiting_physician"


def test_the_physician_holds_the_dose_and_the_history_shows_both(
    team: CareTeam, order: Order, time_machine: Any
) -> None:
    decision = assessed(order, team)
    time_machine.move_to(ASSESSED + 10 * MIN, tick=False)
    client = client_for(team.physician)

    response = client.post(decide_url(decision), {"choice": "hold", "note": "Creatinine up."})

    assert response.status_code == 302 and response["Location"] == screen(order)
    held = Administration.objects.get(dose__order=order)
    assert (held.outcome, held.at) == (AdministrationOutcome.HELD, ASSESSED + 10 * MIN)
    page = client.get(screen(order))
    text = text_of(page)
    assert (
        "Dose 1. Decided: hold. The dose is recorded held; the next is assessed one interval later."
    ) in text
    assert "Next: dose 2 of 6" in text and "Given 0 Held 1 Not given 0" in text
    assert (
        "Not yet · Allowed from Tue 16 Jun 00:10 EDT until Tue 16 Jun 04:10 EDT Opens in 8 h"
    ) in text
    assert [
        (row["dose"], row["nurse_choice"], row["nurse"], row["physician_choice"], row["physician"])
        for row in page.context["history"]
    ] == [(1, "Hold", team.nurse.printed_name, "Hold", team.physician.printed_name)]
    # and the history says what fired, once, though both rule sets' renal rules fired on it
    assert page.context["history"][0]["fired"] == [
        "Serum creatinine: 2.7 mg/dL (between 2.5 and 2.9 mg/dL inclusive)"
    ]
    assert "Creatinine up." in text


def test_stopping_needs_a_note_and_then_ends_il2(team: CareTeam, order: Order) -> None:
    decision = assessed(order, team)
    client = client_for(team.physician)
    before = counts()

    refused = client.post(decide_url(decision), {"choice": "stop", "note": ""})

    assert refused.status_code == 422
    assert refused.context["decide_form"].errors == {"note": ["Say why IL-2 is stopped."]}
    assert counts() == before

    done = client.post(decide_url(decision), {"choice": "stop", "note": "Creatinine rising."})

    assert done.status_code == 302
    assert Order.objects.get(pk=order.pk).status == OrderStatus.STOPPED
    assert Administration.objects.filter(dose__order=order, outcome="not_given").count() == 6
    text = text_of(client.get(screen(order)))
    assert "IL-2 stopped" in text and "Given 0 Held 0 Not given 6" in text


# ---------- The order page ----------


@pytest.mark.parametrize(
    ("role", "shown"),
    [("pharmacist", True), ("nurse", False), ("physician", False), ("navigator", False)],
)
def test_all_orders_to_verify_shows_only_to_who_verifies(
    team: CareTeam, order: Order, role: str, shown: bool
) -> None:
    page = reverse("treatment:order", kwargs={"public_id": order.public_id})

    text = text_of(client_for(team.by_role(role)).get(page))

    assert ("All orders to verify" in text) is shown
    assert "IL-2 decision" in text


def test_times_on_the_screen_are_the_centers_at_23_30_and_05_30_utc(
    team: CareTeam, order: Order, time_machine: Any
) -> None:
    time_machine.move_to(dt.datetime(2026, 6, 15, 23, 30, tzinfo=dt.UTC), tick=False)
    late = text_of(client_for(team.nurse).get(screen(order)))
    time_machine.move_to(dt.datetime(2026, 6, 16, 5, 30, tzinfo=dt.UTC), tick=False)
    early = text_of(client_for(team.nurse).get(screen(order)))

    window = "Allowed from Mon 15 Jun 15:30 EDT until Tue 16 Jun 12:30 EDT"
    assert f"Open now · {window} Open now, closes in 17 h" in late
    assert f"Open now · {window} Open now, closes in 11 h" in early
