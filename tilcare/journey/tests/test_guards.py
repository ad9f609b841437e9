"""Each guard requirement blocks a move with its exact words while unmet, and lets it pass once met.

The journey is brought to the stage before the guarded one through the services, every other
requirement of the guarded stage is met, and only the requirement under test is left unmet.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from tilcare.audit.models import AuditEvent, Signature
from tilcare.audit.services import sign_record
from tilcare.core.errors import TransitionBlocked
from tilcare.core.timeutil import local_today
from tilcare.journey import guards, selectors, services
from tilcare.journey.choices import MilestoneKind, Stage, TaskStatus
from tilcare.journey.models import EligibilityChecklist, Journey, JourneyTransition
from tilcare.journey.tests.factories import (
    CareTeam,
    eligible_checklist_data,
    make_team,
    milestone_time,
    open_journey_for,
    plan_remanufacture,
    prepare_for,
    satisfy,
    walk_to,
)
from tilcare.patients import services as patient_services
from tilcare.patients.choices import ConsentKind
from tilcare.patients.tests.factories import TEST_PASSWORD, CenterFactory, PatientFactory

pytestmark = pytest.mark.django_db

S = Stage

# (stage guarded, requirement code, the stage the journey moves from, the exact reason when unmet)
CASES = [
    (S.SCREENING, "diagnosis", S.REFERRAL,
     "The patient's diagnosis (cancer type and stage) is not recorded."),
    (S.FINANCIAL_CLEARANCE, "consent_til", S.SCREENING,
     "The patient's TIL therapy consent is not on file."),
    (S.RESECTION_SCHEDULED, "eligibility", S.FINANCIAL_CLEARANCE,
     "The eligibility checklist has not been filled in."),
    (S.RESECTION_SCHEDULED, "financial_clearance", S.FINANCIAL_CLEARANCE,
     "Financial clearance is not yet recorded."),
    (S.RESECTION_SCHEDULED, "consent_tissue", S.FINANCIAL_CLEARANCE,
     "The patient's consent for tumor tissue procurement is not on file."),
    (S.RESECTION_SCHEDULED, "resection_planned", S.FINANCIAL_CLEARANCE,
     "No resection date is planned."),
    (S.TISSUE_PROCURED, "resection_performed", S.RESECTION_SCHEDULED,
     "The resection has not been recorded."),
    (S.AT_MANUFACTURING, "facility", S.TISSUE_PROCURED,
     "No manufacturing facility is chosen for this journey."),
    (S.AT_MANUFACTURING, "financial_clearance", S.TISSUE_PROCURED,
     "Financial clearance is not yet recorded."),
    (S.AT_MANUFACTURING, "tissue_received", S.TISSUE_PROCURED,
     "The facility has not confirmed receipt of the tissue."),
    (S.PRODUCT_RELEASED, "product_released", S.AT_MANUFACTURING,
     "The product has not been released by QA."),
    (S.PRODUCT_AT_CENTER, "product_received", S.PRODUCT_RELEASED,
     "Product not yet received at the center."),
    (S.LYMPHODEPLETION, "product_received", S.PRODUCT_AT_CENTER,
     "Product not yet received at the center."),
    (S.LYMPHODEPLETION, "il2_confirmed", S.PRODUCT_AT_CENTER,
     "Pharmacy has not confirmed an IL-2 (aldesleukin) supply covering the protocol's maximum "
     "number of doses."),
    (S.LYMPHODEPLETION, "infusion_planned", S.PRODUCT_AT_CENTER,
     "No infusion date (Day 0) is planned."),
    (S.LYMPHODEPLETION, "bed_reserved", S.PRODUCT_AT_CENTER,
     "No inpatient bed is reserved for the infusion and IL-2."),
    (S.LYMPHODEPLETION, "progression_checked", S.PRODUCT_AT_CENTER,
     "The disease has not been re-assessed for progression before lymphodepletion."),
    (S.LYMPHODEPLETION, "lymphodepletion_order", S.PRODUCT_AT_CENTER,
     "No lymphodepletion order has been verified by pharmacy."),
    (S.INFUSION, "last_fludarabine", S.LYMPHODEPLETION,
     "The last fludarabine dose has not been recorded."),
    (S.IL2, "infusion_done", S.INFUSION, "The infusion has not been recorded."),
    (S.INPATIENT_RECOVERY, "infusion_done", S.INFUSION, "The infusion has not been recorded."),
    (S.FOLLOW_UP, "discharged", S.INPATIENT_RECOVERY, "The discharge has not been recorded."),
    (S.COMPLETED, "follow_up_complete", S.FOLLOW_UP,
     "The follow-up schedule is not yet complete."),
]  # fmt: skip
CASE_IDS = [f"{target.value}-{code}" for target, code, _, _ in CASES]

# Requirements met on an earlier stage that the case must undo to leave them unmet.
MILESTONE_OF = {
    "financial_clearance": MilestoneKind.FINANCIAL_CLEARANCE,
    "product_received": MilestoneKind.PRODUCT_RECEIVED,
}


# Judged against the clock, so tested with a stopped clock in test_infusion_window.py.
CLOCKED = {(S.INFUSION, "infusion_window")}


def test_every_requirement_in_guards_has_a_case():
    declared = {(target, r.code) for target, reqs in guards.GUARDS.items() for r in reqs}
    assert declared - CLOCKED == {(target, code) for target, code, _, _ in CASES}


def counts(journey: Journey) -> tuple[int, int]:
    return JourneyTransition.objects.filter(journey=journey).count(), AuditEvent.objects.count()


def journey_missing(
    target: Stage, code: str, source: Stage, team: CareTeam | None = None
) -> tuple[Journey, CareTeam]:
    """A journey in `source` with every requirement of `target` met except `code`."""
    team = team or make_team()
    if code == "diagnosis":
        patient = PatientFactory(center=team.center, cancer_type="", disease_stage="")
    else:
        patient = PatientFactory(center=team.center)
    journey = open_journey_for(patient, team.navigator)
    journey = walk_to(journey, source, users=team)
    journey = prepare_for(journey, target, users=team, skip=frozenset({code}))
    milestone = (
        guards.current_milestone(journey, MILESTONE_OF[code]) if code in MILESTONE_OF else None
    )
    if milestone is not None:
        actor = team.financial_coordinator if code == "financial_clearance" else team.pharmacist
        services.void_milestone(milestone, actor=actor, reason="Entered on the wrong patient")
    return journey, team


@pytest.mark.parametrize(("target", "code", "source", "reason"), CASES, ids=CASE_IDS)
def test_unmet_requirement_blocks_the_move_with_its_reason(target, code, source, reason):
    # Given a journey with every requirement of `target` met except this one
    journey, team = journey_missing(target, code, source)
    before = counts(journey)

    # When it is moved to `target` by a user allowed to
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, target, actor=team.mover_into(target))

    # Then this requirement's reason alone blocks it, and nothing changed
    assert blocked.value.reasons == [reason]
    assert guards.unmet_reasons(journey, target) == [reason]
    status = next(s for s in guards.evaluate(journey, target) if s.code == code)
    assert (status.met, status.reason) == (False, reason)
    assert Journey.objects.get(pk=journey.pk).stage == source
    assert counts(journey) == before


@pytest.mark.parametrize(("target", "code", "source", "reason"), CASES, ids=CASE_IDS)
def test_meeting_the_requirement_lets_the_move_pass(target, code, source, reason):
    # Given a journey blocked only by this requirement
    journey, team = journey_missing(target, code, source)
    if code == "diagnosis":
        patient = journey.patient
        patient.cancer_type, patient.disease_stage = "melanoma_cutaneous", "IV_M1b"
        patient.save()

    # When the requirement is met
    journey = satisfy(journey, code, users=team)

    # Then it is reported met and the move succeeds
    status = next(s for s in guards.evaluate(journey, target) if s.code == code)
    assert (status.met, status.reason) == (True, "")
    services.advance(journey, target, actor=team.mover_into(target))
    assert Journey.objects.get(pk=journey.pk).stage == target


def test_every_unmet_requirement_is_listed_in_declared_order():
    # Given a journey in financial clearance with nothing recorded for resection scheduling
    team = make_team()
    journey = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator),
        S.FINANCIAL_CLEARANCE,
        users=team,
    )

    # When it is moved to resection scheduled
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator)

    # Then all four reasons are given, in the order the guards declare them
    assert blocked.value.reasons == [
        "The eligibility checklist has not been filled in.",
        "Financial clearance is not yet recorded.",
        "The patient's consent for tumor tissue procurement is not on file.",
        "No resection date is planned.",
    ]
    assert [s.label for s in guards.evaluate(journey, S.RESECTION_SCHEDULED)] == [
        "Eligibility checklist signed by a physician",
        "Financial clearance recorded",
        "Tissue procurement consent on file",
        "Resection date planned",
    ]


# Consent ---------------------------------------------------------------------------------------


def journey_in_screening() -> tuple[Journey, CareTeam]:
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    return walk_to(journey, S.SCREENING, users=team), team


def test_a_withdrawn_consent_no_longer_counts():
    # Given a journey whose TIL therapy consent was recorded, then withdrawn
    journey, team = journey_in_screening()
    consent = patient_services.record_consent(
        journey.patient,
        actor=team.navigator,
        kind=ConsentKind.TIL_THERAPY,
        form_version="3.2",
        signed_on=journey.referred_on,
    )
    patient_services.withdraw_consent(
        consent,
        actor=team.navigator,
        withdrawn_on=journey.referred_on + dt.timedelta(days=3),
        reason="Patient withdrew consent by phone",
    )

    # When the guard is evaluated / Then the consent is not on file
    assert guards.unmet_reasons(journey, S.FINANCIAL_CLEARANCE) == [
        "The patient's TIL therapy consent is not on file."
    ]


def test_a_consent_of_another_kind_does_not_count():
    journey, team = journey_in_screening()
    patient_services.record_consent(
        journey.patient,
        actor=team.navigator,
        kind=ConsentKind.RESEARCH,
        form_version="1.0",
        signed_on=journey.referred_on,
    )

    assert guards.unmet_reasons(journey, S.FINANCIAL_CLEARANCE) == [
        "The patient's TIL therapy consent is not on file."
    ]


# Milestones ------------------------------------------------------------------------------------


def test_a_voided_milestone_no_longer_counts():
    # Given a financial clearance recorded, then voided
    journey, team = journey_in_screening()
    milestone = services.record_milestone(
        journey,
        actor=team.financial_coordinator,
        kind=MilestoneKind.FINANCIAL_CLEARANCE,
        occurred_at=milestone_time(),
    )
    assert guards.current_milestone(journey, MilestoneKind.FINANCIAL_CLEARANCE) == milestone
    services.void_milestone(milestone, actor=team.financial_coordinator, reason="Wrong patient")

    # When the guard is evaluated / Then it is as if nothing was recorded
    assert guards.current_milestone(journey, MilestoneKind.FINANCIAL_CLEARANCE) is None
    assert "Financial clearance is not yet recorded." in guards.unmet_reasons(
        journey, S.RESECTION_SCHEDULED
    )


def test_a_milestone_of_attempt_one_does_not_count_after_remanufacture():
    # Given a journey re-manufactured after its resection and tissue receipt were recorded
    team = make_team()
    journey = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator),
        S.AT_MANUFACTURING,
        users=team,
    )
    journey = plan_remanufacture(journey, users=team)
    journey = services.advance(
        journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="Failed sterility"
    )

    # When the guards of the next stages are evaluated
    # Then attempt 1's resection and tissue receipt do not count, its financial clearance does
    assert guards.current_milestone(journey, MilestoneKind.RESECTION_PERFORMED) is None
    assert guards.unmet_reasons(journey, S.TISSUE_PROCURED) == [
        "The resection has not been recorded."
    ]
    assert guards.current_milestone(journey, MilestoneKind.FINANCIAL_CLEARANCE) is not None
    assert guards.unmet_reasons(journey, S.AT_MANUFACTURING) == [
        "The facility has not confirmed receipt of the tissue."
    ]


# Eligibility -----------------------------------------------------------------------------------


def journey_in_financial_clearance() -> tuple[Journey, CareTeam]:
    team = make_team()
    journey = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator),
        S.FINANCIAL_CLEARANCE,
        users=team,
    )
    return prepare_for(
        journey, S.RESECTION_SCHEDULED, users=team, skip=frozenset({"eligibility"})
    ), team


def test_an_unsigned_checklist_blocks_resection_scheduling():
    journey, team = journey_in_financial_clearance()
    services.save_eligibility(journey, actor=team.navigator, data=eligible_checklist_data())

    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator)

    assert blocked.value.reasons == ["The eligibility checklist is not yet signed by a physician."]


def test_a_checklist_changed_after_signing_blocks_until_signed_again():
    # Given a checklist signed by a physician, then changed
    journey, team = journey_in_financial_clearance()
    services.save_eligibility(journey, actor=team.navigator, data=eligible_checklist_data())
    services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)
    assert guards.valid_eligibility_signature(journey) == (True, "")
    services.amend_eligibility(
        journey, actor=team.navigator, data={"ecog": 2}, reason="ECOG 2 at clinic visit"
    )

    # When resection scheduling is attempted
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator)

    # Then the amendment is named, and the journey stays where it is
    assert blocked.value.reasons == [
        "The eligibility checklist was amended after it was signed; a physician must review it "
        "and sign it again."
    ]
    assert Journey.objects.get(pk=journey.pk).stage == S.FINANCIAL_CLEARANCE


def test_signing_the_changed_checklist_again_lets_resection_be_scheduled():
    journey, team = journey_in_financial_clearance()
    services.save_eligibility(journey, actor=team.navigator, data=eligible_checklist_data())
    services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)
    services.amend_eligibility(
        journey, actor=team.navigator, data={"ecog": 2}, reason="ECOG 2 at clinic visit"
    )

    services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)

    assert guards.valid_eligibility_signature(journey) == (True, "")
    services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator)
    assert Journey.objects.get(pk=journey.pk).stage == S.RESECTION_SCHEDULED


def test_a_signature_with_another_meaning_is_not_an_eligibility_signature():
    # Given the checklist signed with a meaning other than eligibility (e.g. a review)
    journey, team = journey_in_financial_clearance()
    checklist = services.save_eligibility(
        journey, actor=team.navigator, data=eligible_checklist_data()
    )
    sign_record(checklist, actor=team.physician, password=TEST_PASSWORD, meaning="Reviewed")
    assert Signature.objects.count() == 1

    # When the guard is evaluated / Then it is still unsigned
    assert guards.valid_eligibility_signature(journey) == (
        False,
        "The eligibility checklist is not yet signed by a physician.",
    )


def test_the_signature_of_another_journeys_checklist_does_not_count():
    journey, team = journey_in_financial_clearance()
    other, _ = journey_in_financial_clearance()
    services.save_eligibility(journey, actor=team.navigator, data=eligible_checklist_data())
    other_team_physician = other.center.members.get(role="physician")
    services.save_eligibility(other, actor=other_team_physician, data=eligible_checklist_data())
    services.sign_eligibility(other, actor=other_team_physician, password=TEST_PASSWORD)

    assert guards.valid_eligibility_signature(journey) == (
        False,
        "The eligibility checklist is not yet signed by a physician.",
    )
    assert EligibilityChecklist.objects.count() == 2


# Re-manufacture resection date, in the center's own calendar -----------------------------------


def remanufacture_after_resection_at(
    time_zone: str, resection_local: dt.datetime, planned: dt.date
) -> tuple[Journey, CareTeam]:
    """A journey at manufacturing whose resection happened at `resection_local` (center time)."""
    team = make_team(center=CenterFactory(time_zone=time_zone))
    journey = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator),
        S.AT_MANUFACTURING,
        users=team,
    )
    walked = guards.current_milestone(journey, MilestoneKind.RESECTION_PERFORMED)
    services.void_milestone(walked, actor=team.surgeon, reason="Time entered wrongly")
    services.record_milestone(
        journey,
        actor=team.surgeon,
        kind=MilestoneKind.RESECTION_PERFORMED,
        occurred_at=resection_local,
    )
    services.plan_journey(
        journey,
        actor=team.navigator,
        changes={"planned_resection_on": planned, "planned_infusion_on": None},
    )
    return Journey.objects.get(pk=journey.pk), team


def test_remanufacture_resection_the_day_after_an_evening_resection_is_allowed():
    # Given a New York center whose resection was at 21:00 local two days ago (the next UTC day)
    zone = zoneinfo.ZoneInfo("America/New_York")
    two_days_ago = local_today("America/New_York") - dt.timedelta(days=2)
    resection = dt.datetime.combine(two_days_ago, dt.time(21, 0), tzinfo=zone)
    journey, team = remanufacture_after_resection_at(
        "America/New_York", resection, two_days_ago + dt.timedelta(days=1)
    )

    # When re-manufacture is asked for with a new resection the next local day
    services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="Failed")

    # Then it is allowed: the new date is after the previous resection in the center's calendar
    assert Journey.objects.get(pk=journey.pk).manufacture_attempt == 2


def test_remanufacture_resection_on_the_same_local_day_as_the_previous_one_is_blocked():
    # Given an Amsterdam center whose resection was at 00:30 local two days ago (UTC: day before)
    zone = zoneinfo.ZoneInfo("Europe/Amsterdam")
    two_days_ago = local_today("Europe/Amsterdam") - dt.timedelta(days=2)
    resection = dt.datetime.combine(two_days_ago, dt.time(0, 30), tzinfo=zone)
    assert resection.astimezone(dt.UTC).date() < two_days_ago
    journey, team = remanufacture_after_resection_at("Europe/Amsterdam", resection, two_days_ago)

    # When re-manufacture is asked for with the new resection on that same local day
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="Failed")

    # Then it is blocked
    assert blocked.value.reasons == [
        "Plan a new resection date after the previous resection for re-manufacture."
    ]
    assert Journey.objects.get(pk=journey.pk).manufacture_attempt == 1


def test_guards_do_not_depend_on_open_tasks():
    # Given a journey ready for screening whose referral task is still open
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    assert journey.tasks.filter(status=TaskStatus.OPEN).count() == 1

    # When it moves / Then open tasks do not block (they are work, not preconditions)
    services.advance(journey, S.SCREENING, actor=team.navigator)
    assert Journey.objects.get(pk=journey.pk).stage == S.SCREENING


def test_next_steps_judges_remanufacture_as_advance_will():
    # Given a journey at manufacturing whose new resection is planned on the old resection's day
    zone = zoneinfo.ZoneInfo("America/New_York")
    two_days_ago = local_today("America/New_York") - dt.timedelta(days=2)
    resection = dt.datetime.combine(two_days_ago, dt.time(10, 0), tzinfo=zone)
    journey, team = remanufacture_after_resection_at("America/New_York", resection, two_days_ago)

    # When the journey page lists the next steps
    step = next(
        s for s in selectors.next_steps(journey, team.navigator) if s.stage == S.RESECTION_SCHEDULED
    )

    # Then re-manufacture shows the same block that advance() raises, not "ready"
    assert step.kind == "remanufacture"
    assert not step.ready
    assert step.blocked_reasons == [
        "Plan a new resection date after the previous resection for re-manufacture."
    ]
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="Failed")
    assert blocked.value.reasons == step.blocked_reasons
