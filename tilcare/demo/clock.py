"""The demo's replayed clock: a past moment made "now" while the demo records what happened then.

A demo is built in seconds, but its treatment courses were given over days and months. What is
dated by the clock when it is done cannot be told it happened earlier: a signature (the
pharmacist's verification of an order, QA's release, the signed protocol settings) is dated when
it is signed, and a dose is never recorded before its order's verification. So a demo built "now"
could not hold doses given days ago on an order verified today. The builder therefore replays
each course in the order it happened, with the clock set to each step's moment: each signature,
dose, bedside step and audit event carries the time it happened, and its `recorded_at` is that
time too. The audit trail keeps its chain order by `seq` (the order of writing), which
verification follows; its times are not required to increase.

Only the demo builder uses this. Every service reads the clock through
`django.utils.timezone.now()` (module attribute), and so do Django's `auto_now` and
`auto_now_add` fields, so patching that one name replays them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from django.utils import timezone


@contextmanager
def replayed_clock(moment: dt.datetime) -> Iterator[dt.datetime]:
    """Within the block, `timezone.now()` is `moment` (an aware instant already past)."""
    if timezone.is_naive(moment):
        raise ValueError("A replayed moment needs its time zone.")
    real = timezone.now()
    if moment > real:
        raise ValueError(f"{moment.isoformat()} has not happened yet (now {real.isoformat()}).")
    with mock.patch("django.utils.timezone.now", return_value=moment.astimezone(dt.UTC)):
        yield moment
