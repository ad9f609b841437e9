"""Withdrawal ends the plans that were not carried out: a withdrawn patient shows no planned
resection or infusion (no page, portal or board counts days to it), while what happened stays."""

from __future__ import annotations

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.journey import services
from tilcare.journey.choices import Stage, WithdrawalReason
from tilcare.journey.models import Journey
from tilcare.journey.tests.factories import (
    PLANNED_RESECTION_ON,
    CareTeam,
    journey_at,
    prepare_for,
)

pytestmark = pytest.mark.django_db


def withdraw(journey: Journey, team: CareTeam) -> Journey:
    services.advance(
        journey,
        Stage.WITHDRAWN,
        actor=team.physician,
        reason="New brain metastases on MRI.",
        withdrawal_reason=WithdrawalReason.DISEASE_PROGRESSION,
    )
    return Journey.objects.get(pk=journey.pk)


def test_withdrawal_before_the_infusion_clears_the_planned_infusion(team):
    # Given a journey whose product is at the center, its resection done and its infusion planned
    journey = journey_at(team, Stage.PRODUCT_AT_CENTER)
    journey = prepare_for(journey, Stage.LYMPHODEPLETION, users=team)
    planned_infusion = journey.planned_infusion_on
    assert planned_infusion is not None

    # When the physician withdraws the patient
    journey = withdraw(journey, team)

    # Then no infusion is planned any more, the resection that took place keeps its date,
    # and the withdrawal's audit event keeps the cleared plan
    assert journey.planned_infusion_on is None
    assert journey.planned_resection_on == PLANNED_RESECTION_ON
    event = AuditEvent.objects.filter(action="journey.withdraw").get()
    assert event.before["planned_infusion_on"] == planned_infusion.isoformat()
    assert event.after["planned_infusion_on"] is None


def test_withdrawal_before_the_resection_clears_the_planned_resection(team):
    # Given a journey with its resection scheduled but not yet performed
    journey = journey_at(team, Stage.RESECTION_SCHEDULED)
    assert journey.planned_resection_on == PLANNED_RESECTION_ON

    # When the patient is withdrawn / Then the resection is no longer planned
    assert withdraw(journey, team).planned_resection_on is None


def test_withdrawal_after_the_infusion_keeps_its_date(team):
    # Given a journey whose product was infused (now in IL-2)
    journey = journey_at(team, Stage.IL2)
    infused_on = journey.planned_infusion_on
    assert infused_on is not None

    # When the patient is withdrawn / Then Day 0 stays what it was: the infusion took place
    assert withdraw(journey, team).planned_infusion_on == infused_on
