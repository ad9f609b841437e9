"""What every manufacturing write shares with the audit chain: the event of a row just written
(its state after, and before when it changed), and a row created once under its unique key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_event
from tilcare.core.errors import InvalidInput

Row = TypeVar("Row", bound=models.Model)


def record_written(
    action: Action,
    row: models.Model,
    *,
    actor: User,
    subject_id: str,
    before: Mapping[str, Any] | None = None,
    reason: str = "",
    occurred_at: dt.datetime | None = None,
) -> None:
    """The audit event of `row` as just saved; `before` is its snapshot when it was changed."""
    record_event(
        action,
        row,
        actor=actor,
        before=before,
        after=snapshot(row),
        reason=reason,
        subject_id=subject_id,
        occurred_at=occurred_at,
    )


def create_unless_taken(
    model: type[Row], taken: InvalidInput, key: Mapping[str, Any], **fields: Any
) -> Row:
    """Create the row with its unique `key`, or refuse with `taken` when a row already has it,
    including one written by a colleague at the same moment. Runs in the caller's transaction."""
    if model._default_manager.filter(**key).exists():
        raise taken
    try:
        with transaction.atomic():
            return model._default_manager.create(**key, **fields)
    except IntegrityError:
        raise taken from None
