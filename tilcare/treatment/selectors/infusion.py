"""Reads of the infusion day: the course's bags, the two people's identity checks, the thaw clock
of each bag, and what still stands between the bedside and the start of the infusion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from tilcare.clinical.dosing.premedication import PremedicationCheck, premedication_check
from tilcare.core.timeutil import local_datetime
from tilcare.identity.choices import ItemKind, LabelStatus, ScanResult
from tilcare.identity.models import Item
from tilcare.treatment import policies
from tilcare.treatment.choices import CHECKERS, BedsideTarget
from tilcare.treatment.models import BedsideScan, Infusion
from tilcare.treatment.selectors.activation import protocol_of


def infusion_of_course(coi_din: str, manufacture_attempt: int) -> Infusion | None:
    return _infusions().filter(coi_din=coi_din, manufacture_attempt=manufacture_attempt).first()


def _infusions() -> QuerySet[Infusion]:
    return Infusion.objects.select_related(
        "center", "patient", "activation", "opened_by", "started_by", "ended_by"
    )


def infusion_by_public_id(public_id: object) -> Infusion | None:
    return _infusions().filter(public_id=public_id).first()


def infusions_visible_to(user: Any) -> QuerySet[Infusion]:
    """Every infusion of the user's own center, for its staff who follow its journeys."""
    center = getattr(user, "organization", None)
    if center is None or not policies.can_view_orders(user, center):
        return Infusion.objects.none()
    return _infusions().filter(center=center)


def bags_of(infusion: Infusion) -> list[Item]:
    """The course's product bags for this manufacturing attempt, in label order; a bag whose
    every label was voided is not one to infuse."""
    bags = Item.objects.filter(
        coi_din=infusion.coi_din,
        manufacture_attempt=infusion.manufacture_attempt,
        kind=ItemKind.PRODUCT_BAG,
    ).prefetch_related("labels")
    return [
        bag
        for bag in bags.order_by("number")
        # Read from the prefetched labels (one query for every bag's labels).
        if not bag.labels.all() or any(lbl.status != LabelStatus.VOIDED for lbl in bag.labels.all())
    ]


@dataclass
class CheckRound:
    """One person's identity check: the wristband and every bag, each matched by a scan."""

    checker: int
    person: Any
    wristband_matched: bool = False
    bags_matched: set[str] = field(default_factory=set)
    scans: list[BedsideScan] = field(default_factory=list)

    def missing(self, bag_ids: Iterable[str]) -> list[str]:
        """What this person has still to scan: "the wristband" and each bag id not matched."""
        left = [] if self.wristband_matched else ["the wristband"]
        return left + [bag for bag in bag_ids if bag not in self.bags_matched]

    def complete(self, bag_ids: Iterable[str]) -> bool:
        return not self.missing(bag_ids)


def check_rounds(infusion: Infusion) -> dict[int, CheckRound]:
    """The two people's checks so far, by checker number (1 began first)."""
    rounds: dict[int, CheckRound] = {}
    scans = infusion.bedside_scans.select_related(
        "custody_event__actor", "custody_event__item"
    ).order_by("id")
    for scan in scans:
        event = scan.custody_event
        check = rounds.setdefault(scan.checker, CheckRound(scan.checker, event.actor))
        check.scans.append(scan)
        if event.result != ScanResult.MATCH:
            continue
        if scan.target == BedsideTarget.WRISTBAND:
            check.wristband_matched = True
        elif event.item is not None:
            check.bags_matched.add(event.item.item_id)
    return {number: rounds[number] for number in CHECKERS if number in rounds}


def identity_check_missing(infusion: Infusion, bag_ids: list[str]) -> list[str]:
    """What the two-person identity check still lacks, in a nurse's words (empty: complete)."""
    rounds = check_rounds(infusion)
    missing = []
    for number in CHECKERS:
        check = rounds.get(number)
        who = "first" if number == 1 else "second"
        if check is None:
            missing.append(
                f"The {who} person has not checked yet: each of two people scans the "
                "wristband and every bag."
            )
            continue
        left = check.missing(bag_ids)
        if left:
            missing.append(
                f"{check.person.get_full_name() or check.person.username} ({who} check) has "
                f"still to scan {', '.join(left)}."
            )
    return missing


def premedication_status(infusion: Infusion, start: dt.datetime) -> PremedicationCheck | None:
    """The premedication given against a start at `start` (None: the protocol gives none)."""
    regimen = protocol_of(infusion.activation).premedication
    if regimen is None:
        return None
    given = [(p.group, p.agent, p.at) for p in infusion.premedications.all()]
    return premedication_check(regimen, given, start)


def day_zero(infusion: Infusion | None) -> dt.date | None:
    """Day 0 of the course: the date its infusion started, on the center's calendar (None before
    it has started)."""
    if infusion is None or infusion.started_at is None:
        return None
    return local_datetime(infusion.started_at, infusion.center.time_zone).date()


def thaw_read_at(infusion: Infusion, thawed_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """When a bag's thaw clock is read against the center's limit: a bag thawed before the start
    at the start (it was infused from then); a bag thawed during the infusion, or any bag before
    the start, now, until the infusion's end stops every clock."""
    if infusion.started_at is not None and thawed_at <= infusion.started_at:
        return infusion.started_at
    return max(infusion.ended_at or now, thawed_at)
