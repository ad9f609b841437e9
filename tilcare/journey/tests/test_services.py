"""Writes to a journey: a success writes its record and one audit event, a refusal writes nothing.

Opening with its chain-of-identity number, tasks on entering a stage, milestones, the plan, the
eligibility signature, task completion, and the day-counting helpers the journey page shows.
"""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from tilcare.accounts.choices import CENTER_ROLES, Role
from tilcare.audit.models import AuditEvent, Signature
from tilcare.clinical.checkdigits import mod37_2
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.core.timeutil import local_moment, local_today
from tilcare.journey import selectors, services
from tilcare.journey.choices import (
    STAGE_TASKS,
    MilestoneKind,
    Stage,
    TaskStatus,
    TaskTemplate,
    TransitionKind,
    WithdrawalReason,
)
from tilcare.journey.models import (
    CoiSequence,
    EligibilityChecklist,
    Journey,
    JourneyTransition,
    Milestone,
    Task,
)
from tilcare.journey.tests.factories import (
    PLANNED_RESECTION_ON,
    POSTGRES_ONLY,
    REFERRED_ON,
    eligible_checklist_data,
    journey_at,
    make_team,
    milestone_time,
    open_journey_for,
    plan_remanufacture,
    walk_to,
)
from tilcare.patients.tests.factories import (
    TEST_PASSWORD,
    CenterFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

S = Stage


def copy_then_withdraw(journey, team) -> Journey:
    """A copy of the journey read before the navigator withdraws it; the journey is withdrawn."""
    old_copy = Journey.objects.get(pk=journey.pk)
    services.advance(
        journey, S.WITHDRAWN, actor=team.navigator, withdrawal_reason=WithdrawalReason.DEATH
    )
    return old_copy


def written() -> dict[str, int]:
    """Row counts of everything a journey service may write."""
    return {
        "journeys": Journey.objects.count(),
        "transitions": JourneyTransition.objects.count(),
        "tasks": Task.objects.count(),
        "milestones": Milestone.objects.count(),
        "checklists": EligibilityChecklist.objects.count(),
        "signatures": Signature.objects.count(),
        "sequences": CoiSequence.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def year_digits(center) -> str:
    return f"{local_today(center.time_zone).year % 100:02d}"


# ---------- open_journey: the chain-of-identity number ----------


def test_open_journey_gives_a_13_character_din_of_fin_year_and_sequence(team):
    # Given a patient at a center whose FIN is W1234
    patient = PatientFactory(center=team.center)

    # When the navigator opens the journey
    journey = open_journey_for(patient, team.navigator)

    # Then its DIN is FIN + two-digit year + six-digit sequence 000001
    assert journey.coi_din == f"W1234{year_digits(team.center)}000001"
    assert len(journey.coi_din) == 13


def test_open_journey_check_character_is_the_mod_37_2_of_the_din(team):
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)

    assert journey.coi_check == mod37_2(journey.coi_din).character
    assert journey.coi_display == (
        f"{journey.coi_din[:5]} {journey.coi_din[5:7]} {journey.coi_din[7:]} {journey.coi_check}"
    )


def test_open_journey_writes_the_journey_its_opening_transition_task_and_one_event(team):
    # Given a patient
    patient = PatientFactory(center=team.center)

    # When the journey is opened
    journey = open_journey_for(patient, team.navigator)

    # Then it is in referral with one "create" transition, the referral task and one audit event
    assert (journey.stage, journey.center_id, journey.manufacture_attempt) == (
        S.REFERRAL,
        team.center.pk,
        1,
    )
    row = JourneyTransition.objects.get(journey=journey)
    assert (row.from_stage, row.to_stage, row.kind, row.actor_id) == (
        "",
        S.REFERRAL,
        TransitionKind.CREATE,
        team.navigator.pk,
    )
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.subject_id, event.actor_id) == (
        "journey.open",
        str(journey.public_id),
        str(journey.public_id),
        team.navigator.pk,
    )
    assert event.after["coi_din"] == journey.coi_din
    assert event.after["referred_on"] == REFERRED_ON.isoformat()


def test_sequences_count_up_per_fin_across_centers_sharing_it(team):
    # Given two centers with FIN W1234 (the sequence belongs to the FIN) and one with W5678
    twin = CenterFactory(isbt_fin="W1234")
    other = CenterFactory(isbt_fin="W5678")
    twin_navigator = UserFactory(role=Role.NAVIGATOR, organization=twin)
    other_navigator = UserFactory(role=Role.NAVIGATOR, organization=other)
    yy = year_digits(team.center)

    # When journeys are opened in turn
    first = open_journey_for(PatientFactory(center=team.center), team.navigator)
    second = open_journey_for(PatientFactory(center=team.center), team.navigator)
    third = open_journey_for(PatientFactory(center=twin), twin_navigator)
    elsewhere = open_journey_for(PatientFactory(center=other), other_navigator)

    # Then W1234 counts 1, 2, 3 and W5678 starts at 1
    assert [first.coi_din, second.coi_din, third.coi_din, elsewhere.coi_din] == [
        f"W1234{yy}000001",
        f"W1234{yy}000002",
        f"W1234{yy}000003",
        f"W5678{yy}000001",
    ]


def test_sequence_starts_again_in_a_new_year(team):
    # Given last year's W1234 sequence reached 500
    this_year = local_today(team.center.time_zone).year % 100
    CoiSequence.objects.create(fin="W1234", year=(this_year - 1) % 100, last_sequence=500)

    # When a journey is opened this year
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)

    # Then its sequence is this year's first
    assert journey.coi_din == f"W1234{this_year:02d}000001"
    assert CoiSequence.objects.get(fin="W1234", year=(this_year - 1) % 100).last_sequence == 500


def test_a_center_without_fin_cannot_open_a_journey_and_nothing_is_written():
    # Given a center whose FIN is not set yet
    center = CenterFactory(isbt_fin="")
    navigator = UserFactory(role=Role.NAVIGATOR, organization=center)
    patient = PatientFactory(center=center)
    before = written()

    # When a journey is opened
    with pytest.raises(InvalidInput) as refused:
        open_journey_for(patient, navigator)

    # Then the message names the FIN and nothing is written
    assert refused.value.errors == {
        "__all__": [
            "This center has no ISBT 128 facility identification number (FIN) yet. "
            "A center administrator must set it in the center settings before a "
            "journey can be given its chain-of-identity number."
        ]
    }
    assert written() == before


def test_a_second_open_journey_for_the_same_patient_is_refused(team):
    # Given a patient with an open journey
    patient = PatientFactory(center=team.center)
    open_journey_for(patient, team.navigator)
    before = written()

    # When another is opened
    with pytest.raises(InvalidInput) as refused:
        open_journey_for(patient, team.physician)

    # Then it is refused and nothing is written (no sequence number is used up either)
    assert refused.value.errors == {
        "__all__": ["This patient already has an open journey; close it first."]
    }
    assert written() == before
    assert CoiSequence.objects.get().last_sequence == 1


def test_a_patient_whose_journey_was_withdrawn_can_start_a_new_one(team):
    patient = PatientFactory(center=team.center)
    first = open_journey_for(patient, team.navigator)
    services.advance(
        first, S.WITHDRAWN, actor=team.navigator, withdrawal_reason=WithdrawalReason.INELIGIBLE
    )

    second = open_journey_for(patient, team.navigator)

    assert second.stage == S.REFERRAL
    assert second.coi_din != first.coi_din


def _bad_opening(case: str, today: dt.date) -> tuple[dict[str, object], dict[str, list[str]]]:
    """Arguments for open_journey with one bad value, and the exact error expected."""
    if case == "unknown-protocol":
        return {"protocol": "car-t"}, {
            "protocol": [
                "Choose one of: Lifileucel (Amtagvi), US label 2024, NKI phase 3 TIL (Rohaan 2022)."
            ]
        }
    if case == "before-birth":
        return {"referred_on": dt.date(1968, 4, 11)}, {
            "referred_on": ["Referral date cannot be before the patient's date of birth."]
        }
    return {"referred_on": today + dt.timedelta(days=1)}, {
        "referred_on": [f"Referral date cannot be in the future (today is {today})."]
    }


@pytest.mark.parametrize("case", ["unknown-protocol", "before-birth", "future"])
def test_open_journey_refuses_bad_input_and_writes_nothing(team, case):
    patient = PatientFactory(center=team.center)
    arguments, errors = _bad_opening(case, local_today(team.center.time_zone))
    before = written()

    with pytest.raises(InvalidInput) as refused:
        open_journey_for(patient, team.navigator, **arguments)

    assert refused.value.errors == errors
    assert written() == before


@pytest.mark.parametrize(
    "role",
    sorted(CENTER_ROLES - {Role.NAVIGATOR, Role.PHYSICIAN, Role.CENTER_ADMIN}),
)
def test_roles_that_do_not_open_journeys_are_refused(team, role):
    patient = PatientFactory(center=team.center)
    user = UserFactory(role=role, organization=team.center)
    before = written()

    with pytest.raises(PermissionDenied) as denied:
        open_journey_for(patient, user)

    assert denied.value.message == "You may not open journeys at this center."
    assert written() == before


def test_a_navigator_of_another_center_cannot_open_a_journey(team):
    patient = PatientFactory(center=team.center)
    before = written()

    with pytest.raises(PermissionDenied):
        open_journey_for(patient, make_team().navigator)

    assert written() == before


# ---------- tasks created on entering a stage ----------

STAGES_WITH_TASKS = [s for s in Stage if s in STAGE_TASKS]


@pytest.mark.parametrize("stage", STAGES_WITH_TASKS, ids=[s.value for s in STAGES_WITH_TASKS])
def test_entering_a_stage_creates_its_tasks_with_role_and_due_date(team, stage):
    # Given a journey / When it enters `stage`
    journey = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator), stage, users=team
    )

    # Then the stage's tasks are open for their roles, due N days from the center's today, or,
    # when tied to a date the journey has planned, on that date (offsets: test_task_plan.py)
    today = local_today(team.center.time_zone)
    journey = Journey.objects.get(pk=journey.pk)

    def due(template: TaskTemplate) -> dt.date:
        planned = getattr(journey, template.anchor) if template.anchor else None
        if planned is not None:
            return planned + dt.timedelta(days=template.anchor_offset_days)
        return today + dt.timedelta(days=template.due_in_days)

    tasks = Task.objects.filter(journey=journey, stage=stage).order_by("id")
    assert [(t.title, t.role, t.due_on, t.status) for t in tasks] == [
        (template.title, template.role, due(template), "open") for template in STAGE_TASKS[stage]
    ]


def test_opening_creates_the_referral_task_exactly(team):
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)

    task = Task.objects.get(journey=journey)
    assert (task.title, task.role, task.stage, task.status) == (
        "Call the patient and collect referral records and pathology",
        Role.NAVIGATOR,
        S.REFERRAL,
        TaskStatus.OPEN,
    )
    assert task.due_on == local_today(team.center.time_zone) + dt.timedelta(days=2)


# ---------- record_milestone ----------


def test_record_milestone_stores_it_for_the_current_attempt_with_one_event(team, journey):
    occurred = milestone_time()

    milestone = services.record_milestone(
        journey,
        actor=team.financial_coordinator,
        kind=MilestoneKind.FINANCIAL_CLEARANCE,
        occurred_at=occurred,
        reference="  PA-778812 ",
        note="Aetna approved",
    )

    stored = Milestone.objects.get()
    assert stored == milestone
    assert (stored.kind, stored.attempt, stored.occurred_at, stored.reference) == (
        MilestoneKind.FINANCIAL_CLEARANCE,
        1,
        occurred,
        "PA-778812",
    )
    assert stored.recorded_by == team.financial_coordinator
    event = AuditEvent.objects.latest("seq")
    assert (event.action, event.subject_id) == (
        "journey.milestone.record",
        str(journey.public_id),
    )
    assert event.after["reference"] == "PA-778812"


def _bad_times(journey) -> dict[str, tuple[dt.datetime, str]]:
    zone = zoneinfo.ZoneInfo(journey.center.time_zone)
    day_before_referral = dt.datetime.combine(
        journey.referred_on - dt.timedelta(days=1), dt.time(23, 59), tzinfo=zone
    )
    return {
        "naive": (dt.datetime(2026, 2, 1, 10, 0), "Give the date and time with its time zone."),
        "future": (
            timezone.now() + dt.timedelta(minutes=10),
            "Date and time cannot be in the future.",
        ),
        "before-referral": (
            day_before_referral,
            f"Date cannot be before the referral ({journey.referred_on}).",
        ),
    }


@pytest.mark.parametrize("case", ["naive", "future", "before-referral"])
def test_record_milestone_refuses_a_bad_time_and_writes_nothing(team, journey, case):
    occurred_at, message = _bad_times(journey)[case]
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.record_milestone(
            journey,
            actor=team.surgeon,
            kind=MilestoneKind.RESECTION_PERFORMED,
            occurred_at=occurred_at,
        )

    assert refused.value.errors == {"occurred_at": [message]}
    assert written() == before


def test_record_milestone_accepts_the_first_minute_of_the_referral_day_in_center_time(
    team, journey
):
    zone = zoneinfo.ZoneInfo(journey.center.time_zone)
    midnight = dt.datetime.combine(journey.referred_on, dt.time(0, 0), tzinfo=zone)

    milestone = services.record_milestone(
        journey, actor=team.nurse, kind=MilestoneKind.DISCHARGED, occurred_at=midnight
    )

    assert milestone.occurred_at == midnight


def test_record_milestone_refuses_an_unknown_kind(team, journey):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.record_milestone(
            journey, actor=team.nurse, kind="cured", occurred_at=milestone_time()
        )

    assert refused.value.errors == {"kind": ["“cured” is not a milestone."]}
    assert written() == before


@pytest.mark.parametrize("role", [Role.NAVIGATOR, Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST])
def test_only_the_financial_coordinator_records_financial_clearance(team, journey, role):
    before = written()

    with pytest.raises(PermissionDenied) as denied:
        services.record_milestone(
            journey,
            actor=team.by_role(role),
            kind=MilestoneKind.FINANCIAL_CLEARANCE,
            occurred_at=milestone_time(),
        )

    assert denied.value.message == (
        "Your role may not record “Financial clearance (coverage and authorization)”."
    )
    assert written() == before


def test_record_milestone_from_a_copy_read_before_remanufacture_uses_the_current_attempt(team):
    # Given a copy of the journey read at manufacturing, then the journey is re-manufactured
    journey = journey_at(team, S.AT_MANUFACTURING)
    old_copy = Journey.objects.get(pk=journey.pk)
    plan_remanufacture(journey, users=team)
    services.advance(journey, S.RESECTION_SCHEDULED, actor=team.navigator, reason="Failed")

    # When the new resection is recorded through the old copy
    milestone = services.record_milestone(
        old_copy,
        actor=team.surgeon,
        kind=MilestoneKind.RESECTION_PERFORMED,
        occurred_at=milestone_time(),
    )

    # Then it belongs to attempt 2, the one the journey is on
    assert milestone.attempt == 2
    assert Milestone.objects.get(pk=milestone.pk).attempt == 2


def test_record_milestone_from_a_copy_read_before_withdrawal_is_refused(team, journey):
    # Given a copy of the journey read before it was withdrawn
    old_copy = copy_then_withdraw(journey, team)
    before = written()

    # When a milestone is recorded through the old copy
    with pytest.raises(PermissionDenied):
        services.record_milestone(
            old_copy, actor=team.nurse, kind=MilestoneKind.DISCHARGED, occurred_at=milestone_time()
        )

    # Then nothing is written on the withdrawn journey
    assert written() == before


def test_plan_journey_from_a_copy_read_before_withdrawal_is_refused(team, journey):
    old_copy = copy_then_withdraw(journey, team)
    before = written()

    with pytest.raises(PermissionDenied):
        services.plan_journey(
            old_copy, actor=team.navigator, changes={"planned_resection_on": PLANNED_RESECTION_ON}
        )

    assert Journey.objects.get(pk=journey.pk).planned_resection_on is None
    assert written() == before


def test_eligibility_edit_and_sign_from_a_copy_read_before_withdrawal_are_refused(team, journey):
    # Given a copy of the journey read before another user withdrew it
    old_copy = copy_then_withdraw(journey, team)
    before = written()

    # When the physician saves and signs eligibility through the old copy
    with pytest.raises(PermissionDenied):
        services.save_eligibility(old_copy, actor=team.physician, data=eligible_checklist_data())
    with pytest.raises(PermissionDenied):
        services.sign_eligibility(old_copy, actor=team.physician, password=TEST_PASSWORD)

    # Then nothing is written
    assert written() == before


def test_void_milestone_keeps_it_with_who_and_why(team, journey):
    milestone = services.record_milestone(
        journey, actor=team.surgeon, kind="resection_performed", occurred_at=milestone_time()
    )

    services.void_milestone(milestone, actor=team.surgeon, reason="  Wrong patient  ")

    stored = Milestone.objects.get()
    assert (stored.voided_by, stored.void_reason) == (team.surgeon, "Wrong patient")
    assert stored.voided_at is not None
    event = AuditEvent.objects.latest("seq")
    assert (event.action, event.reason, event.before["voided_at"]) == (
        "journey.milestone.void",
        "Wrong patient",
        None,
    )


@pytest.mark.parametrize("reason", ["", "  "], ids=["empty", "blank"])
def test_void_milestone_needs_a_reason(team, journey, reason):
    milestone = services.record_milestone(
        journey, actor=team.surgeon, kind="resection_performed", occurred_at=milestone_time()
    )
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.void_milestone(milestone, actor=team.surgeon, reason=reason)

    assert refused.value.errors == {"reason": ["Say why this entry is void."]}
    assert Milestone.objects.get().voided_at is None
    assert written() == before


def test_a_void_milestone_cannot_be_voided_again(team, journey):
    milestone = services.record_milestone(
        journey, actor=team.surgeon, kind="resection_performed", occurred_at=milestone_time()
    )
    services.void_milestone(milestone, actor=team.surgeon, reason="Wrong patient")
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.void_milestone(milestone, actor=team.surgeon, reason="Again")

    assert refused.value.errors == {"__all__": ["This entry is already void."]}
    assert Milestone.objects.get().void_reason == "Wrong patient"
    assert written() == before


# ---------- plan_journey ----------


def test_plan_journey_sets_dates_and_facility_with_one_event(team, journey):
    services.plan_journey(
        journey,
        actor=team.navigator,
        changes={
            "planned_resection_on": PLANNED_RESECTION_ON,
            "planned_infusion_on": PLANNED_RESECTION_ON + dt.timedelta(days=35),
            "manufacturing_facility": team.facility,
        },
    )

    journey.refresh_from_db()
    assert (
        journey.planned_resection_on,
        journey.planned_infusion_on,
        journey.manufacturing_facility,
    ) == (PLANNED_RESECTION_ON, PLANNED_RESECTION_ON + dt.timedelta(days=35), team.facility)
    event = AuditEvent.objects.latest("seq")
    assert event.action == "journey.plan"
    assert (event.before["planned_resection_on"], event.after["planned_resection_on"]) == (
        None,
        PLANNED_RESECTION_ON.isoformat(),
    )
    assert event.after["manufacturing_facility"] == str(team.facility.public_id)


INFUSION_MESSAGE = "Infusion must be planned after the resection (manufacturing takes weeks)."


@pytest.mark.parametrize("days_after", [-1, 0], ids=["before", "same-day"])
def test_plan_journey_refuses_infusion_not_after_resection(team, journey, days_after):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.plan_journey(
            journey,
            actor=team.navigator,
            changes={
                "planned_resection_on": PLANNED_RESECTION_ON,
                "planned_infusion_on": PLANNED_RESECTION_ON + dt.timedelta(days=days_after),
            },
        )

    assert refused.value.errors == {"planned_infusion_on": [INFUSION_MESSAGE]}
    journey.refresh_from_db()
    assert (journey.planned_resection_on, journey.planned_infusion_on) == (None, None)
    assert written() == before


def test_plan_journey_refuses_infusion_before_the_resection_already_planned(team, journey):
    services.plan_journey(
        journey, actor=team.navigator, changes={"planned_resection_on": PLANNED_RESECTION_ON}
    )
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.plan_journey(
            journey,
            actor=team.navigator,
            changes={"planned_infusion_on": PLANNED_RESECTION_ON - dt.timedelta(days=3)},
        )

    assert refused.value.errors == {"planned_infusion_on": [INFUSION_MESSAGE]}
    assert Journey.objects.get(pk=journey.pk).planned_infusion_on is None
    assert written() == before


@pytest.mark.parametrize("organization", ["center", "own-center"])
def test_plan_journey_refuses_an_organization_that_is_not_a_facility(team, journey, organization):
    chosen = CenterFactory() if organization == "center" else team.center
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.plan_journey(
            journey, actor=team.navigator, changes={"manufacturing_facility": chosen}
        )

    assert refused.value.errors == {"manufacturing_facility": ["Choose a manufacturing facility."]}
    assert Journey.objects.get(pk=journey.pk).manufacturing_facility_id is None
    assert written() == before


def test_plan_journey_refuses_dates_before_referral_and_unknown_fields(team, journey):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.plan_journey(
            journey,
            actor=team.navigator,
            changes={
                "planned_resection_on": REFERRED_ON - dt.timedelta(days=1),
                "stage": S.INFUSION,
            },
        )

    assert refused.value.errors == {
        "__all__": ["Unknown field(s): stage."],
        "planned_resection_on": [f"Date cannot be before the referral ({REFERRED_ON})."],
    }
    assert Journey.objects.get(pk=journey.pk).stage == S.REFERRAL
    assert written() == before


def test_a_facility_user_cannot_plan_the_journey(team, journey):
    services.plan_journey(
        journey, actor=team.navigator, changes={"manufacturing_facility": team.facility}
    )
    before = written()

    with pytest.raises(PermissionDenied):
        services.plan_journey(
            journey,
            actor=team.manufacturing_tech,
            changes={"planned_resection_on": PLANNED_RESECTION_ON},
        )

    assert Journey.objects.get(pk=journey.pk).planned_resection_on is None
    assert written() == before


# ---------- eligibility ----------


@pytest.fixture
def filled(team, journey):
    services.save_eligibility(journey, actor=team.navigator, data=eligible_checklist_data())
    return journey


def test_sign_eligibility_records_a_signature_and_its_event(team, filled):
    signature = services.sign_eligibility(filled, actor=team.physician, password=TEST_PASSWORD)

    assert Signature.objects.get() == signature
    assert (signature.signer, signature.meaning) == (
        team.physician,
        "Eligibility confirmed by treating physician",
    )
    assert signature.audit_event.action == "signature.sign"
    assert signature.audit_event.subject_id == str(filled.public_id)


def test_sign_eligibility_refuses_a_wrong_password_and_writes_nothing(team, filled):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.sign_eligibility(filled, actor=team.physician, password="wrong-password-123")

    assert refused.value.errors == {
        "password": ["The password is not correct. Enter your own password to sign."]
    }
    assert written() == before


def test_sign_eligibility_refuses_an_empty_password(team, filled):
    before = written()

    with pytest.raises(InvalidInput):
        services.sign_eligibility(filled, actor=team.physician, password="")

    assert written() == before


def test_sign_eligibility_refuses_unmet_criteria_naming_them(team, journey):
    data = eligible_checklist_data()
    data.update({"cardiac_ok": False, "fit_for_il2": False})
    services.save_eligibility(journey, actor=team.navigator, data=data)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)

    assert refused.value.errors == {
        "__all__": [
            "These criteria are not met: Cardiac function reviewed and adequate; "
            "Fit for high-dose IL-2 (aldesleukin)."
        ]
    }
    assert written() == before


def test_sign_eligibility_refuses_a_missing_checklist(team, journey):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)

    assert refused.value.errors == {
        "__all__": ["Fill in the eligibility checklist before signing it."]
    }
    assert written() == before


@pytest.mark.parametrize("role", sorted(CENTER_ROLES - {Role.PHYSICIAN}))
def test_only_a_physician_signs_eligibility(team, filled, role):
    user = UserFactory(role=role, organization=team.center)
    before = written()

    with pytest.raises(PermissionDenied) as denied:
        services.sign_eligibility(filled, actor=user, password=TEST_PASSWORD)

    assert denied.value.message == "Only a treating physician of this center may sign eligibility."
    assert written() == before


def test_a_physician_of_another_center_cannot_sign_eligibility(team, filled):
    before = written()

    with pytest.raises(PermissionDenied):
        services.sign_eligibility(filled, actor=make_team().physician, password=TEST_PASSWORD)

    assert written() == before


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"ecog": 6}, {"ecog": ["ECOG performance status must be a whole number from 0 to 5."]}),
        ({"ecog": -1}, {"ecog": ["ECOG performance status must be a whole number from 0 to 5."]}),
        ({"ecog": "1"}, {"ecog": ["ECOG performance status must be a whole number from 0 to 5."]}),
        ({"signed": True}, {"__all__": ["Unknown field(s): signed."]}),
    ],
    ids=["ecog-6", "ecog-negative", "ecog-text", "unknown-field"],
)
def test_save_eligibility_refuses_bad_input_and_writes_nothing(team, journey, data, errors):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        services.save_eligibility(journey, actor=team.navigator, data=data)

    assert refused.value.errors == errors
    assert written() == before


# ---------- complete_task ----------


@pytest.fixture
def physician_task(team):
    """The physician's screening task ("Review eligibility and sign…")."""
    journey = walk_to(
        open_journey_for(PatientFactory(center=team.center), team.navigator),
        S.SCREENING,
        users=team,
    )
    return Task.objects.get(journey=journey, role=Role.PHYSICIAN)


@pytest.mark.parametrize("role", [Role.PHYSICIAN, Role.NAVIGATOR])
def test_the_tasks_role_or_a_navigator_completes_it(team, physician_task, role):
    actor = team.by_role(role)

    services.complete_task(physician_task, actor=actor)

    physician_task.refresh_from_db()
    assert (physician_task.status, physician_task.completed_by) == (TaskStatus.DONE, actor)
    assert physician_task.completed_at is not None
    event = AuditEvent.objects.latest("seq")
    assert (event.action, event.before["status"], event.after["status"]) == (
        "journey.task.complete",
        "open",
        "done",
    )


@pytest.mark.parametrize(
    "role", sorted(CENTER_ROLES - {Role.PHYSICIAN, Role.NAVIGATOR, Role.PATIENT})
)
def test_other_roles_cannot_complete_the_task(team, physician_task, role):
    before = written()

    with pytest.raises(PermissionDenied) as denied:
        services.complete_task(physician_task, actor=team.by_role(role))

    assert denied.value.message == "You may not complete this task."
    assert Task.objects.get(pk=physician_task.pk).status == TaskStatus.OPEN
    assert written() == before


def test_a_navigator_of_another_center_cannot_complete_the_task(physician_task):
    before = written()

    with pytest.raises(PermissionDenied):
        services.complete_task(physician_task, actor=make_team().navigator)

    assert Task.objects.get(pk=physician_task.pk).status == TaskStatus.OPEN
    assert written() == before


def test_a_done_task_cannot_be_completed_again(team, physician_task):
    services.complete_task(physician_task, actor=team.physician)
    before = written()

    with pytest.raises(PermissionDenied):
        services.complete_task(Task.objects.get(pk=physician_task.pk), actor=team.navigator)

    assert Task.objects.get(pk=physician_task.pk).completed_by == team.physician
    assert written() == before


# ---------- days in stage and study days ----------


@pytest.mark.parametrize(
    ("day", "text"),
    [(-7, "Day \u22127"), (-1, "Day \u22121"), (0, "Day 0"), (3, "Day +3"), (None, "")],
    ids=["minus-7", "minus-1", "zero", "plus-3", "none"],
)
def test_format_study_day_uses_a_true_minus_sign(day, text):
    assert selectors.format_study_day(day) == text


def test_format_study_day_minus_is_u2212_not_a_hyphen():
    assert selectors.format_study_day(-7)[4] == "\u2212"
    assert "-" not in selectors.format_study_day(-7)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 3, 2), -7),
        (dt.date(2026, 3, 9), 0),
        (dt.date(2026, 3, 12), 3),
    ],
    ids=["before", "day-zero", "after"],
)
def test_study_day_counts_from_day_zero(today, expected):
    assert selectors.study_day(dt.date(2026, 3, 9), today) == expected


def test_study_day_without_day_zero_is_none():
    assert selectors.study_day(None, dt.date(2026, 3, 9)) is None


def test_day_zero_is_the_planned_infusion_until_one_is_recorded(team, journey):
    services.plan_journey(
        journey,
        actor=team.navigator,
        changes={
            "planned_resection_on": PLANNED_RESECTION_ON,
            "planned_infusion_on": dt.date(2026, 3, 9),
        },
    )

    assert selectors.day_zero(Journey.objects.get(pk=journey.pk)) == dt.date(2026, 3, 9)


def test_day_zero_is_the_recorded_infusions_date_in_the_center_time_zone(team, journey):
    # Given an infusion recorded at 22:00 New York time (03:00 the next day in UTC)
    zone = zoneinfo.ZoneInfo("America/New_York")
    infused = dt.datetime(2026, 3, 9, 22, 0, tzinfo=zone)
    services.record_milestone(
        journey, actor=team.nurse, kind=MilestoneKind.INFUSION_DONE, occurred_at=infused
    )

    # When day 0 is computed / Then it is the local date
    assert selectors.day_zero(Journey.objects.get(pk=journey.pk)) == dt.date(2026, 3, 9)


def test_days_in_stage_on_the_board_count_from_entering_the_stage(team, journey):
    # Given noon today at the center, and a journey that entered its stage three days and one
    # hour before
    noon = local_moment(team.center, local_today(team.center), dt.time(12))
    with time_machine.travel(noon, tick=False):
        Journey.objects.filter(pk=journey.pk).update(
            stage_entered_at=timezone.now() - dt.timedelta(days=3, hours=1)
        )

        # When the navigator's board is built
        columns = selectors.board(team.navigator)

    # Then its card shows 3 days in stage and its one open task
    (card,) = [c for column in columns for c in column.cards]
    assert (card.coi_din, card.days_in_stage, card.open_tasks, card.overdue_tasks) == (
        journey.coi_din,
        3,
        1,
        0,
    )


def test_days_in_stage_on_the_board_are_the_center_s_calendar_days_across_a_clock_change(
    team, journey
):
    # Given a journey that entered its stage at 23:30 on 7 March 2026 in New York, and the board
    # opened at 00:30 on 9 March, after the clocks went forward (47 hours later)
    entered = local_moment("America/New_York", dt.date(2026, 3, 7), dt.time(23, 30))
    Journey.objects.filter(pk=journey.pk).update(stage_entered_at=entered)
    with time_machine.travel(dt.datetime(2026, 3, 9, 4, 30, tzinfo=dt.UTC), tick=False):
        # When the navigator's board is built
        columns = selectors.board(team.navigator)

    # Then the card counts 2 days in stage (7 to 9 March), not the 1 whole day of 24 hours
    (card,) = [c for column in columns for c in column.cards]
    assert card.days_in_stage == 2


def test_board_counts_overdue_tasks(team, journey):
    Task.objects.filter(journey=journey).update(
        due_on=local_today(team.center.time_zone) - dt.timedelta(days=1)
    )

    (card,) = [c for column in selectors.board(team.navigator) for c in column.cards]

    assert (card.open_tasks, card.overdue_tasks) == (1, 1)


def test_a_facility_not_assigned_to_the_journey_sees_no_card_for_it(team):
    other_facility_user = UserFactory(role=Role.QA_REVIEWER, organization=FacilityFactory())
    open_journey_for(PatientFactory(center=team.center), team.navigator)

    assert [c for column in selectors.board(other_facility_user) for c in column.cards] == []


# ---------- concurrency (PostgreSQL only) ----------


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_openings_for_one_patient_give_one_journey():
    # Given a patient and two staff submitting "open journey" at the same moment (a double click)
    team = make_team()
    patient = PatientFactory(center=team.center)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(actor) -> None:
        try:
            start.wait()
            open_journey_for(patient, actor)
            outcomes.append("opened")
        except InvalidInput as refused:
            outcomes.append(refused.errors["__all__"][0])
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=submit, args=(actor,)) for actor in (team.navigator, team.physician)
    ]

    # When both run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then exactly one journey exists and the other submission is refused
    assert sorted(outcomes) == [
        "This patient already has an open journey; close it first.",
        "opened",
    ]
    assert Journey.objects.filter(patient=patient).count() == 1


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_journeys_opened_at_the_same_moment_get_distinct_consecutive_numbers():
    # Given twenty patients and two navigators opening ten journeys each at the same time
    team = make_team()
    patients = [PatientFactory(center=team.center) for _ in range(20)]
    other_navigator = UserFactory(role=Role.NAVIGATOR, organization=team.center)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def open_all(actor, mine) -> None:
        try:
            start.wait()
            for patient in mine:
                open_journey_for(patient, actor)
        except BaseException as error:  # surfaced in the main thread below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=open_all, args=(team.navigator, patients[:10])),
        threading.Thread(target=open_all, args=(other_navigator, patients[10:])),
    ]

    # When both run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then the twenty DINs are the sequences 1 to 20 of this FIN and year, each used once
    assert failures == []
    yy = year_digits(team.center)
    assert sorted(Journey.objects.values_list("coi_din", flat=True)) == [
        f"W1234{yy}{n:06d}" for n in range(1, 21)
    ]
