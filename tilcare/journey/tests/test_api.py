"""The journeys and tasks API: who sees what, moves, milestones, tasks.

A manufacturing facility's staff see journeys by COI identifier only: their responses must never
contain the patient's name, MRN or date of birth, nor free text that might name the patient.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.test import Client

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for, row_counts
from tilcare.core.timeutil import local_today
from tilcare.journey import services
from tilcare.journey.choices import Stage, TaskStatus, WithdrawalReason
from tilcare.journey.models import Journey, JourneyTransition, Milestone, Task
from tilcare.journey.tests.factories import make_team, open_journey_for
from tilcare.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found."}
IDENTITY = (b"Theodora", b"Lindqvist", b"MRN004512", b"1968-04-12")
COI_FIELDS = {
    "public_id",
    "coi_din",
    "coi_check",
    "coi_display",
    "protocol",
    "protocol_label",
    "stage",
    "stage_label",
    "stage_entered_at",
    "is_closed",
    "manufacture_attempt",
    "planned_resection_on",
    "planned_infusion_on",
    "center",
    "manufacturing_facility",
}
CENTER_ONLY_FIELDS = {
    "patient",
    "referred_on",
    "referring_physician",
    "withdrawal_reason",
    "withdrawal_note",
}
RESECTION = {"kind": "resection_performed", "occurred_at": "2026-01-06T09:30:00-05:00"}


def send(client: Client, method: str, path: str, body: object):
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


def counts() -> tuple[int, ...]:
    return row_counts(Journey, JourneyTransition, Milestone, AuditEvent)


@pytest.fixture
def assigned_journey(team, journey):
    """The journey with the team's facility chosen to manufacture it."""
    return services.plan_journey(
        journey, actor=team.navigator, changes={"manufacturing_facility": team.facility}
    )


@pytest.fixture
def api(team):
    return client_for(team.navigator)


@pytest.fixture
def facility_api(team):
    return client_for(team.manufacturing_tech)


@pytest.fixture
def other_center_journey():
    other = make_team()
    return open_journey_for(PatientFactory(center=other.center), other.navigator)


def journey_url(journey, suffix: str = "") -> str:
    return f"/api/v1/journeys/{journey.public_id}{suffix}"


def move(client: Client, journey, to_stage: str, **fields: object):
    """Ask the API to move the journey to `to_stage` (with `fields`, e.g. a reason)."""
    return send(
        client, "post", journey_url(journey, "/transitions"), {"to_stage": to_stage, **fields}
    )


# --- open -----------------------------------------------------------------------------------


def test_opening_a_journey_issues_its_coi_identifier(api, patient):
    events_before = AuditEvent.objects.count()

    response = send(
        api,
        "post",
        f"/api/v1/patients/{patient.public_id}/journeys",
        {
            "protocol": "lifileucel-us-2024",
            "referred_on": "2026-01-05",
            "referring_physician": "Dr. Ana Ortiz",
        },
    )

    assert response.status_code == 201
    journey = Journey.objects.get(patient=patient)
    body = response.json()
    assert body["public_id"] == str(journey.public_id)
    assert body["coi_din"] == journey.coi_din
    assert body["coi_din"].startswith("W1234")
    assert body["coi_display"] == journey.coi_display
    assert (body["stage"], body["stage_label"]) == ("referral", "Referral")
    assert body["patient"] == {
        "public_id": str(patient.public_id),
        "given_name": "Theodora",
        "family_name": "Lindqvist",
        "mrn": "MRN004512",
        "date_of_birth": "1968-04-12",
    }
    assert (body["referred_on"], body["referring_physician"]) == ("2026-01-05", "Dr. Ana Ortiz")
    assert body["stage_entered_at"] == journey.stage_entered_at.astimezone(dt.UTC).isoformat()
    assert AuditEvent.objects.count() == events_before + 1


def test_a_journey_with_an_unknown_protocol_is_refused_and_nothing_written(api, patient):
    before = counts()

    response = send(
        api,
        "post",
        f"/api/v1/patients/{patient.public_id}/journeys",
        {"protocol": "car-t", "referred_on": "2026-01-05"},
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": {"protocol": ["Input should be 'lifileucel-us-2024' or 'nki-til-2022'."]},
    }
    assert counts() == before


def test_a_referral_date_in_the_future_is_refused_by_the_service(api, team, patient):
    today = local_today(team.center.time_zone)
    before = counts()

    response = send(
        api,
        "post",
        f"/api/v1/patients/{patient.public_id}/journeys",
        {
            "protocol": "lifileucel-us-2024",
            "referred_on": (today + dt.timedelta(days=1)).isoformat(),
        },
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": {"referred_on": [f"Referral date cannot be in the future (today is {today})."]},
    }
    assert counts() == before


def test_a_journey_for_another_centers_patient_is_not_found(api):
    stranger = PatientFactory()
    before = counts()

    response = send(
        api,
        "post",
        f"/api/v1/patients/{stranger.public_id}/journeys",
        {"protocol": "lifileucel-us-2024", "referred_on": "2026-01-05"},
    )

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert counts() == before


def test_a_social_worker_may_not_open_a_journey(team, patient):
    before = counts()

    response = send(
        client_for(team.social_worker),
        "post",
        f"/api/v1/patients/{patient.public_id}/journeys",
        {"protocol": "lifileucel-us-2024", "referred_on": "2026-01-05"},
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "You may not open journeys at this center."}
    assert counts() == before


# --- list and read: center staff ------------------------------------------------------------


def test_center_staff_see_journeys_with_the_patient(api, journey, patient, other_center_journey):
    response = api.get("/api/v1/journeys")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [item] = body["items"]
    assert set(item) == COI_FIELDS | CENTER_ONLY_FIELDS
    assert item["public_id"] == str(journey.public_id)
    assert item["center"] == "Riverside Cancer Center"
    assert item["patient"] == {
        "public_id": str(patient.public_id),
        "given_name": "Theodora",
        "family_name": "Lindqvist",
        "mrn": "MRN004512",
        "date_of_birth": "1968-04-12",
    }


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ({"stage": "referral"}, 1),
        ({"stage": "screening"}, 0),
        ({"protocol": "lifileucel-us-2024"}, 1),
        ({"protocol": "nki-til-2022"}, 0),
    ],
)
def test_journeys_are_filtered_by_stage_and_protocol(api, journey, query, count):
    assert api.get("/api/v1/journeys", query).json()["count"] == count


def test_an_unknown_stage_filter_is_refused(api):
    response = api.get("/api/v1/journeys", {"stage": "orbit"})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["stage"]


def test_one_journey_is_read_with_the_patient(api, journey):
    body = api.get(journey_url(journey)).json()

    assert body["coi_display"] == journey.coi_display
    assert body["patient"]["mrn"] == "MRN004512"


def test_another_centers_journey_is_not_found(api, other_center_journey):
    response = api.get(journey_url(other_center_journey))

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_malformed_journey_id_is_not_found(api):
    for path in ("/api/v1/journeys/12345", f"/api/v1/journeys/{uuid.uuid4()}"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json() == NOT_FOUND


# --- list and read: a manufacturing facility ------------------------------------------------


def test_a_facility_lists_its_journeys_without_any_patient_identity(facility_api, assigned_journey):
    # Given a journey assigned to the technologist's facility
    # When they list journeys
    response = facility_api.get("/api/v1/journeys")

    # Then they see it by COI identifier, with no patient field and no identity anywhere
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [item] = body["items"]
    assert set(item) == COI_FIELDS
    assert item["coi_display"] == assigned_journey.coi_display
    assert item["manufacturing_facility"] == "Northgate Cell Therapy"
    for secret in IDENTITY:
        assert secret not in response.content


def test_a_facility_reads_one_journey_without_any_patient_identity(facility_api, assigned_journey):
    response = facility_api.get(journey_url(assigned_journey))

    assert response.status_code == 200
    assert set(response.json()) == COI_FIELDS
    for secret in IDENTITY:
        assert secret not in response.content


def test_a_facility_does_not_see_a_journey_it_does_not_manufacture(facility_api, journey):
    listing = facility_api.get("/api/v1/journeys")
    one = facility_api.get(journey_url(journey))

    assert listing.json() == {"items": [], "count": 0}
    assert one.status_code == 404
    assert one.json() == NOT_FOUND


def test_a_facility_timeline_hides_free_text_that_names_the_patient(
    team, facility_api, assigned_journey
):
    # Given the journey was withdrawn with a note naming the patient
    services.advance(
        assigned_journey,
        Stage.WITHDRAWN,
        actor=team.navigator,
        reason="Theodora Lindqvist moved abroad",
        withdrawal_reason=WithdrawalReason.OTHER,
    )

    # When the facility reads the journey and its timeline
    journey = facility_api.get(journey_url(assigned_journey))
    timeline = facility_api.get(journey_url(assigned_journey, "/transitions"))

    # Then it sees the stages and who moved them, never the note
    assert journey.json()["stage"] == "withdrawn"
    assert [(t["to_stage"], t["reason"]) for t in timeline.json()] == [
        ("referral", None),
        ("withdrawn", None),
    ]
    for response in (journey, timeline):
        for secret in IDENTITY:
            assert secret not in response.content


def test_a_facility_sees_milestones_without_their_notes(team, facility_api, assigned_journey):
    services.record_milestone(
        assigned_journey,
        actor=team.navigator,
        kind="resection_performed",
        occurred_at=dt.datetime(2026, 1, 6, 14, 30, tzinfo=dt.UTC),
        reference="OR-22",
        note="Mrs Lindqvist tolerated the procedure well",
    )

    response = facility_api.get(journey_url(assigned_journey, "/milestones"))

    # The reference is typed by the center too: the facility reads neither it nor the note
    assert [(m["kind"], m["reference"], m["note"]) for m in response.json()] == [
        ("resection_performed", None, None)
    ]
    assert b"Lindqvist" not in response.content
    assert b"OR-22" not in response.content


def test_a_facility_user_has_no_tasks(facility_api, assigned_journey):
    assert facility_api.get("/api/v1/tasks").json() == {"items": [], "count": 0}


# --- next steps and transitions -------------------------------------------------------------


def test_next_steps_say_what_is_allowed_and_what_blocks(api, journey):
    response = api.get(journey_url(journey, "/next-steps"))

    assert response.status_code == 200
    assert response.json() == [
        {
            "stage": "screening",
            "label": "Screening and eligibility",
            "kind": "advance",
            "allowed_for_user": True,
            "ready": True,
            "requirements": [
                {"code": "diagnosis", "label": "Diagnosis recorded", "met": True, "reason": ""}
            ],
            "blocked_reasons": [],
        },
        {
            "stage": "withdrawn",
            "label": "Withdrawn",
            "kind": "withdraw",
            "allowed_for_user": True,
            "ready": True,
            "requirements": [],
            "blocked_reasons": [],
        },
    ]


def test_next_steps_for_a_role_that_may_not_move_say_so(team, journey):
    body = client_for(team.social_worker).get(journey_url(journey, "/next-steps")).json()

    assert [(s["stage"], s["ready"], s["blocked_reasons"]) for s in body] == [
        ("screening", False, ["Your role may not move a journey to “Screening and eligibility”."]),
        ("withdrawn", False, ["Your role may not move a journey to “Withdrawn”."]),
    ]


def test_a_journey_is_advanced(api, journey):
    before = counts()

    response = move(api, journey, "screening")

    assert response.status_code == 200
    assert response.json()["stage"] == "screening"
    journey.refresh_from_db()
    assert journey.stage == Stage.SCREENING
    journeys, transitions, milestones, events = before
    assert counts() == (journeys, transitions + 1, milestones, events + 1)


def test_a_blocked_transition_is_409_with_the_reason_and_changes_nothing(api, journey):
    # Given a journey in screening without the patient's TIL therapy consent
    move(api, journey, "screening")
    before = counts()

    # When it is moved to financial clearance
    response = move(api, journey, "financial_clearance")

    # Then the answer is 409 with the guard's words, and nothing changes
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Transition blocked",
        "reasons": ["The patient's TIL therapy consent is not on file."],
    }
    journey.refresh_from_db()
    assert journey.stage == Stage.SCREENING
    assert counts() == before


def test_a_move_the_table_does_not_allow_is_409(api, journey):
    before = counts()

    response = move(api, journey, "completed")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Transition blocked",
        "reasons": ["A journey cannot move from “Referral” to “Completed”."],
    }
    assert counts() == before


def test_a_role_that_may_not_move_the_journey_gets_403(team, journey):
    before = counts()

    response = move(client_for(team.social_worker), journey, "screening")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Your role may not move a journey to “Screening and eligibility”."
    }
    journey.refresh_from_db()
    assert journey.stage == Stage.REFERRAL
    assert counts() == before


def test_an_unknown_target_stage_is_refused(api, journey):
    before = counts()

    response = move(api, journey, "orbit")

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["to_stage"]
    assert counts() == before


def test_a_withdrawal_without_its_reason_is_refused(api, journey):
    before = counts()

    response = move(api, journey, "withdrawn")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": {
            "withdrawal_reason": [
                "Choose a withdrawal reason: Disease progression, Death, Ineligible, "
                "Patient decision, Manufacturing failure, Other."
            ]
        },
    }
    assert counts() == before


def test_the_timeline_lists_each_move(api, team, journey):
    move(api, journey, "screening", reason="Records complete")

    response = api.get(journey_url(journey, "/transitions"))

    rows = [{k: v for k, v in row.items() if k != "occurred_at"} for row in response.json()]
    assert rows == [
        {
            "from_stage": "",
            "to_stage": "referral",
            "to_stage_label": "Referral",
            "kind": "create",
            "actor": team.navigator.printed_name,
            "reason": "",
            "withdrawal_reason": "",
        },
        {
            "from_stage": "referral",
            "to_stage": "screening",
            "to_stage_label": "Screening and eligibility",
            "kind": "advance",
            "actor": team.navigator.printed_name,
            "reason": "Records complete",
            "withdrawal_reason": "",
        },
    ]


# --- milestones -----------------------------------------------------------------------------


def test_a_milestone_is_recorded_and_returned_in_utc(api, team, journey):
    before = counts()

    response = send(
        api, "post", journey_url(journey, "/milestones"), {**RESECTION, "reference": "OR-22"}
    )

    assert response.status_code == 201
    milestone = Milestone.objects.get(journey=journey)
    body = response.json()
    assert body == {
        "public_id": f"{journey.public_id}:m{milestone.pk}",
        "kind": "resection_performed",
        "kind_label": "Tumor resection performed",
        "attempt": 1,
        "occurred_at": "2026-01-06T14:30:00+00:00",
        "reference": "OR-22",
        "note": "",
        "recorded_by": team.navigator.printed_name,
        "recorded_at": milestone.recorded_at.astimezone(dt.UTC).isoformat(),
        "voided_at": None,
        "voided_by": None,
        "void_reason": "",
    }
    assert milestone.occurred_at == dt.datetime(2026, 1, 6, 14, 30, tzinfo=dt.UTC)
    journeys, transitions, milestones, events = before
    assert counts() == (journeys, transitions, milestones + 1, events + 1)


@pytest.mark.parametrize(
    "occurred_at", ["2026-01-06T09:30:00", "2026-01-06"], ids=["naive", "date-only"]
)
def test_a_milestone_time_without_offset_is_refused_and_nothing_written(api, journey, occurred_at):
    before = counts()

    response = send(
        api, "post", journey_url(journey, "/milestones"), {**RESECTION, "occurred_at": occurred_at}
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": {
            "occurred_at": [
                "Give the date and time with its UTC offset, e.g. 2026-01-05T14:30:00+01:00 "
                "or 2026-01-05T13:30:00Z; a time without an offset is ambiguous."
            ]
        },
    }
    assert counts() == before


def test_a_milestone_before_the_referral_is_refused_by_the_service(api, journey):
    before = counts()

    response = send(
        api,
        "post",
        journey_url(journey, "/milestones"),
        {**RESECTION, "occurred_at": "2025-12-01T10:00:00+00:00"},
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": {"occurred_at": ["Date cannot be before the referral (2026-01-05)."]},
    }
    assert counts() == before


def test_a_role_that_may_not_record_the_milestone_gets_403(team, journey):
    before = counts()

    response = send(
        client_for(team.social_worker), "post", journey_url(journey, "/milestones"), RESECTION
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "Your role may not record “Tumor resection performed”."}
    assert counts() == before


def test_milestones_are_listed(api, journey):
    send(api, "post", journey_url(journey, "/milestones"), RESECTION)

    body = api.get(journey_url(journey, "/milestones")).json()

    assert [(m["kind"], m["occurred_at"]) for m in body] == [
        ("resection_performed", "2026-01-06T14:30:00+00:00")
    ]


# --- tasks ----------------------------------------------------------------------------------


def test_a_navigator_lists_open_tasks_with_the_patient(api, team, journey, patient):
    due = local_today(team.center.time_zone) + dt.timedelta(days=2)
    task = Task.objects.get(journey=journey)

    response = api.get("/api/v1/tasks")

    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "public_id": str(task.public_id),
                "title": "Call the patient and collect referral records and pathology",
                "role": "navigator",
                "role_label": "Nurse navigator / coordinator",
                "stage": "referral",
                "stage_label": "Referral",
                "due_on": due.isoformat(),
                "status": "open",
                "completed_at": None,
                "completed_by": None,
                "journey": {
                    "public_id": str(journey.public_id),
                    "coi_display": journey.coi_display,
                },
                "patient": {
                    "public_id": str(patient.public_id),
                    "given_name": "Theodora",
                    "family_name": "Lindqvist",
                    "mrn": "MRN004512",
                },
            }
        ],
        "count": 1,
    }


def test_a_task_is_completed_by_its_role(api, team, journey):
    task = Task.objects.get(journey=journey)
    events_before = AuditEvent.objects.count()

    response = api.post(f"/api/v1/tasks/{task.public_id}/complete")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["completed_by"]) == ("done", team.navigator.printed_name)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert AuditEvent.objects.count() == events_before + 1


def test_done_tasks_are_listed_only_when_asked(api, journey):
    task = Task.objects.get(journey=journey)
    api.post(f"/api/v1/tasks/{task.public_id}/complete")

    default = api.get("/api/v1/tasks").json()
    with_done = api.get("/api/v1/tasks", {"include_done": "true"}).json()

    assert default == {"items": [], "count": 0}
    assert [(t["public_id"], t["status"]) for t in with_done["items"]] == [
        (str(task.public_id), "done")
    ]


def test_a_task_for_another_role_may_not_be_completed(team, journey):
    task = Task.objects.get(journey=journey)
    events_before = AuditEvent.objects.count()

    response = client_for(team.social_worker).post(f"/api/v1/tasks/{task.public_id}/complete")

    assert response.status_code == 403
    assert response.json() == {"detail": "You may not complete this task."}
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert AuditEvent.objects.count() == events_before


def test_another_centers_task_is_not_found(api, other_center_journey):
    task = Task.objects.get(journey=other_center_journey)

    response = api.post(f"/api/v1/tasks/{task.public_id}/complete")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
