"""Declared transition tables: every workflow names its states and the moves allowed between them.

A workflow's `choices.py` declares `TRANSITIONS: Mapping[State, frozenset[State]]`; its single
`advance()` service calls `check_transition()` first, then its policy and guards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from tilcare.core.errors import TransitionBlocked

S = TypeVar("S")


def allowed_targets(table: Mapping[S, frozenset[S]], current: S) -> frozenset[S]:
    return table.get(current, frozenset())


def check_transition(
    table: Mapping[S, frozenset[S]], current: S, target: S, label: Mapping[S, str]
) -> None:
    """Raise TransitionBlocked when the table has no move from `current` to `target`."""
    if target not in allowed_targets(table, current):
        raise TransitionBlocked(
            [f"A journey cannot move from “{label[current]}” to “{label[target]}”."]
        )
