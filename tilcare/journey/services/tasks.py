"""Completing a journey's tasks."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_written
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.journey import policies
from tilcare.journey.choices import (
    TaskStatus,
)
from tilcare.journey.models import (
    Task,
)
from tilcare.journey.services.journeys import (
    _moment,
    _subject,
    _when,
)


def complete_task(task: Task, *, actor: User, occurred_at: dt.datetime | None = None) -> Task:
    """Mark a task done. `occurred_at`: when it was done, if earlier than now; not before the
    journey entered the task's stage when that is the current one."""
    require(policies.can_complete_task(actor, task), "You may not complete this task.")
    with transaction.atomic():
        task = Task.objects.select_for_update().select_related("journey__center").get(pk=task.pk)
        if task.status != TaskStatus.OPEN:
            raise InvalidInput({"__all__": ["This task is no longer open."]})
        done = _moment(occurred_at, timezone.now())
        journey = task.journey
        if (
            occurred_at is not None
            and task.stage == journey.stage
            and done < journey.stage_entered_at
        ):
            entered = _when(journey.stage_entered_at, journey.center.time_zone)
            raise InvalidInput(
                {
                    "occurred_at": [
                        f"The task cannot be done before the journey entered "
                        f"“{journey.stage_label()}” ({entered})."
                    ]
                }
            )
        before = snapshot(task)
        task.status = TaskStatus.DONE
        task.completed_by = actor
        task.completed_at = done
        task.save()
        record_written(
            Action.JOURNEY_TASK_COMPLETE,
            task,
            actor=actor,
            before=before,
            subject_id=_subject(task.journey),
            occurred_at=occurred_at,
        )
    return task
