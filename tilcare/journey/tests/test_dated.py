"""A journey's steps entered after the fact are dated as they happened: the stage, the timeline,
the tasks and the audit event carry the time given, and the audit event also keeps when it was
recorded. A time after now, or before what the journey already holds, is refused."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse

from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput
from tilcare.journey import services
from tilcare.journey.choices import MilestoneKind, Protocol, Stage, TaskStatus
from tilcare.journey.models import Journey, JourneyTransition, Task
from tilcare.journey.tests.factories import REFERRED_ON, prepare_for
from tilcare.patients.tests.factories import PatientFactory

# Every test runs at NOW, its clock stopped.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_stopped_at_module_now")]

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")  # the test center's zone
NOW = dt.datetime(2026, 12, 7, 14, 14, tzinfo=dt.UTC)
REFERRAL_MORNING = dt.datetime.combine(REFERRED_ON, dt.time(9, 30), tzinfo=NEW_YORK)
A_WEEK_LATER = REFERRAL_MORNING + dt.timedelta(days=7)


@pytest.fixture
def journey(team):
    return services.open_journey(
        PatientFactory(center=team.center),
        actor=team.navigator,
        protocol=Protocol.LIFILEUCEL_US_2024,
        referred_on=REFERRED_ON,
        occurred_at=REFERRAL_MORNING,
    )


def last_event() -> AuditEvent:
    return AuditEvent.objects.latest("seq")


def test_a_journey_opened_on_its_referral_day_is_dated_then(journey):
    transition = JourneyTransition.objects.get(journey=journey)
    event = last_event()

    assert journey.stage_entered_at == REFERRAL_MORNING
    assert (transition.occurred_at, transition.recorded_at) == (REFERRAL_MORNING, NOW)
    assert (event.action, event.occurred_at, event.recorded_at) == (
        "journey.open",
        REFERRAL_MORNING,
        NOW,
    )
    # The referral task is due two days after the referral, not two days after today
    task = Task.objects.get(journey=journey)
    assert task.due_on == REFERRED_ON + dt.timedelta(days=2)


def test_a_journey_cannot_be_opened_before_its_referral_day(team):
    patient = PatientFactory(center=team.center)
    evening_before = REFERRAL_MORNING - dt.timedelta(hours=12)

    with pytest.raises(InvalidInput) as refused:
        services.open_journey(
            patient,
            actor=team.navigator,
            protocol=Protocol.LIFILEUCEL_US_2024,
            referred_on=REFERRED_ON,
            occurred_at=evening_before,
        )

    assert refused.value.errors == {
        "occurred_at": ["The journey cannot be opened before the referral (2026-01-05)."]
    }
    assert (Journey.objects.count(), AuditEvent.objects.count()) == (0, 0)


def test_a_stage_move_is_dated_as_it_happened(team, journey):
    # Given a journey ready for screening
    journey = prepare_for(journey, Stage.SCREENING, users=team)

    # When the navigator records that it moved to screening a week after the referral
    moved = services.advance(
        journey, Stage.SCREENING, actor=team.navigator, occurred_at=A_WEEK_LATER
    )

    # Then the stage, the timeline row and the audit event are dated then; recorded now
    transition = JourneyTransition.objects.filter(journey=journey).latest("id")
    event = last_event()
    assert moved.stage_entered_at == A_WEEK_LATER
    assert (transition.to_stage, transition.occurred_at, transition.recorded_at) == (
        Stage.SCREENING,
        A_WEEK_LATER,
        NOW,
    )
    assert (event.action, event.occurred_at, event.recorded_at) == (
        "journey.advance",
        A_WEEK_LATER,
        NOW,
    )


def test_a_stage_move_cannot_be_dated_before_the_current_stage_began(team, journey):
    journey = prepare_for(journey, Stage.SCREENING, users=team)
    before_count = (JourneyTransition.objects.count(), AuditEvent.objects.count())

    with pytest.raises(InvalidInput) as refused:
        services.advance(
            journey,
            Stage.SCREENING,
            actor=team.navigator,
            occurred_at=REFERRAL_MORNING - dt.timedelta(minutes=1),
        )

    assert refused.value.errors == {
        "occurred_at": [
            "The move cannot be dated before the journey entered “Referral” (05 Jan 2026 09:30)."
        ]
    }
    assert (JourneyTransition.objects.count(), AuditEvent.objects.count()) == before_count
    assert Journey.objects.get(pk=journey.pk).stage == Stage.REFERRAL


def test_a_stage_move_dated_after_now_is_refused(team, journey):
    journey = prepare_for(journey, Stage.SCREENING, users=team)

    with pytest.raises(InvalidInput) as refused:
        services.advance(
            journey,
            Stage.SCREENING,
            actor=team.navigator,
            occurred_at=NOW + dt.timedelta(minutes=1),
        )

    assert refused.value.errors == {
        "occurred_at": ["The time it happened cannot be later than now (07 Dec 2026 14:14 UTC)."]
    }
    assert Journey.objects.get(pk=journey.pk).stage == Stage.REFERRAL


def test_a_task_done_earlier_is_dated_then(team, journey):
    task = Task.objects.get(journey=journey)
    done_at = REFERRAL_MORNING + dt.timedelta(hours=3)

    services.complete_task(task, actor=team.navigator, occurred_at=done_at)

    task.refresh_from_db()
    event = last_event()
    assert (task.status, task.completed_at) == (TaskStatus.DONE, done_at)
    assert (event.action, event.occurred_at, event.recorded_at) == (
        "journey.task.complete",
        done_at,
        NOW,
    )


def test_a_task_cannot_be_done_before_its_stage_began(team, journey):
    task = Task.objects.get(journey=journey)

    with pytest.raises(InvalidInput) as refused:
        services.complete_task(
            task, actor=team.navigator, occurred_at=REFERRAL_MORNING - dt.timedelta(hours=1)
        )

    assert refused.value.errors == {
        "occurred_at": [
            "The task cannot be done before the journey entered “Referral” (05 Jan 2026 09:30)."
        ]
    }
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_a_milestone_s_audit_event_is_dated_when_it_happened_and_keeps_when_it_was_entered(
    team, journey
):
    cleared = A_WEEK_LATER + dt.timedelta(days=7)

    services.record_milestone(
        journey,
        actor=team.financial_coordinator,
        kind=MilestoneKind.FINANCIAL_CLEARANCE,
        occurred_at=cleared,
        reference="PA-1",
    )

    event = last_event()
    assert (event.action, event.occurred_at, event.recorded_at) == (
        "journey.milestone.record",
        cleared,
        NOW,
    )


def test_the_journey_page_shows_a_move_when_it_happened_and_when_it_was_entered(
    team, journey, client
):
    # Given a journey moved to screening a week after its referral, entered today
    journey = prepare_for(journey, Stage.SCREENING, users=team)
    services.advance(journey, Stage.SCREENING, actor=team.navigator, occurred_at=A_WEEK_LATER)

    # When the navigator opens the journey page
    client.force_login(team.navigator)
    body = client.get(
        reverse("journey:journey-detail", kwargs={"public_id": journey.public_id})
    ).content.decode()

    # Then the timeline and the audit trail date the move on 12 Jan 2026 in the center's zone,
    # and say it was recorded on 7 Dec 2026 at 09:14 there (14:14 UTC)
    timeline = body[
        body.index('id="timeline"') : body.index("</section>", body.index('id="timeline"'))
    ]
    assert "Mon 12 Jan 2026, 09:30" in timeline
    assert "recorded 7 Dec 2026 09:14" in timeline
    audit = body[body.index('id="audit"') :]
    assert "12 Jan 2026, 09:30:00" in audit
    assert "recorded 7 Dec 2026 09:14" in audit
