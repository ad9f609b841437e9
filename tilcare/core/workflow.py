"""Declared transition tables: every workflow names its states and the moves allowed between them.

A workflow's `choices.py` declares its table once, as a `TransitionTable`: the moves
(`Mapping[State, frozenset[State]]`), the words for each state, and, where a refused move deserves
more than the general sentence, its own words. Its single `advance()` (or `move_…`) service calls
`table.check(current, target)` first, then its policy and guards; pages list `table.targets()`.
Journeys, batches and shipments all refuse a move through this one check, so a refusal reads
alike everywhere and its words live beside the table they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tilcare.core.errors import TransitionBlocked

S = TypeVar("S")


@dataclass(frozen=True)
class TransitionTable(Generic[S]):
    """One workflow: `noun` names the record ("journey"), `moves` every allowed (from, to) pair and
    nothing else, `labels` each state's words, `refusals` the words for particular refused
    moves (otherwise "A <noun> cannot move from “A” to “B”.")."""

    noun: str
    moves: Mapping[S, frozenset[S]]
    labels: Mapping[S, str]
    refusals: Mapping[tuple[S, S], str] = field(default_factory=dict)

    def targets(self, current: S) -> frozenset[S]:
        return self.moves.get(current, frozenset())

    def allows(self, current: S, target: S) -> bool:
        return target in self.targets(current)

    def refusal(self, current: S, target: S) -> str:
        return self.refusals.get((current, target)) or (
            f"A {self.noun} cannot move from “{self.labels[current]}” to “{self.labels[target]}”."
        )

    def check(self, current: S, target: S) -> None:
        """Raise TransitionBlocked, in the table's words, when it has no move from `current` to
        `target`."""
        if not self.allows(current, target):
            raise TransitionBlocked([self.refusal(current, target)])
