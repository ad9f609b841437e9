"""Shared by the audit tests and by other domains' tests of audit times: plain SQL (the way
someone with database access would change rows), and an event's two times."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from tilcare.audit.models import AuditEvent


def sql(statement: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def times(event: AuditEvent) -> tuple[dt.datetime, dt.datetime]:
    """When the action happened and when its event was recorded."""
    return event.occurred_at, event.recorded_at


def event_of(action: str) -> AuditEvent:
    """The one audit event with this action."""
    return AuditEvent.objects.get(action=action)
