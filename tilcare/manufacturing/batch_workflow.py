"""The one place a batch's status changes.

`move_batch` checks the workflow table (`choices.BATCH_TRANSITIONS`) and the guards
(`batch_selectors.GUARDS`), writes the append-only `BatchTransition` and the audit event, and
announces a rejection to the domains that listen (`batch_events`), all in the caller's
transaction. Who may make the move is the caller's policy: `batch_services.advance_batch` for the
moves staff make on the batch page or the API, the release services for QA's disposition and the
physician's acknowledgement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_event
from tilcare.core.errors import TransitionBlocked
from tilcare.identity.services.alerts import subject_of
from tilcare.manufacturing import batch_events
from tilcare.manufacturing.batch_selectors import unmet_reasons
from tilcare.manufacturing.choices import BATCH_TRANSITIONS, BatchStatus
from tilcare.manufacturing.models import Batch, BatchTransition

REASON_MAX = 400


def move_batch(
    batch: Batch,
    target: BatchStatus | str,
    *,
    actor: User,
    reason: str = "",
    also_set: Mapping[str, Any] | None = None,
) -> None:
    """Move the (locked) batch to `target`, setting `also_set` with the move (the REP start)."""
    source, target = BatchStatus(batch.status), BatchStatus(target)
    if target not in BATCH_TRANSITIONS.get(source, frozenset()):
        raise TransitionBlocked([f"A batch cannot move from “{source.label}” to “{target.label}”."])
    blocked = unmet_reasons(batch, target)
    if blocked:
        raise TransitionBlocked(blocked)
    before = snapshot(batch)
    now = timezone.now()
    BatchTransition.objects.create(
        batch=batch,
        from_status=source,
        to_status=target,
        occurred_at=now,
        actor=actor,
        reason=reason[:REASON_MAX],
    )
    changes = {"status": target, "status_changed_at": now, **(also_set or {})}
    for field, value in changes.items():
        setattr(batch, field, value)
    batch.save(update_fields=[*changes, "updated_at"])
    record_event(
        "manufacturing.batch.advance",
        batch,
        actor=actor,
        before=before,
        after=snapshot(batch),
        reason=reason,
        subject_id=subject_of(batch.coi_din),
    )
    if target == BatchStatus.REJECTED:
        batch_events.batch_rejected(batch, actor=actor)
