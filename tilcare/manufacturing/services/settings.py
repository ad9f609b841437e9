"""Writing one of a facility's settings rows (a release specification, its thresholds): the row
under its key is set or created, locked while it changes, with one audit event holding its
before and after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_written
from tilcare.core.errors import InvalidInput

Row = TypeVar("Row", bound=models.Model)


def set_facility_row(
    model: type[Row],
    key: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    action: Action,
    facility: Organization,
    actor: User,
    taken_field: str,
    occurred_at: dt.datetime | None = None,
) -> Row:
    """Set `values` on the facility's row under `key`, creating it when there is none. When a
    colleague creates the same row at the same moment, refuse under `taken_field`: submitting
    again then changes their row."""
    try:
        with transaction.atomic():
            row = model._default_manager.select_for_update().filter(**key).first()
            before = snapshot(row) if row is not None else None
            if row is None:
                row = model(**key)
            for name, value in values.items():
                setattr(row, name, value)
            row.save()
            record_written(
                action,
                row,
                actor=actor,
                before=before,
                subject_id=str(facility.public_id),
                occurred_at=occurred_at,
            )
    except IntegrityError:
        raise InvalidInput(
            {taken_field: ["Set by a colleague at the same moment; submit again."]}
        ) from None
    return row
