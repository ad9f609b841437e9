"""A course on its infusion day for the bedside pages' tests, built through the real services.

Riverside is in New York. The last fludarabine dose is given at 11:00 (New York) on 14 June 2026
(15:00 UTC); the clock then stands at noon on 15 June (16:00 UTC), 25 h later: the lifileucel
infusion window (24 to 96 h after it) is open. One product bag, released the day before and in
date for 30 days, waits at the center; the nurse has opened the infusion checklist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tilcare.identity.models import Item
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.journey.selectors import course_of
from tilcare.journey.tests.factories import CareTeam, journey_at, make_item
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment.choices import AdministrationOutcome, OrderKind
from tilcare.treatment.models import Infusion, Order
from tilcare.treatment.selectors import open_order
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.bedside import (
    record_bedside_scan,
    record_premedication,
    record_thaw,
)
from tilcare.treatment.services.infusion import end_infusion, open_infusion, start_infusion
from tilcare.treatment.services.orders import order_il2, verify_order

H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)
DAY = 24 * H
NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)  # noon in New York
LAST_FLUDARABINE = NOW - 25 * H


@dataclass(frozen=True)
class Course:
    journey: Journey
    infusion: Infusion
    bag: Item

    @property
    def wristband(self) -> str:
        return f"{self.journey.coi_din}{self.journey.coi_check}"


def infusion_day(team: CareTeam, time_machine: Any) -> Course:
    """The course above; the clock is left standing at NOW."""
    time_machine.move_to(LAST_FLUDARABINE - 6 * DAY, tick=False)
    journey = journey_at(team, Stage.LYMPHODEPLETION)
    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    assert order is not None
    time_machine.move_to(LAST_FLUDARABINE, tick=False)
    cyclophosphamide = list(order.doses.filter(agent="cyclophosphamide").order_by("sequence"))
    starts = (LAST_FLUDARABINE - 6 * DAY + H, LAST_FLUDARABINE - 5 * DAY)
    for at, dose in zip(starts, cyclophosphamide, strict=True):
        record_administration(dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=team.nurse)
    fludarabine = list(order.doses.filter(agent="fludarabine").order_by("sequence"))
    for n, dose in enumerate(fludarabine):
        record_administration(
            dose,
            outcome=AdministrationOutcome.GIVEN,
            at=LAST_FLUDARABINE - (len(fludarabine) - 1 - n) * DAY,
            actor=team.nurse,
        )
    time_machine.move_to(NOW, tick=False)
    bag = make_item(journey, team, number=1)
    infusion = open_infusion(course_of(journey), actor=team.nurse)
    return Course(journey, infusion, bag)


def premedicated(course: Course, team: CareTeam, at: dt.datetime) -> None:
    """Acetaminophen 650 mg PO and diphenhydramine 25 mg IV given at `at`."""
    record_premedication(
        course.infusion,
        group="acetaminophen",
        agent="acetaminophen",
        dose="650",
        route="PO",
        at=at,
        actor=team.nurse,
    )
    record_premedication(
        course.infusion,
        group="H1 antihistamine",
        agent="diphenhydramine",
        dose="25",
        route="IV",
        at=at,
        actor=team.nurse,
    )


def checked_by_two(course: Course, team: CareTeam) -> None:
    """The nurse, then the physician, each scans the wristband and the bag."""
    for person in (team.nurse, team.physician):
        record_bedside_scan(
            course.infusion, target="wristband", scanned_text=course.wristband, actor=person
        )
        record_bedside_scan(
            course.infusion, target="bag", scanned_text=course.bag.item_id, actor=person
        )


def ready_to_start(course: Course, team: CareTeam) -> None:
    """Premedication 45 min before now, the bag thawed 20 min before now, both checks done."""
    premedicated(course, team, NOW - 45 * MIN)
    record_thaw(
        course.infusion, item_id=course.bag.item_id, thawed_at=NOW - 20 * MIN, actor=team.nurse
    )
    checked_by_two(course, team)


def infused(course: Course, team: CareTeam, time_machine: Any) -> Infusion:
    """Started at NOW, ended 30 min later with 1 bag and 20 ×10⁹ viable cells; the clock is left
    at the end."""
    ready_to_start(course, team)
    start_infusion(course.infusion, at=NOW, actor=team.nurse)
    time_machine.move_to(NOW + 30 * MIN, tick=False)
    return end_infusion(
        course.infusion,
        at=NOW + 30 * MIN,
        bags_infused="1",
        viable_cells_e9="20",
        note="",
        actor=team.nurse,
    )


def il2_order(course: Course, team: CareTeam) -> Order:
    """The course's IL-2 order, written by the physician and verified by the pharmacist."""
    order = order_il2(course_of(course.journey), actor=team.physician)
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    order.refresh_from_db()
    return order
