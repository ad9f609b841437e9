"""The demo's orders: every journey that entered lymphodepletion passed its gate through the real
services (bed, re-assessment, a lymphodepletion order verified by the pharmacist), every journey
that entered IL-2 has a verified IL-2 order, and Evelyn Brooks, at "Product at center", has her
lymphodepletion order written and awaiting the pharmacist's verification."""

from __future__ import annotations

import pytest

from tilcare.demo.tests.helpers import journey_of, user
from tilcare.journey import guards
from tilcare.journey.choices import MilestoneKind, Stage
from tilcare.journey.models import Journey, JourneyTransition
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.models import Order
from tilcare.treatment.selectors import newer_inputs, open_order, orders_to_verify

pytestmark = pytest.mark.django_db


def entered(stage: Stage) -> list[Journey]:
    """The journeys that were moved into `stage` at some point."""
    ids = JourneyTransition.objects.filter(to_stage=stage).values_list("journey_id", flat=True)
    return list(Journey.objects.filter(pk__in=ids).select_related("patient").order_by("id"))


def test_every_journey_that_entered_lymphodepletion_passed_its_gate(demo):
    journeys = entered(Stage.LYMPHODEPLETION)

    # Okonkwo, Schneider, Harper, Petrov, O'Connor, Liu and DeLuca
    assert len(journeys) == 7
    for journey in journeys:
        order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
        assert order is not None, journey.patient.family_name
        assert (order.status, newer_inputs(order)) == (OrderStatus.VERIFIED, None)
        assert order.verification_signature.signer == user("pharmacist")
        assert order.ordered_by == user("physician")
        for kind in (MilestoneKind.BED_RESERVED, MilestoneKind.PROGRESSION_CHECKED):
            assert guards.current_milestone(journey, kind) is not None


def test_every_journey_that_entered_il2_has_a_verified_il2_order(demo):
    journeys = entered(Stage.IL2)

    assert len(journeys) == 5
    for journey in journeys:
        order = Order.objects.get(
            coi_din=journey.coi_din, manufacture_attempt=journey.manufacture_attempt, kind="il2"
        )
        assert order.verification_signature.signer == user("pharmacist")
        # Sofia Petrov's IL-2 was stopped at dose 4 (creatinine 3.1 mg/dL)
        stopped = journey.patient.family_name == "Petrov"
        assert order.status == (OrderStatus.STOPPED if stopped else OrderStatus.VERIFIED)
        assert newer_inputs(order) is None


def test_brooks_s_order_awaits_the_pharmacist_and_her_gate_says_what_is_missing(demo):
    journey = journey_of("Brooks")

    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)

    assert journey.stage == Stage.PRODUCT_AT_CENTER
    assert order is not None and order.status == OrderStatus.AWAITING_VERIFICATION
    assert guards.unmet_reasons(journey, Stage.LYMPHODEPLETION) == [
        "Pharmacy has not confirmed an IL-2 (aldesleukin) supply covering the protocol's maximum "
        "number of doses.",
        "No inpatient bed is reserved for the infusion and IL-2.",
        "The disease has not been re-assessed for progression before lymphodepletion.",
        "The lymphodepletion order awaits the pharmacist's verification.",
    ]


def test_the_pharmacist_s_queue_holds_brooks_s_order_alone(demo):
    (waiting,) = orders_to_verify(journey_of("Brooks").center)

    assert waiting.patient.family_name == "Brooks"
    assert Order.objects.filter(status=OrderStatus.AWAITING_VERIFICATION).count() == 1
