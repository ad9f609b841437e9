"""Time is stored in UTC and shown in the center's own time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone


def local_today(time_zone: str, now: dt.datetime | None = None) -> dt.date:
    """Today's date where the center is (a nurse's "today", not the server's)."""
    now = now or timezone.now()
    return now.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


def local_datetime(value: dt.datetime, time_zone: str) -> dt.datetime:
    return value.astimezone(zoneinfo.ZoneInfo(time_zone))


def age_in_years(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
