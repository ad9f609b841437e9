"""The one place a batch's status changes.

`move_batch` checks the workflow table (`choices.BATCH_WORKFLOW`) and the guards
(`batch_selectors.GUARDS`), and writes the append-only `BatchTransition` and the audit event,
all in the caller's transaction. Who may make the move is the caller's policy:
`batch_services.advance_batch` for the moves staff make on the batch page or the API, the release
services for QA's disposition and the physician's acknowledgement. A rejection changes the
patient's journey too, which this layer cannot import: every rejection is made through the
journey's door (`tilcare.journey.services.release`), which tells the journey in the same
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import check_occurred_at, record_written
from tilcare.audit.times import audit_time
from tilcare.core.errors import InvalidInput, TransitionBlocked
from tilcare.core.timeutil import local_datetime
from tilcare.identity.services.alerts import subject_of
from tilcare.manufacturing.choices import BATCH_WORKFLOW, BatchStatus
from tilcare.manufacturing.guards import unmet_reasons
from tilcare.manufacturing.models import Batch, BatchTransition

REASON_MAX = 400


def step_time(batch: Batch, moment: dt.datetime | None) -> dt.datetime | None:
    """When a move that follows a bench step (the formulation, the first release test) may be
    dated: the step's own time, unless the batch's trail or status cannot carry it (ahead of now,
    before the batch's last audited change or its current status); else None (now)."""
    occurred = audit_time(batch, moment)
    if occurred is None or occurred < batch.status_changed_at:
        return None
    return occurred


def move_batch(
    batch: Batch,
    target: BatchStatus | str,
    *,
    actor: User,
    reason: str = "",
    also_set: Mapping[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> None:
    """Move the (locked) batch to `target`, setting `also_set` with the move (the REP start).

    `occurred_at`: when the change happened on the bench, if earlier than now; never before the
    batch entered its current status. The status, the log row and the audit event are dated
    then, and the log row and the audit event keep when they were recorded.
    """
    source, target = BatchStatus(batch.status), BatchStatus(target)
    BATCH_WORKFLOW.check(source, target)
    blocked = unmet_reasons(batch, target)
    if blocked:
        raise TransitionBlocked(blocked)
    recorded = timezone.now()
    moment = recorded
    if occurred_at is not None:
        check_occurred_at(occurred_at, now=recorded)
        if occurred_at < batch.status_changed_at:
            since = local_datetime(batch.status_changed_at, batch.facility.time_zone)
            raise InvalidInput(
                {
                    "occurred_at": [
                        f"The change cannot be dated before the batch entered "
                        f"“{source.label}” ({since:%d %b %Y %H:%M})."
                    ]
                }
            )
        moment = occurred_at
    before = snapshot(batch)
    BatchTransition.objects.create(
        batch=batch,
        from_status=source,
        to_status=target,
        occurred_at=moment,
        recorded_at=recorded,
        actor=actor,
        reason=reason[:REASON_MAX],
    )
    changes = {"status": target, "status_changed_at": moment, **(also_set or {})}
    for field, value in changes.items():
        setattr(batch, field, value)
    batch.save(update_fields=[*changes, "updated_at"])
    record_written(
        Action.BATCH_ADVANCE,
        batch,
        actor=actor,
        before=before,
        reason=reason,
        subject_id=subject_of(batch.coi_din),
        occurred_at=occurred_at,
    )
