"""The journey pages: board, journey page and its actions, opening a journey, my tasks."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse

from tilcare.audit.models import AuditEvent, Signature
from tilcare.core.timeutil import local_moment, local_today
from tilcare.journey import services
from tilcare.journey.choices import MilestoneKind, Stage, TaskStatus
from tilcare.journey.models import EligibilityChecklist, Journey, Milestone, Task
from tilcare.journey.tests.factories import (
    PLANNED_RESECTION_ON,
    REFERRED_ON,
    eligible_checklist_data,
    open_journey_for,
    prepare_for,
    walk_to,
)
from tilcare.patients.tests.factories import (
    TEST_PASSWORD,
    CenterFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
BLOCKED_CONSENT = "The patient&#x27;s TIL therapy consent is not on file."


def _url(name, journey, **kwargs):
    return reverse(f"journey:{name}", kwargs={"public_id": journey.public_id, **kwargs})


def _withdraw(client, journey, withdrawal_reason):
    """Post the withdraw form with `withdrawal_reason` and no note."""
    return client.post(
        _url("journey-withdraw", journey),
        {"withdraw-withdrawal_reason": withdrawal_reason, "withdraw-reason": ""},
    )


def _record_milestone(client, journey, kind, **fields):
    """Post the milestone form: `kind` on the referral day at 09:30, with `fields` (reference,
    note) if given."""
    data = {"milestone-kind": kind, "milestone-occurred_at": f"{REFERRED_ON.isoformat()}T09:30"}
    data.update({f"milestone-{name}": value for name, value in fields.items()})
    return client.post(_url("milestone-record", journey), data)


def _stage(journey):
    return Journey.objects.get(pk=journey.pk).stage


def _body(response):
    return response.content.decode()


# ---------- Access ----------


def test_anonymous_visitor_is_sent_to_login(journey, client):
    # Given no one is logged in
    # When the board and a journey page are requested
    board = client.get(reverse("journey:board"))
    page = client.get(_url("journey-detail", journey))

    # Then both redirect to the login page
    assert board.status_code == 302
    assert board["Location"].startswith(reverse("accounts:login"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("accounts:login"))


def test_journey_of_another_center_is_404(journey, client):
    # Given a navigator of another center
    outsider = UserFactory(role="navigator", organization=CenterFactory())
    client.force_login(outsider)

    # When they open the journey
    response = client.get(_url("journey-detail", journey))

    # Then it is not found, and the patient's name is not shown
    assert response.status_code == 404
    assert "Lindqvist" not in _body(response)


# ---------- Board ----------


def test_board_shows_patient_names_to_the_navigator(team, journey, client):
    # Given a journey in referral
    client.force_login(team.navigator)

    # When the navigator opens the board
    response = client.get(reverse("journey:board"))

    # Then the card carries the patient's name and the COI with its boxed check character
    body = _body(response)
    assert response.status_code == 200
    assert "Lindqvist, Theodora" in body
    assert (
        f'<span class="coi">{journey.coi_spaced} '
        f'<span class="coi-check">{journey.coi_check}</span></span>'
    ) in body


def test_board_for_a_facility_shows_coi_only_and_only_its_journeys(team, patient, client):
    # Given one journey assigned to the facility and one not assigned to it
    assigned = walk_to(
        open_journey_for(patient, team.navigator), Stage.AT_MANUFACTURING, users=team
    )
    other_patient = PatientFactory(center=team.center, given_name="Oskar", family_name="Berg")
    unassigned = open_journey_for(other_patient, team.navigator)
    client.force_login(team.manufacturing_tech)

    # When the facility's technologist opens the board
    response = client.get(reverse("journey:board"))

    # Then the assigned journey shows by COI, without name, MRN or date of birth
    body = _body(response)
    assert response.status_code == 200
    assert assigned.coi_spaced in body
    assert "Lindqvist" not in body
    assert "Theodora" not in body
    assert "MRN004512" not in body
    assert "1968" not in body
    assert "12 Apr" not in body
    # And the journey not assigned to the facility is not on it
    assert unassigned.coi_spaced not in body
    assert "Berg" not in body


def test_board_search_by_name_narrows_the_cards(team, journey, client):
    # Given two journeys
    other = open_journey_for(
        PatientFactory(center=team.center, given_name="Oskar", family_name="Berg"), team.navigator
    )
    client.force_login(team.navigator)

    # When the navigator searches for one name through htmx
    response = client.get(
        reverse("journey:board"), {"q": "Lindqvist"}, headers={**HTMX, "HX-Target": "board-results"}
    )

    # Then only the board partial comes back, with the match and without the other
    body = _body(response)
    assert "<html" not in body
    assert "Lindqvist, Theodora" in body
    assert other.coi_spaced not in body


def test_board_table_view_groups_by_stage(team, journey, client):
    # Given a journey in referral
    client.force_login(team.navigator)

    # When the table view is chosen
    response = client.get(reverse("journey:board"), {"view": "table"})

    # Then the journey is listed in a table under its stage
    body = _body(response)
    assert 'class="table table-compact board-table"' in body
    assert '<span class="stage stage-referral">Referral</span>' in body
    assert "Lindqvist, Theodora" in body


# ---------- Journey page ----------


def test_journey_page_shows_the_patient_header_to_the_care_team(team, journey, client):
    # Given the navigator
    client.force_login(team.navigator)

    # When they open the journey
    response = client.get(_url("journey-detail", journey))

    # Then the patient, the stage, the next step and the audit trail are shown
    body = _body(response)
    assert response.status_code == 200
    assert "Lindqvist, Theodora" in body
    assert "MRN004512" in body
    assert "12 Apr 1968" in body
    assert 'id="next-steps"' in body
    assert 'id="audit"' in body
    assert (
        reverse("patients:patient-detail", kwargs={"public_id": journey.patient.public_id}) in body
    )


def test_journey_page_for_a_facility_shows_no_identity_and_no_audit(team, patient, client):
    # Given a journey at the facility
    journey = walk_to(open_journey_for(patient, team.navigator), Stage.AT_MANUFACTURING, users=team)
    client.force_login(team.manufacturing_tech)

    # When the technologist opens it
    response = client.get(_url("journey-detail", journey))

    # Then the COI, stage and timeline are shown, and nothing that identifies the patient
    body = _body(response)
    assert response.status_code == 200
    assert journey.coi_spaced in body
    assert "At manufacturing" in body
    assert 'id="timeline"' in body
    for secret in ("Lindqvist", "Theodora", "MRN004512", "1968", "Apr 1968"):
        assert secret not in body
    # And no audit trail, no actions, no link to the patient record
    assert 'id="audit"' not in body
    assert 'id="next-steps"' not in body
    assert "/patients/" not in body


def test_late_stage_journey_shows_the_study_day(team, patient, client):
    # Given a journey in IL-2 whose infusion was recorded today (Day 0)
    journey = walk_to(open_journey_for(patient, team.navigator), Stage.IL2, users=team)
    client.force_login(team.navigator)

    # When the navigator opens it
    response = client.get(_url("journey-detail", journey))

    # Then the study day is shown
    assert '<span class="study-day study-day-large">Day 0</span>' in _body(response)


# ---------- Advance ----------


def test_advance_moves_the_journey_when_requirements_are_met(team, journey, client):
    # Given a journey in referral (its diagnosis is recorded, so screening is open)
    client.force_login(team.navigator)

    # When the navigator moves it to screening
    response = client.post(_url("journey-advance", journey), {"to_stage": "screening"})

    # Then the journey is in screening and the page says so
    assert response.status_code == 302
    assert response["Location"] == _url("journey-detail", journey)
    assert _stage(journey) == Stage.SCREENING
    page = client.get(response["Location"])
    assert "Moved to “Screening and eligibility”." in _body(page)


def test_blocked_advance_shows_the_reason_and_leaves_the_stage(team, journey, client):
    # Given a journey in screening without the TIL therapy consent
    journey = walk_to(journey, Stage.SCREENING, users=team)
    client.force_login(team.navigator)

    # When the navigator tries to move it to financial clearance
    response = client.post(
        _url("journey-advance", journey), {"to_stage": "financial_clearance"}, follow=True
    )

    # Then the reason is shown as an error and the stage is unchanged
    body = _body(response)
    assert response.status_code == 200
    assert f'<li class="message message-error" role="alert">{BLOCKED_CONSENT}</li>' in body
    assert _stage(journey) == Stage.SCREENING


def test_journey_page_lists_blocked_steps_with_their_reasons(team, journey, client):
    # Given a journey in screening without the TIL therapy consent
    journey = walk_to(journey, Stage.SCREENING, users=team)
    client.force_login(team.navigator)

    # When the navigator opens the page
    body = _body(client.get(_url("journey-detail", journey)))

    # Then the next step is greyed with the reason in words, and no button to advance
    assert 'class="step step-blocked"' in body
    assert BLOCKED_CONSENT in body
    assert 'name="to_stage" value="financial_clearance"' not in body


def test_remanufacture_requires_a_reason(team, patient, client):
    # Given a journey at manufacturing
    journey = walk_to(open_journey_for(patient, team.navigator), Stage.AT_MANUFACTURING, users=team)
    client.force_login(team.navigator)

    # When the navigator starts a re-manufacture without saying why
    response = client.post(
        _url("journey-advance", journey), {"to_stage": "resection_scheduled", "reason": ""}
    )

    # Then the reason field says what is missing and nothing moved
    assert response.status_code == 200
    assert "Say why the product must be manufactured again." in _body(response)
    journey.refresh_from_db()
    assert journey.stage == Stage.AT_MANUFACTURING
    assert journey.manufacture_attempt == 1


def test_a_facility_user_cannot_advance(team, patient, client):
    # Given a journey at manufacturing, seen by the facility
    journey = walk_to(open_journey_for(patient, team.navigator), Stage.AT_MANUFACTURING, users=team)
    prepare_for(journey, Stage.PRODUCT_RELEASED, users=team)
    client.force_login(team.manufacturing_tech)

    # When the technologist posts a move
    response = client.post(_url("journey-advance", journey), {"to_stage": "product_released"})

    # Then it is refused and the stage is unchanged
    assert response.status_code == 403
    assert _stage(journey) == Stage.AT_MANUFACTURING


# ---------- Withdraw ----------


def test_withdraw_without_a_reason_is_refused(team, journey, client):
    # Given a journey in referral
    client.force_login(team.navigator)

    # When the navigator withdraws it without choosing a reason
    response = _withdraw(client, journey, "")

    # Then the reason is asked for and the journey is still open
    assert response.status_code == 200
    assert "Withdrawal reason is required." in _body(response)
    assert _stage(journey) == Stage.REFERRAL


def test_withdraw_with_other_needs_a_note(team, journey, client):
    # Given a journey in referral
    client.force_login(team.navigator)

    # When the navigator chooses "Other" and writes no note
    response = _withdraw(client, journey, "other")

    # Then the note is asked for and the journey is still open
    assert "Describe the reason when “Other” is chosen." in _body(response)
    assert _stage(journey) == Stage.REFERRAL


def test_withdraw_with_a_reason_closes_the_journey(team, journey, client):
    # Given a journey in referral
    client.force_login(team.navigator)

    # When the navigator withdraws it for disease progression
    response = _withdraw(client, journey, "disease_progression")

    # Then it is withdrawn with that reason and its open tasks are cancelled
    assert response.status_code == 302
    journey.refresh_from_db()
    assert journey.stage == Stage.WITHDRAWN
    assert journey.withdrawal_reason == "disease_progression"
    assert not journey.tasks.filter(status=TaskStatus.OPEN).exists()


# ---------- Milestones ----------


def test_record_milestone_reads_the_time_in_the_centers_zone(team, journey, client):
    # Given the financial coordinator (New York center)
    client.force_login(team.financial_coordinator)

    # When they record financial clearance at 09:30 local time on the referral day
    response = _record_milestone(client, journey, "financial_clearance", reference="PA-77", note="")

    # Then the milestone is stored at 14:30 UTC (New York is UTC−5 in January)
    assert response.status_code == 302
    milestone = Milestone.objects.get(journey=journey)
    assert milestone.kind == MilestoneKind.FINANCIAL_CLEARANCE
    assert milestone.reference == "PA-77"
    assert milestone.occurred_at == dt.datetime(2026, 1, 5, 14, 30, tzinfo=dt.UTC)


def test_a_new_milestone_defaults_to_now_on_the_center_s_clock_late_in_its_evening(
    team, journey, client
):
    # Given 23:30:20 today in New York, where the center is (04:30 UTC, already tomorrow in UTC)
    evening = local_moment(team.center, local_today(team.center), dt.time(23, 30, 20))

    # When the navigator opens the journey then
    with time_machine.travel(evening, tick=False):
        client.force_login(team.navigator)
        response = client.get(_url("journey-detail", journey))

    # Then the milestone form offers today 23:30 New York time, to the minute
    default = response.context["milestone_form"].initial["occurred_at"]
    assert (default.date(), default.time(), default) == (
        local_today(team.center, evening),
        dt.time(23, 30),
        evening.replace(second=0),
    )


def test_record_milestone_offers_only_kinds_the_user_may_record(team, journey, client):
    # Given the navigator (who may not record financial clearance)
    client.force_login(team.navigator)

    # When they post financial clearance anyway
    response = _record_milestone(client, journey, "financial_clearance")

    # Then the choice is refused on the field and nothing is recorded
    assert response.status_code == 200
    assert "Milestone: choose one of the listed options." in _body(response)
    assert not Milestone.objects.filter(journey=journey).exists()


def test_void_milestone_needs_a_reason_and_keeps_the_row(team, journey, client):
    # Given a recorded resection
    milestone = services.record_milestone(
        journey,
        actor=team.surgeon,
        kind=MilestoneKind.RESECTION_PERFORMED,
        occurred_at=dt.datetime(2026, 1, 6, 15, 0, tzinfo=dt.UTC),
    )
    client.force_login(team.navigator)
    url = _url("milestone-void", journey, milestone_id=milestone.pk)

    # When it is voided without a reason, then with one
    refused = client.post(url, {"void-reason": ""})
    accepted = client.post(url, {"void-reason": "Entered on the wrong patient"})

    # Then the first is refused with the field message, the second voids it (the row stays)
    assert "Say why this entry is void." in _body(refused)
    assert accepted.status_code == 302
    milestone.refresh_from_db()
    assert milestone.void_reason == "Entered on the wrong patient"
    assert milestone.voided_by == team.navigator
    page = _body(client.get(_url("journey-detail", journey)))
    assert "<del>Tumor resection performed</del>" in page
    assert "Entered on the wrong patient" in page


# ---------- Plan ----------


def test_plan_saves_dates_and_the_facility(team, journey, client):
    # Given the navigator
    client.force_login(team.navigator)

    # When they plan the resection and choose the facility
    response = client.post(
        _url("journey-plan", journey),
        {
            "plan-planned_resection_on": PLANNED_RESECTION_ON.isoformat(),
            "plan-planned_infusion_on": "",
            "plan-manufacturing_facility": str(team.facility.pk),
        },
    )

    # Then the plan is saved
    assert response.status_code == 302
    journey.refresh_from_db()
    assert journey.planned_resection_on == PLANNED_RESECTION_ON
    assert journey.manufacturing_facility == team.facility


def test_plan_refuses_infusion_before_resection(team, journey, client):
    # Given the navigator
    client.force_login(team.navigator)

    # When the infusion is planned before the resection
    response = client.post(
        _url("journey-plan", journey),
        {
            "plan-planned_resection_on": PLANNED_RESECTION_ON.isoformat(),
            "plan-planned_infusion_on": REFERRED_ON.isoformat(),
            "plan-manufacturing_facility": "",
        },
    )

    # Then the service's message is on the field and nothing is saved
    assert response.status_code == 200
    assert "Infusion must be planned after the resection" in _body(response)
    journey.refresh_from_db()
    assert journey.planned_resection_on is None
    assert journey.planned_infusion_on is None


# ---------- Eligibility ----------


def _eligibility_post(**overrides):
    data = {f"eligibility-{k}": "on" for k, v in eligible_checklist_data().items() if v is True}
    data.update({"eligibility-ecog": "1", "eligibility-notes": "Meets protocol criteria."})
    data.update(overrides)
    return data


def test_save_eligibility_creates_the_checklist(team, journey, client):
    # Given the physician
    client.force_login(team.physician)

    # When they save a complete checklist
    response = client.post(_url("eligibility-save", journey), _eligibility_post())

    # Then it is stored with every criterion met and ECOG 1
    assert response.status_code == 302
    checklist = EligibilityChecklist.objects.get(journey=journey)
    assert checklist.unmet == []
    assert checklist.ecog == 1


def test_sign_with_a_wrong_password_is_refused(team, journey, client):
    # Given a complete checklist
    services.save_eligibility(journey, actor=team.physician, data=eligible_checklist_data())
    client.force_login(team.physician)

    # When the physician signs with a wrong password
    response = client.post(_url("eligibility-sign", journey), {"sign-password": "wrong-password"})

    # Then the field says so and no signature is written
    assert response.status_code == 200
    assert "The password is not correct. Enter your own password to sign." in _body(response)
    assert Signature.objects.count() == 0


def test_sign_then_amend_shows_the_signature_as_voided(team, journey, client):
    # Given a complete checklist signed by the physician through the page
    services.save_eligibility(journey, actor=team.physician, data=eligible_checklist_data())
    client.force_login(team.physician)
    client.post(_url("eligibility-sign", journey), {"sign-password": TEST_PASSWORD})
    signed = _body(client.get(_url("journey-detail", journey)))

    # When the checklist is amended afterwards (ECOG 1 -> 2), with a reason
    amend = {
        key.replace("eligibility-", "amend-", 1): value
        for key, value in _eligibility_post(**{"eligibility-ecog": "2"}).items()
    }
    client.post(_url("eligibility-amend", journey), {**amend, "amend-reason": "ECOG 2 today"})
    changed = _body(client.get(_url("journey-detail", journey)))

    # Then the page first shows the valid signature, then says who voided it and why
    assert f"Signed by <strong>{team.physician.printed_name}</strong>" in signed
    assert "meaning “Eligibility confirmed by treating physician”" in signed
    assert f"Signature voided by {team.physician.printed_name} on " in changed
    assert ": ECOG 2 today</strong>" in changed
    assert Signature.objects.count() == 1


# ---------- Tasks ----------


def test_complete_task_from_the_journey_page(team, journey, client):
    # Given the referral task of the journey
    task = Task.objects.get(journey=journey)
    client.force_login(team.navigator)

    # When the navigator completes it
    response = client.post(reverse("journey:task-complete", kwargs={"public_id": task.public_id}))

    # Then it is done, by them, and they are back on the journey's tasks
    assert response.status_code == 302
    assert response["Location"] == _url("journey-detail", journey) + "#journey-tasks"
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.completed_by == team.navigator


def test_complete_task_with_htmx_returns_the_tasks_card(team, journey, client):
    # Given the referral task of the journey
    task = Task.objects.get(journey=journey)
    client.force_login(team.navigator)

    # When it is completed through htmx from the journey page
    response = client.post(
        reverse("journey:task-complete", kwargs={"public_id": task.public_id}),
        headers={**HTMX, "HX-Target": "journey-tasks"},
    )

    # Then the tasks card comes back with the task done
    body = _body(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card" id="journey-tasks"')
    assert f"Done: {task.title}" in body
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_role_cannot_complete_another_roles_task(team, journey, client):
    # Given the navigator's referral task
    task = Task.objects.get(journey=journey)
    client.force_login(team.pharmacist)

    # When the pharmacist tries to complete it
    response = client.post(reverse("journey:task-complete", kwargs={"public_id": task.public_id}))

    # Then it is refused and stays open
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_task_list_groups_overdue_today_and_upcoming(team, patient, client):
    # Given a journey in screening: its navigator task is due in 5 days
    journey = walk_to(open_journey_for(patient, team.navigator), Stage.SCREENING, users=team)
    today = local_today(team.center.time_zone)
    upcoming = Task.objects.get(journey=journey, stage=Stage.SCREENING, role="navigator")
    # and two more tasks made overdue and due today (dates set directly: tasks get their due
    # dates from the stage they were created for, and a test cannot wait for days to pass)
    referral = Task.objects.get(journey=journey, stage=Stage.REFERRAL)
    Task.objects.filter(pk=referral.pk).update(due_on=today - dt.timedelta(days=3))
    physician_task = Task.objects.get(journey=journey, stage=Stage.SCREENING, role="physician")
    Task.objects.filter(pk=physician_task.pk).update(due_on=today)
    client.force_login(team.navigator)

    # When the navigator opens My tasks
    body = _body(client.get(reverse("journey:task-list")))

    # Then each task is in its group, in order, with the patient's name
    overdue_at = body.index('id="tasks-overdue"')
    today_at = body.index('id="tasks-today"')
    upcoming_at = body.index('id="tasks-upcoming"')
    assert overdue_at < body.index(referral.title) < today_at
    assert today_at < body.index(physician_task.title) < upcoming_at
    assert upcoming_at < body.index(upcoming.title)
    assert "3 days late" in body
    assert "Lindqvist, Theodora" in body


def test_task_list_complete_with_htmx_returns_the_row(team, journey, client):
    # Given the referral task
    task = Task.objects.get(journey=journey)
    client.force_login(team.navigator)

    # When it is completed from My tasks through htmx
    response = client.post(
        reverse("journey:task-complete", kwargs={"public_id": task.public_id}),
        {"next": reverse("journey:task-list")},
        headers={**HTMX, "HX-Target": f"task-{task.public_id}"},
    )

    # Then the row comes back, marked done
    body = _body(response)
    assert body.lstrip().startswith(f'<tr id="task-{task.public_id}"')
    assert '<span class="badge badge-success">Done</span>' in body


def test_task_list_is_refused_to_a_facility(team, client):
    # Given the facility's technologist
    client.force_login(team.manufacturing_tech)

    # When they open My tasks
    response = client.get(reverse("journey:task-list"))

    # Then it is refused
    assert response.status_code == 403


# ---------- Opening a journey ----------


def _open_url(patient):
    return reverse("journey:journey-open", kwargs={"patient_public_id": patient.public_id})


def test_open_journey_issues_a_coi_and_goes_to_the_journey(team, patient, client):
    # Given the navigator
    client.force_login(team.navigator)

    # When they open a journey for the patient
    response = client.post(
        _open_url(patient),
        {
            "protocol": "lifileucel-us-2024",
            "referred_on": REFERRED_ON.isoformat(),
            "referring_physician": "Dr. Ana Ortiz",
        },
    )

    # Then a journey exists with a W1234 COI, and the browser goes to it
    journey = Journey.objects.get(patient=patient)
    assert journey.coi_din.startswith("W1234")
    assert response.status_code == 302
    assert response["Location"] == _url("journey-detail", journey)
    assert AuditEvent.objects.filter(action="journey.open").count() == 1


def test_open_journey_without_a_fin_is_refused_with_the_service_message(client):
    # Given a center without an ISBT 128 FIN
    center = CenterFactory(isbt_fin="")
    navigator = UserFactory(role="navigator", organization=center)
    patient = PatientFactory(center=center)
    client.force_login(navigator)

    # When the navigator opens a journey
    response = client.post(
        _open_url(patient),
        {"protocol": "lifileucel-us-2024", "referred_on": REFERRED_ON.isoformat()},
    )

    # Then the service's message is shown and no journey exists
    assert response.status_code == 200
    assert "This center has no ISBT 128 facility identification number (FIN) yet." in _body(
        response
    )
    assert not Journey.objects.filter(patient=patient).exists()


def test_open_a_second_journey_is_refused(team, journey, client):
    # Given a patient with an open journey
    client.force_login(team.navigator)

    # When the navigator opens another
    response = client.post(
        _open_url(journey.patient),
        {"protocol": "nki-til-2022", "referred_on": REFERRED_ON.isoformat()},
    )

    # Then it is refused and there is still one journey
    assert "This patient already has an open journey; close it first." in _body(response)
    assert Journey.objects.filter(patient=journey.patient).count() == 1


# ---------- Template helpers ----------


def test_coi_tag_prints_the_check_character_boxed(journey):
    # Given a journey
    # When the coi tag renders it
    html = Template("{% load coi %}{% coi journey %}").render(Context({"journey": journey}))

    # Then the DIN is spaced and the check character is boxed
    assert html == (
        f'<span class="coi">{journey.coi_din[:5]} {journey.coi_din[5:7]} {journey.coi_din[7:]} '
        f'<span class="coi-check">{journey.coi_check}</span></span>'
    )


@pytest.mark.parametrize(("day", "text"), [(-7, "Day −7"), (0, "Day 0"), (3, "Day +3")])
def test_study_day_filter(day, text):
    # Given a study day number / When it is formatted / Then it reads as in protocols
    html = Template("{% load journey_tags %}{{ day|study_day }}").render(Context({"day": day}))
    assert html == text


def test_a_facility_user_cannot_record_a_milestone(team, patient, client):
    # Given a journey at manufacturing, seen by the facility
    journey = walk_to(open_journey_for(patient, team.navigator), Stage.AT_MANUFACTURING, users=team)
    recorded = Milestone.objects.filter(journey=journey).count()
    client.force_login(team.manufacturing_tech)

    # When the technologist posts a milestone
    response = _record_milestone(client, journey, "product_released")

    # Then it is refused and nothing is recorded
    assert response.status_code == 403
    assert Milestone.objects.filter(journey=journey).count() == recorded


def test_patient_record_lists_the_journey_and_hides_open_while_one_is_open(client, team, journey):
    # Given a patient with an open journey
    client.force_login(team.navigator)

    # When the navigator opens the patient record
    body = client.get(reverse("patients:patient-detail", args=[journey.patient.public_id]))
    text = body.content.decode()

    # Then the journey is linked and no second journey can be opened
    assert _url("journey-detail", journey) in text
    assert reverse("journey:journey-open", args=[journey.patient.public_id]) not in text


def test_patient_record_offers_open_a_journey_when_none_is_open(client, team, patient):
    client.force_login(team.navigator)

    body = client.get(reverse("patients:patient-detail", args=[patient.public_id]))

    assert reverse("journey:journey-open", args=[patient.public_id]) in body.content.decode()


def test_patient_record_offers_no_open_button_to_a_social_worker(client, team, patient):
    client.force_login(team.social_worker)

    body = client.get(reverse("patients:patient-detail", args=[patient.public_id]))

    assert body.status_code == 200
    assert reverse("journey:journey-open", args=[patient.public_id]) not in body.content.decode()
