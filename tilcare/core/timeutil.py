"""Which day it is, and which moment a local time is, for a person or a place.

Instants are stored in UTC. A day is always somebody's day, in their own time zone:

- a center's clinical day (referral date, study day, due dates, "today" on the board) is counted
  in the center's zone;
- a facility's bench day (culture day, REP day, the slots' calendar) in the facility's zone.

There is one way to ask each question, and every caller names the place (an organization, or
its IANA zone name); nothing here falls back on the server's zone:

- `local_today(place)`: today's date where the place is;
- `local_now(place)`: now, on the place's wall clock (`local_minute(place)`: to the minute, as a
  form's default);
- `local_datetime(moment, place)`: a stored instant, on the place's wall clock;
- `local_moment(place, on, at)`: the instant of a wall-clock time on a local date;
- `day_start(place, on)`: the first instant of a local date.

Instants come back in UTC. Python compares and subtracts two date-times of the same zone by their
wall clocks, which is wrong across a daylight-saving change (a 23-hour day would count 24), and
never finds an ambiguous wall time equal to an instant of another zone; UTC has neither trap.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Protocol

from django.utils import timezone


class Zoned(Protocol):
    """Anything that has a time zone (an organization)."""

    @property
    def time_zone(self) -> str: ...


Place = str | zoneinfo.ZoneInfo | Zoned


def zone_of(place: Place) -> zoneinfo.ZoneInfo:
    """The zone of a place: an IANA zone name, a zone, or an object with `time_zone`."""
    if isinstance(place, zoneinfo.ZoneInfo):
        return place
    return zoneinfo.ZoneInfo(place if isinstance(place, str) else place.time_zone)


def local_now(place: Place, now: dt.datetime | None = None) -> dt.datetime:
    """Now (or `now`, an aware instant) on the place's wall clock."""
    moment = now or timezone.now()
    if timezone.is_naive(moment):
        raise ValueError("now must be an aware datetime (with its UTC offset).")
    return moment.astimezone(zone_of(place))


def local_minute(place: Place, now: dt.datetime | None = None) -> dt.datetime:
    """Now on the place's wall clock to the minute, as a date-time field shows it (no offset:
    the form is read back in the same zone)."""
    return local_now(place, now).replace(second=0, microsecond=0, tzinfo=None)


def local_today(place: Place, now: dt.datetime | None = None) -> dt.date:
    """Today's date where the place is (a nurse's or a technologist's "today", not the
    server's)."""
    return local_now(place, now).date()


def local_datetime(value: dt.datetime, place: Place) -> dt.datetime:
    """A stored (aware) instant on the place's wall clock."""
    return local_now(place, value)


def local_moment(place: Place, on: dt.date, at: dt.time) -> dt.datetime:
    """The instant (in UTC) at which the place's clocks show `at` on the local date `on`.

    On a daylight-saving change day a wall-clock time can happen twice (the clocks go back: the
    first one is meant, the second if `at.fold` is 1) or not at all (the clocks go forward: the
    time the clocks show an hour later is meant, as a person whose watch was not yet changed
    would say).
    """
    zone = zone_of(place)
    wall = dt.datetime.combine(on, at.replace(tzinfo=None), tzinfo=zone)
    # Through UTC: a time in the spring gap comes out as the instant after the gap.
    return wall.astimezone(dt.UTC)


def day_start(place: Place, on: dt.date) -> dt.datetime:
    """The first instant (in UTC) of the local date `on` (midnight, or the end of a gap)."""
    return local_moment(place, on, dt.time(0, 0))


def age_in_years(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def span_words(delta: dt.timedelta) -> str:
    """“2 days 3 h”, “5 h 20 min”, “12 min”: a duration to the minute (rounded down)."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        text = f"{days} day{'s' if days > 1 else ''}"
        return f"{text} {hours} h" if hours else text
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "less than a minute"


def nurse_time(moment: dt.datetime, place: Place) -> str:
    """“Tue 15 Dec 2026 10:00 EST”: an instant on the place's clock, with its zone (the zone's
    name changes with daylight saving, so a bound a few days away carries its own)."""
    local = local_datetime(moment, place)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {local.tzname()}"
