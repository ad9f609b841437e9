"""When an identity record's audit event happened: the scan's, dispatch's or receipt's own time.

A scan, a dispatch or a receipt entered after the fact keeps its time on its own row (the custody
event, the shipment and its status log); its audit event is dated then too, and keeps when it was
recorded. The trail cannot carry that time when it is ahead of now (a hand scanner's clock within
the allowance) or before the trail's last change of the same record (a receipt dated before the
logger file uploaded a minute ago): the event is then dated when it is recorded, and the row keeps
the time given.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone

from tilcare.audit.models import AuditEvent
from tilcare.audit.services import object_type_of


def audit_time(obj: models.Model, moment: dt.datetime) -> dt.datetime | None:
    """`moment` when the audit event of a change to `obj` may be dated then; else None (now)."""
    if moment > timezone.now():
        return None
    if obj.pk is not None:
        object_id = str(getattr(obj, "public_id", None) or obj.pk)  # as the trail names it
        latest = (
            AuditEvent.objects.filter(object_type=object_type_of(obj), object_id=object_id)
            .order_by("-seq")
            .values_list("occurred_at", flat=True)
            .first()
        )
        if latest is not None and moment < latest:
            return None
    return moment
