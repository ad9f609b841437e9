"""Limits for manufacturing capacity, named once so that forms, API and services say the same."""

from __future__ import annotations

# Places in one slot: a facility runs at least one process a day and, in the largest current
# cleanrooms, not more than a few dozen; 50 catches a typing slip (500) without limiting anyone.
CAPACITY_MIN = 1
CAPACITY_MAX = 50
# How far ahead a facility may open slots (days).
SLOT_HORIZON_DAYS = 366
NOTE_MAX = 200
CANCEL_REASON_MAX = 400
# A journey is re-manufactured at most a few times; 9 is a safe upper bound for a typing slip.
ATTEMPT_MIN = 1
ATTEMPT_MAX = 9
