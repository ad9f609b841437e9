"""When a record's audit event happened: the time the record itself carries.

A scan, a dispatch, a receipt, a count on the bench or a release test keeps its own time on its
row (when it happened, not when it was typed in); its audit event is dated then too, and keeps
when it was recorded. The trail cannot carry that time when it is ahead of now (an instrument's or
a hand scanner's clock within the allowance) or before the trail's last change of the same record
(a receipt dated before the logger file uploaded a minute ago, a count corrected to a time before
its first entry): the event is then dated when it is recorded, and the row keeps the time given.

Identity (custody, shipments, labels, alerts) and manufacturing (the batch record's bench steps)
date their events with `audit_time`.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone

from tilcare.audit.services import latest_occurred_at


def audit_time(obj: models.Model | None, moment: dt.datetime | None) -> dt.datetime | None:
    """`moment` when the audit event of a change to `obj` (None: a record not yet written) may be
    dated then; else None (now)."""
    if moment is None or timezone.is_naive(moment) or moment > timezone.now():
        return None
    if obj is not None and obj.pk is not None:
        latest = latest_occurred_at(obj)
        if latest is not None and moment < latest:
            return None
    return moment
