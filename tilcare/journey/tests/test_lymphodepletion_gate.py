"""The gate into lymphodepletion: the product at the center, the IL-2 supply for the protocol's
maximum number of doses, the infusion date, an inpatient bed, a re-assessment of the disease and
a lymphodepletion order verified by pharmacy on the patient's latest inputs. Each missing item is
named; a move refused for any of them changes nothing; with all of them met the move succeeds.

Time is stopped at noon in New York on 15 June 2026, so measurement dates and the words naming
them are fixed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import TransitionBlocked
from tilcare.journey import guards, services
from tilcare.journey.choices import MilestoneKind, Stage
from tilcare.journey.models import Journey, JourneyTransition
from tilcare.journey.selectors import course_of
from tilcare.journey.tests.factories import (
    CareTeam,
    journey_at,
    prepare_for,
    satisfy,
)
from tilcare.patients.services import record_measurement
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.models import Order
from tilcare.treatment.selectors import open_order
from tilcare.treatment.services.orders import cancel_order, order_lymphodepletion, verify_order
from tilcare.treatment.tests.factories import LIFILEUCEL_VALUES, activate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_stopped_at_module_now")]

NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)  # noon in New York
TODAY = dt.date(2026, 6, 15)

# Each requirement of the gate: its code, its label on the checklist, its reason when unmet.
GATE = [
    ("product_received", "Product received at the center",
     "Product not yet received at the center."),
    ("il2_confirmed",
     "IL-2 supply for the protocol's maximum number of doses confirmed by pharmacy",
     "Pharmacy has not confirmed an IL-2 (aldesleukin) supply covering the protocol's maximum "
     "number of doses."),
    ("infusion_planned", "Infusion date planned", "No infusion date (Day 0) is planned."),
    ("bed_reserved", "Inpatient bed reserved",
     "No inpatient bed is reserved for the infusion and IL-2."),
    ("progression_checked", "Disease re-assessed before lymphodepletion",
     "The disease has not been re-assessed for progression before lymphodepletion."),
    ("lymphodepletion_order", "Lymphodepletion order verified by pharmacy",
     "No lymphodepletion order has been verified by pharmacy."),
]  # fmt: skip
AWAITING = "The lymphodepletion order awaits the pharmacist's verification."


def at_product_at_center(team: CareTeam, skip: frozenset[str] = frozenset()) -> Journey:
    """A journey at "Product at center" with every requirement of the gate met except `skip`."""
    journey = journey_at(team, Stage.PRODUCT_AT_CENTER)
    return prepare_for(journey, Stage.LYMPHODEPLETION, users=team, skip=skip)


def counts(journey: Journey) -> tuple[int, int, int]:
    return (
        JourneyTransition.objects.filter(journey=journey).count(),
        Order.objects.count(),
        AuditEvent.objects.count(),
    )


def assert_blocked(journey: Journey, team: CareTeam, reasons: list[str]) -> None:
    """Moving the journey into lymphodepletion is refused with exactly `reasons`, changing
    nothing."""
    before = counts(journey)
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, Stage.LYMPHODEPLETION, actor=team.physician)
    assert blocked.value.reasons == reasons
    assert guards.unmet_reasons(journey, Stage.LYMPHODEPLETION) == reasons
    assert Journey.objects.get(pk=journey.pk).stage == Stage.PRODUCT_AT_CENTER
    assert counts(journey) == before


def test_the_checklist_lists_the_gate_in_order(team):
    journey = at_product_at_center(team)

    statuses = guards.evaluate(journey, Stage.LYMPHODEPLETION)

    assert [(s.code, s.label, s.met) for s in statuses] == [
        (code, label, True) for code, label, _ in GATE
    ]


@pytest.mark.parametrize(("code", "label", "reason"), GATE, ids=[code for code, _, _ in GATE])
def test_each_missing_item_is_named_alone(team, code, label, reason):
    # Given a journey at the center with everything for lymphodepletion except this item
    journey = at_product_at_center(team, skip=frozenset({code}))
    if code == "product_received":
        milestone = guards.current_milestone(journey, MilestoneKind.PRODUCT_RECEIVED)
        assert milestone is not None
        services.void_milestone(milestone, actor=team.pharmacist, reason="Wrong patient")

    # Then the move is refused for this item alone, named on the checklist
    assert_blocked(journey, team, [reason])
    status = next(s for s in guards.evaluate(journey, Stage.LYMPHODEPLETION) if s.code == code)
    assert (status.label, status.met, status.reason) == (label, False, reason)


def test_every_missing_item_is_named_at_once(team):
    # Given a journey just arrived at the center whose product receipt was then voided
    journey = journey_at(team, Stage.PRODUCT_AT_CENTER)
    milestone = guards.current_milestone(journey, MilestoneKind.PRODUCT_RECEIVED)
    assert milestone is not None
    services.void_milestone(milestone, actor=team.pharmacist, reason="Wrong patient")

    # Then every item of the gate is named, in the checklist's order
    assert_blocked(journey, team, [reason for _, _, reason in GATE])


def test_an_order_awaiting_verification_blocks(team):
    # Given everything met except the pharmacist's verification of the order written
    journey = at_product_at_center(team, skip=frozenset({"lymphodepletion_order"}))
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician)
    record_measurement(
        journey.patient, actor=team.nurse, measured_on=TODAY, weight_kg="70.0", height_cm="170.0"
    )
    order = order_lymphodepletion(
        course_of(journey),
        serum_creatinine_mg_per_dl="0.9",
        creatinine_drawn_on=TODAY,
        actor=team.physician,
    )
    assert order.status == OrderStatus.AWAITING_VERIFICATION

    assert_blocked(journey, team, [AWAITING])

    # When the pharmacist verifies it, the move succeeds
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    services.advance(journey, Stage.LYMPHODEPLETION, actor=team.physician)
    assert Journey.objects.get(pk=journey.pk).stage == Stage.LYMPHODEPLETION


def test_a_verified_order_made_stale_by_a_newer_weight_blocks_with_its_reason(team):
    # Given everything met, the order verified on 70.0 kg and 170.0 cm
    journey = at_product_at_center(team)
    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    assert order is not None and order.status == OrderStatus.VERIFIED

    # When the nurse records a newer weight
    record_measurement(
        journey.patient, actor=team.nurse, measured_on=TODAY, weight_kg="67.5", height_cm="170.0"
    )

    # Then the order's stale inputs block the move, in the order's own words
    assert_blocked(
        journey,
        team,
        [
            "A newer height and weight (67.5 kg, 170.0 cm, measured 15 Jun 2026) were recorded "
            "after this order was written from 70.0 kg, 170.0 cm: write it again so the doses "
            "follow the new measurement, and have it verified again."
        ],
    )

    # When it is written again from the new weight and verified, the move succeeds
    journey = satisfy(journey, "lymphodepletion_order", users=team)
    services.advance(journey, Stage.LYMPHODEPLETION, actor=team.physician)
    assert Journey.objects.get(pk=journey.pk).stage == Stage.LYMPHODEPLETION


def test_settings_replaced_after_verification_block(team):
    # Given everything met, then the center signs a new version of its settings
    journey = at_product_at_center(team)
    activate(
        team.center,
        pharmacist=team.pharmacist,
        physician=team.physician,
        values={**LIFILEUCEL_VALUES, "bsa_cap_m2": "2.2"},
        reason="BSA capped at 2.2 m².",
    )

    assert_blocked(
        journey,
        team,
        [
            "This order was computed on the center's settings version 1, which has been "
            "replaced (version 2 is in force): write it again so the doses follow the settings "
            "in force, and have it verified again."
        ],
    )


def test_a_cancelled_order_does_not_count(team):
    journey = at_product_at_center(team)
    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    assert order is not None
    cancel_order(order, reason="Admission postponed", actor=team.physician)

    assert_blocked(journey, team, ["No lymphodepletion order has been verified by pharmacy."])


def test_the_bed_and_the_re_assessment_belong_to_one_manufacturing_attempt(team):
    # Given a journey whose bed and re-assessment were recorded for attempt 1
    journey = at_product_at_center(team)

    # When it is judged for a new attempt (a re-manufacture), they are asked for again
    journey.manufacture_attempt += 1
    unmet = {s.code for s in guards.evaluate(journey, Stage.LYMPHODEPLETION) if not s.met}
    assert unmet == {"product_received", "bed_reserved", "progression_checked",
                     "lymphodepletion_order"}  # fmt: skip


def test_all_met_the_move_succeeds(team):
    # Given every item of the gate met
    journey = at_product_at_center(team)
    before = JourneyTransition.objects.filter(journey=journey).count()

    # When the physician moves the journey into lymphodepletion
    services.advance(journey, Stage.LYMPHODEPLETION, actor=team.physician)

    # Then it is there, with its transition recorded
    assert Journey.objects.get(pk=journey.pk).stage == Stage.LYMPHODEPLETION
    assert JourneyTransition.objects.filter(journey=journey).count() == before + 1
