"""Shared by the audit tests and by other domains' tests of audit times: plain SQL (the way
someone with database access would change rows), an event's two times, and the report of a
trail broken by such a change."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from tilcare.audit.models import AuditEvent
from tilcare.audit.selectors import ChainReport


def sql(statement: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def times(event: AuditEvent) -> tuple[dt.datetime, dt.datetime]:
    """When the action happened and when its event was recorded."""
    return event.occurred_at, event.recorded_at


def event_of(action: str) -> AuditEvent:
    """The one audit event with this action."""
    return AuditEvent.objects.get(action=action)


def broken(problem: str) -> ChainReport:
    """What verify_chain reports when every event still verifies but a row does not: the
    whole trail read, `problem` named, and no event at fault."""
    return ChainReport(False, AuditEvent.objects.count(), problem, None)
