"""The demo's treatment courses, replayed at the times they happened: a patient in every state of
treatment, and every dose traceable to the signed settings version its order was computed on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tilcare.demo.tests.helpers import journey_of
from tilcare.identity.models import IdentityAlert
from tilcare.journey.models import Journey
from tilcare.treatment.choices import (
    ActivationStatus,
    AdministrationOutcome,
    Il2Choice,
    OrderKind,
    OrderStatus,
)
from tilcare.treatment.models import Administration, Il2Decision, Order
from tilcare.treatment.selectors import check_rounds, infusion_of_course

pytestmark = pytest.mark.django_db

GIVEN, HELD, NOT_GIVEN = (
    AdministrationOutcome.GIVEN,
    AdministrationOutcome.HELD,
    AdministrationOutcome.NOT_GIVEN,
)


def order_of(journey: Journey, kind: str) -> Order:
    return Order.objects.exclude(status=OrderStatus.CANCELLED).get(
        coi_din=journey.coi_din, manufacture_attempt=journey.manufacture_attempt, kind=kind
    )


def outcomes(journey: Journey, kind: str) -> list[str]:
    order = order_of(journey, kind)
    return [
        dose.administration.outcome
        for dose in order.doses.select_related("administration").order_by("sequence")
        if hasattr(dose, "administration")
    ]


def test_every_dose_traces_to_settings_signed_by_a_pharmacist_and_a_physician(demo):
    administrations = list(
        Administration.objects.select_related("dose__order__activation", "recorded_by")
    )

    assert len(administrations) > 40
    for administration in administrations:
        order = administration.dose.order
        activation = order.activation
        assert activation.status in (ActivationStatus.ACTIVE, ActivationStatus.SUPERSEDED)
        signatures = (activation.pharmacist_signature, activation.physician_signature)
        assert [s.signer.role for s in signatures] == ["pharmacist", "physician"], activation
        # And the order was verified before the dose was recorded
        assert order.verification_signature.signed_at <= administration.at


def test_each_patient_is_in_the_treatment_state_of_their_stage(demo):
    ld = OrderKind.LYMPHODEPLETION
    il2 = OrderKind.IL2

    assert outcomes(journey_of("Okonkwo"), ld) == [GIVEN] * 4
    assert outcomes(journey_of("Schneider"), ld) == [GIVEN] * 7
    assert outcomes(journey_of("Harper"), il2) == [GIVEN, GIVEN, HELD]
    assert outcomes(journey_of("Petrov"), il2) == [GIVEN] * 3 + [NOT_GIVEN] * 3
    for name in ("O'Connor", "Liu", "DeLuca"):
        assert outcomes(journey_of(name), ld) == [GIVEN] * 7, name
        assert outcomes(journey_of(name), il2) == [GIVEN] * 3 + [HELD] + [GIVEN] * 2, name
    assert order_of(journey_of("Petrov"), il2).status == OrderStatus.STOPPED


def test_the_infusion_day_patient_awaits_the_second_identity_check(demo):
    journey = journey_of("Schneider")
    infusion = infusion_of_course(journey.coi_din, journey.manufacture_attempt)

    rounds = check_rounds(infusion)
    assert sorted(rounds) == [1]
    assert rounds[1].person.username == "nurse"
    assert rounds[1].wristband_matched and rounds[1].bags_matched
    assert (infusion.started_at, infusion.thaws.count()) == (None, 0)
    assert not Order.objects.filter(coi_din=journey.coi_din, kind=OrderKind.IL2).exists()


def test_the_infused_patients_were_checked_by_two_people_and_given_cells_in_range(demo):
    for name in ("Harper", "Petrov", "O'Connor", "Liu", "DeLuca"):
        journey = journey_of(name)
        infusion = infusion_of_course(journey.coi_din, journey.manufacture_attempt)
        rounds = check_rounds(infusion)
        assert {n: r.person.username for n, r in rounds.items()} == {
            1: "nurse",
            2: "physician",
        }, name
        assert infusion.premedications.count() == 2, name
        assert infusion.viable_cells_e9 == Decimal("23.50"), name
        # Within the protocol's range: no alert was raised for the cell dose (nor any other)
        assert not IdentityAlert.objects.filter(coi_din=journey.coi_din).exists(), name
        assert infusion.started_at < infusion.ended_at, name


def test_harper_s_third_dose_was_held_by_the_urine_output_rule(demo):
    order = order_of(journey_of("Harper"), OrderKind.IL2)
    decision = Il2Decision.objects.select_related("nurse", "physician").get(
        order=order, dose__sequence=3
    )

    assert (decision.nurse.username, decision.physician.username) == ("nurse", "physician")
    assert (decision.evaluated_decision, decision.physician_choice) == ("hold", Il2Choice.HOLD)
    fired = [
        (evaluation["rule_set_id"], len(evaluation["fired"]))
        for evaluation in decision.evaluation["evaluations"]
    ]
    assert fired == [("dutcher-2014", 0), ("betof-warner-2024", 1)]
    assert decision.observations["urine_output_ml_per_kg_per_h_over_8h"] == "0.3"
    # And the fourth dose is still to come
    assert not hasattr(order.doses.get(sequence=4), "administration")


def test_every_il2_decision_was_assessed_by_a_nurse_and_decided_by_a_physician(demo):
    decisions = list(Il2Decision.objects.select_related("nurse", "physician"))

    assert len(decisions) == 3 + 4 + 6 * 3
    assert {(d.nurse.username, d.physician.username) for d in decisions} == {("nurse", "physician")}
    assert all(d.assessed_at < d.decided_at for d in decisions)
