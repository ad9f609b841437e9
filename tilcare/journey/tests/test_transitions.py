"""The journey's transition table, walked pair by pair through `services.advance()`.

Every (from, to) pair of Stage × Stage is covered: an allowed pair moves with one transition row
and one audit event when its guards are met and the actor's role may make the move; any other pair
is refused with a reason naming both stages, and nothing changes.
"""

from __future__ import annotations

import pytest

from tilcare.accounts.choices import CENTER_ROLES, Role
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied, TransitionBlocked
from tilcare.journey import services
from tilcare.journey.choices import (
    ADVANCE_ROLES,
    STAGE_TASKS,
    TRANSITIONS,
    MilestoneKind,
    Stage,
    TaskStatus,
    TransitionKind,
    WithdrawalReason,
)
from tilcare.journey.models import Journey, JourneyTransition, Milestone, Task
from tilcare.journey.tests.factories import (
    CareTeam,
    make_team,
    milestone_time,
    open_journey_for,
    plan_remanufacture,
    prepare_for,
    walk_to,
)
from tilcare.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

S = Stage

# The table as the design states it, written out so that any change to choices.TRANSITIONS is
# a deliberate one that also changes this test.
EXPECTED_TABLE: dict[Stage, set[Stage]] = {
    S.REFERRAL: {S.SCREENING, S.WITHDRAWN},
    S.SCREENING: {S.FINANCIAL_CLEARANCE, S.WITHDRAWN},
    S.FINANCIAL_CLEARANCE: {S.RESECTION_SCHEDULED, S.WITHDRAWN},
    S.RESECTION_SCHEDULED: {S.TISSUE_PROCURED, S.WITHDRAWN},
    S.TISSUE_PROCURED: {S.AT_MANUFACTURING, S.WITHDRAWN},
    S.AT_MANUFACTURING: {S.PRODUCT_RELEASED, S.RESECTION_SCHEDULED, S.WITHDRAWN},
    S.PRODUCT_RELEASED: {S.PRODUCT_AT_CENTER, S.RESECTION_SCHEDULED, S.WITHDRAWN},
    S.PRODUCT_AT_CENTER: {S.LYMPHODEPLETION, S.RESECTION_SCHEDULED, S.WITHDRAWN},
    S.LYMPHODEPLETION: {S.INFUSION, S.WITHDRAWN},
    S.INFUSION: {S.IL2, S.INPATIENT_RECOVERY, S.WITHDRAWN},
    S.IL2: {S.INPATIENT_RECOVERY, S.WITHDRAWN},
    S.INPATIENT_RECOVERY: {S.FOLLOW_UP, S.WITHDRAWN},
    S.FOLLOW_UP: {S.COMPLETED, S.WITHDRAWN},
    S.COMPLETED: set(),
    S.WITHDRAWN: set(),
}

REMANUFACTURE_SOURCES = {S.AT_MANUFACTURING, S.PRODUCT_RELEASED, S.PRODUCT_AT_CENTER}
WITHDRAW_ROLES = frozenset({Role.NAVIGATOR, Role.PHYSICIAN, Role.CENTER_ADMIN})

LEGAL_PAIRS = [(a, b) for a in Stage for b in Stage if b in TRANSITIONS[a]]
PAIR_IDS = [f"{a.value}->{b.value}" for a, b in LEGAL_PAIRS]


def expected_kind(source: Stage, target: Stage) -> TransitionKind:
    if target == S.WITHDRAWN:
        return TransitionKind.WITHDRAW
    if source in REMANUFACTURE_SOURCES and target == S.RESECTION_SCHEDULED:
        return TransitionKind.REMANUFACTURE
    return TransitionKind.ADVANCE


def move_arguments(source: Stage, target: Stage) -> dict[str, str]:
    kind = expected_kind(source, target)
    if kind == TransitionKind.WITHDRAW:
        return {"withdrawal_reason": WithdrawalReason.DISEASE_PROGRESSION, "reason": "PD on CT"}
    if kind == TransitionKind.REMANUFACTURE:
        return {"reason": "Product failed sterility release testing"}
    return {}


def journey_ready_for(source: Stage, target: Stage) -> tuple[Journey, CareTeam]:
    """A journey in `source` with every guard of `target` met."""
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    journey = walk_to(journey, source, users=team)
    if expected_kind(source, target) == TransitionKind.REMANUFACTURE:
        journey = plan_remanufacture(journey, users=team)
    elif target != S.WITHDRAWN:
        journey = prepare_for(journey, target, users=team)
    return journey, team


def allowed_roles(target: Stage) -> frozenset[Role]:
    return WITHDRAW_ROLES if target == S.WITHDRAWN else ADVANCE_ROLES[target]


def counts(journey: Journey) -> tuple[int, int, int]:
    return (
        JourneyTransition.objects.filter(journey=journey).count(),
        AuditEvent.objects.count(),
        Task.objects.filter(journey=journey).count(),
    )


def test_the_table_is_exactly_the_designed_one():
    # Given the table in choices.py / When compared to the design / Then they are the same
    assert {s: set(t) for s, t in TRANSITIONS.items()} == EXPECTED_TABLE


@pytest.mark.parametrize(("source", "target"), LEGAL_PAIRS, ids=PAIR_IDS)
def test_allowed_move_with_guards_met_moves_with_one_transition_one_event_and_its_tasks(
    source, target
):
    # Given a journey in `source` with every guard of `target` met, and a user allowed to move it
    journey, team = journey_ready_for(source, target)
    actor = team.mover_into(target)
    transitions_before, audit_before, _ = counts(journey)
    existing_tasks = set(Task.objects.filter(journey=journey).values_list("id", flat=True))
    arguments = move_arguments(source, target)

    # When the user moves it
    moved = services.advance(journey, target, actor=actor, **arguments)

    # Then the journey is in `target`, with one transition row of the right kind and one event
    journey.refresh_from_db()
    assert journey.stage == target
    assert moved.stage == target
    kind = expected_kind(source, target)
    assert JourneyTransition.objects.filter(journey=journey).count() == transitions_before + 1
    row = JourneyTransition.objects.filter(journey=journey).latest("id")
    assert (row.from_stage, row.to_stage, row.kind, row.actor_id) == (
        source,
        target,
        kind,
        actor.pk,
    )
    assert row.reason == arguments.get("reason", "")
    assert row.withdrawal_reason == arguments.get("withdrawal_reason", "")
    assert AuditEvent.objects.count() == audit_before + 1
    event = AuditEvent.objects.latest("seq")
    assert event.action == f"journey.{kind.value}"
    assert event.subject_id == str(journey.public_id)
    assert event.actor_id == actor.pk
    assert event.before["stage"] == source
    assert event.after["stage"] == target
    assert event.reason == arguments.get("reason", "")
    # and the new stage's tasks exist for their roles, or a closed journey has no open task
    new_tasks = Task.objects.filter(journey=journey).exclude(id__in=existing_tasks)
    expected_tasks = sorted((t.title, t.role, target.value) for t in STAGE_TASKS.get(target, ()))
    assert sorted(new_tasks.values_list("title", "role", "stage")) == expected_tasks
    if target in (S.COMPLETED, S.WITHDRAWN):
        assert not Task.objects.filter(journey=journey, status=TaskStatus.OPEN).exists()


@pytest.mark.parametrize(("source", "target"), LEGAL_PAIRS, ids=PAIR_IDS)
def test_allowed_move_is_refused_to_every_center_role_not_allowed_to_make_it(source, target):
    # Given a journey ready to move, and one user of every center role that may not move it
    journey, team = journey_ready_for(source, target)
    refused_roles = sorted(CENTER_ROLES - allowed_roles(target) - {Role.PATIENT})
    assert refused_roles, "every stage has a role that may not enter it"
    before = counts(journey)

    for role in refused_roles:
        # When that user tries the move
        with pytest.raises(PermissionDenied) as denied:
            services.advance(
                journey, target, actor=team.by_role(role), **move_arguments(source, target)
            )

        # Then it is refused, naming the target stage, and nothing changed
        assert denied.value.message == f"Your role may not move a journey to “{target.label}”.", (
            role
        )
        assert Journey.objects.get(pk=journey.pk).stage == source, role
        assert counts(journey) == before, role


@pytest.mark.parametrize("source", list(Stage), ids=[s.value for s in Stage])
def test_every_move_outside_the_table_is_refused_naming_both_stages(source):
    # Given a journey in `source`
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    journey = walk_to(journey, source, users=team)
    before = counts(journey)
    illegal = [t for t in Stage if t not in TRANSITIONS[source]]
    assert source in illegal  # staying put is not a move

    for target in illegal:
        # When anyone (here a user whose role could enter `target`) tries to move it there
        with pytest.raises(TransitionBlocked) as blocked:
            services.advance(
                journey,
                target,
                actor=team.mover_into(target),
                reason="attempt",
                withdrawal_reason=WithdrawalReason.OTHER,
            )

        # Then the reason names both stages, and stage, transitions and audit are unchanged
        assert blocked.value.reasons == [
            f"A journey cannot move from “{source.label}” to “{target.label}”."
        ], target
        assert Journey.objects.get(pk=journey.pk).stage == source, target
        assert counts(journey) == before, target


def test_a_stage_that_does_not_exist_is_refused_as_input():
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    before = counts(journey)

    with pytest.raises(InvalidInput) as refused:
        services.advance(journey, "cured", actor=team.navigator)

    assert refused.value.errors == {"to_stage": ["“cured” is not a journey stage."]}
    assert counts(journey) == before


def test_a_user_of_another_center_cannot_move_the_journey():
    # Given a journey ready for screening and a navigator of another center
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    outsider = make_team().navigator
    before = counts(journey)

    # When the outsider tries to move it
    with pytest.raises(PermissionDenied) as denied:
        services.advance(journey, S.SCREENING, actor=outsider)

    # Then it is refused and nothing changed
    assert denied.value.message == "You may not see this journey."
    assert Journey.objects.get(pk=journey.pk).stage == S.REFERRAL
    assert counts(journey) == before


# Re-manufacture -------------------------------------------------------------------------------


def at_manufacturing() -> tuple[Journey, CareTeam]:
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    return walk_to(journey, S.AT_MANUFACTURING, users=team), team


def test_remanufacture_increments_the_attempt():
    # Given a journey at manufacturing with a new resection planned
    journey, team = at_manufacturing()
    journey = plan_remanufacture(journey, users=team)

    # When the product must be made again
    services.advance(
        journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="Failed sterility testing"
    )

    # Then the journey is back at resection scheduled, on attempt 2
    journey.refresh_from_db()
    assert (journey.stage, journey.manufacture_attempt) == (S.RESECTION_SCHEDULED, 2)
    assert AuditEvent.objects.latest("seq").after["manufacture_attempt"] == 2


def test_remanufacture_without_a_reason_is_refused_and_nothing_changes():
    journey, team = at_manufacturing()
    journey = plan_remanufacture(journey, users=team)
    before = counts(journey)

    with pytest.raises(InvalidInput) as refused:
        services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="  ")

    assert refused.value.errors == {"reason": ["Say why the product must be manufactured again."]}
    journey.refresh_from_db()
    assert (journey.stage, journey.manufacture_attempt) == (S.AT_MANUFACTURING, 1)
    assert counts(journey) == before


def test_remanufacture_needs_a_resection_planned_after_the_previous_one():
    # Given a journey at manufacturing whose planned resection is the one already done
    journey, team = at_manufacturing()
    before = counts(journey)

    # When re-manufacture is attempted
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(
            journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="Failed sterility"
        )

    # Then it is blocked, and the attempt is not incremented
    assert blocked.value.reasons == [
        "Plan a new resection date after the previous resection for re-manufacture."
    ]
    journey.refresh_from_db()
    assert (journey.stage, journey.manufacture_attempt) == (S.AT_MANUFACTURING, 1)
    assert counts(journey) == before


ORDER = [
    S.RESECTION_SCHEDULED,
    S.TISSUE_PROCURED,
    S.AT_MANUFACTURING,
    S.PRODUCT_RELEASED,
    S.PRODUCT_AT_CENTER,
]
PER_ATTEMPT_STEPS = [
    (S.TISSUE_PROCURED, "The resection has not been recorded."),
    (S.AT_MANUFACTURING, "The facility has not confirmed receipt of the tissue."),
    (S.PRODUCT_RELEASED, "The product has not been released by QA."),
    (S.PRODUCT_AT_CENTER, "Product not yet received at the center."),
]


@pytest.mark.parametrize(
    ("target", "reason"), PER_ATTEMPT_STEPS, ids=[t.value for t, _ in PER_ATTEMPT_STEPS]
)
def test_after_remanufacture_the_first_attempts_milestones_are_required_again(target, reason):
    # Given a journey re-manufactured after its first product reached the center
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    journey = walk_to(journey, S.PRODUCT_AT_CENTER, users=team)
    journey = plan_remanufacture(journey, users=team)
    services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="Not viable")
    journey = walk_to(journey, ORDER[ORDER.index(target) - 1], users=team)
    before = counts(journey)

    # When it is moved to the next manufacturing stage without this attempt's milestone
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, target, actor=team.navigator)

    # Then only the missing per-attempt milestone blocks it (attempt 1's does not count)
    assert blocked.value.reasons == [reason]
    assert Journey.objects.get(pk=journey.pk).stage == ORDER[ORDER.index(target) - 1]
    assert counts(journey) == before


def test_remanufactured_journey_completes_with_attempt_two_milestones():
    # Given a re-manufactured journey
    journey, team = at_manufacturing()
    journey = plan_remanufacture(journey, users=team)
    services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="Failed")

    # When it is walked to the end
    journey = walk_to(journey, S.COMPLETED, users=team)

    # Then it completes, and the second attempt's milestones carry attempt 2
    assert journey.stage == S.COMPLETED
    second = set(
        Milestone.objects.filter(journey=journey, attempt=2).values_list("kind", flat=True)
    )
    assert {
        MilestoneKind.RESECTION_PERFORMED,
        MilestoneKind.TISSUE_RECEIVED,
        MilestoneKind.PRODUCT_RELEASED,
        MilestoneKind.PRODUCT_RECEIVED,
    } <= second
    first = set(Milestone.objects.filter(journey=journey, attempt=1).values_list("kind", flat=True))
    assert first == {
        MilestoneKind.FINANCIAL_CLEARANCE,
        MilestoneKind.RESECTION_PERFORMED,
        MilestoneKind.TISSUE_RECEIVED,
    }


# Withdrawal ----------------------------------------------------------------------------------

WITHDRAWAL_LABELS = (
    "Disease progression, Death, Ineligible, Patient decision, Manufacturing failure, Other"
)


@pytest.mark.parametrize(
    "code", ["", "bored", "Disease progression"], ids=["empty", "unknown", "label-not-code"]
)
def test_withdrawal_without_a_coded_reason_is_refused_and_nothing_changes(code):
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    before = counts(journey)

    with pytest.raises(InvalidInput) as refused:
        services.advance(journey, S.WITHDRAWN, actor=team.navigator, withdrawal_reason=code)

    assert refused.value.errors == {
        "withdrawal_reason": [f"Choose a withdrawal reason: {WITHDRAWAL_LABELS}."]
    }
    assert Journey.objects.get(pk=journey.pk).stage == S.REFERRAL
    assert counts(journey) == before


@pytest.mark.parametrize("note", ["", "   "], ids=["empty", "blank"])
def test_withdrawal_for_other_reason_needs_a_note(note):
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    before = counts(journey)

    with pytest.raises(InvalidInput) as refused:
        services.advance(
            journey,
            S.WITHDRAWN,
            actor=team.navigator,
            withdrawal_reason=WithdrawalReason.OTHER,
            reason=note,
        )

    assert refused.value.errors == {"reason": ["Describe the reason when “Other” is chosen."]}
    assert Journey.objects.get(pk=journey.pk).stage == S.REFERRAL
    assert counts(journey) == before


def test_withdrawal_for_other_reason_keeps_the_note():
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)

    services.advance(
        journey,
        S.WITHDRAWN,
        actor=team.physician,
        withdrawal_reason=WithdrawalReason.OTHER,
        reason="  Moved abroad for family reasons  ",
    )

    journey.refresh_from_db()
    assert (journey.stage, journey.withdrawal_reason, journey.withdrawal_note) == (
        S.WITHDRAWN,
        WithdrawalReason.OTHER,
        "Moved abroad for family reasons",
    )
    row = JourneyTransition.objects.filter(journey=journey).latest("id")
    assert (row.kind, row.withdrawal_reason, row.reason) == (
        TransitionKind.WITHDRAW,
        WithdrawalReason.OTHER,
        "Moved abroad for family reasons",
    )


def test_withdrawal_cancels_open_tasks_and_keeps_done_ones():
    # Given a journey in screening with its referral task done and three tasks open
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    referral_task = Task.objects.get(journey=journey, stage=S.REFERRAL)
    services.complete_task(referral_task, actor=team.navigator)
    journey = walk_to(journey, S.SCREENING, users=team)
    assert Task.objects.filter(journey=journey, status=TaskStatus.OPEN).count() == 2

    # When it is withdrawn
    services.advance(
        journey,
        S.WITHDRAWN,
        actor=team.navigator,
        withdrawal_reason=WithdrawalReason.DISEASE_PROGRESSION,
    )

    # Then the open tasks are cancelled and the done one stays done
    statuses = dict(Task.objects.filter(journey=journey).values_list("title", "status"))
    assert statuses == {
        "Call the patient and collect referral records and pathology": TaskStatus.DONE,
        "Book screening: echocardiogram, pulmonary function, labs, imaging": TaskStatus.CANCELLED,
        "Review eligibility and sign the eligibility checklist": TaskStatus.CANCELLED,
    }


def test_withdrawal_needs_no_guard():
    # Given a journey in referral whose patient has no diagnosis (the screening guard is unmet)
    team = make_team()
    patient = PatientFactory(center=team.center, cancer_type="", disease_stage="")
    journey = open_journey_for(patient, team.navigator)

    # When it is withdrawn
    services.advance(
        journey, S.WITHDRAWN, actor=team.center_admin, withdrawal_reason=WithdrawalReason.DEATH
    )

    # Then it is withdrawn
    assert Journey.objects.get(pk=journey.pk).stage == S.WITHDRAWN


def test_the_milestone_of_a_withdrawn_journey_cannot_be_recorded():
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    journey = walk_to(journey, S.WITHDRAWN, users=team)
    audit_before = AuditEvent.objects.count()

    with pytest.raises(PermissionDenied):
        services.record_milestone(
            journey,
            actor=team.navigator,
            kind=MilestoneKind.RESECTION_PERFORMED,
            occurred_at=milestone_time(),
        )

    assert not Milestone.objects.filter(journey=journey).exists()
    assert AuditEvent.objects.count() == audit_before
