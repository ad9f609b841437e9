"""An infusion day walked through the real services, for the tests of its API and of the API as a
whole: a journey whose lymphodepletion was given (the last fludarabine dose at `last`), its two
product bags, the infusion checklist opened inside the window, and then, step by step, the
premedication, the thaw, the two people's identity checks, the start and end, the IL-2 order
verified and a dose assessed.

The clock is moved with a time-machine traveller (`time_machine` fixture, or the object
`time_machine.travel(...)` yields); each step leaves it at the time of its last record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tilcare.identity.choices import ItemKind
from tilcare.identity.models import Item
from tilcare.journey.choices import Protocol, Stage
from tilcare.journey.models import Journey
from tilcare.journey.selectors import course_of
from tilcare.journey.tests.factories import CareTeam, make_item, open_journey_for, walk_to
from tilcare.patients.tests.factories import TEST_PASSWORD, PatientFactory
from tilcare.treatment.choices import AdministrationOutcome, Il2Choice, OrderKind
from tilcare.treatment.models import Il2Decision, Infusion, Order
from tilcare.treatment.selectors import open_order, protocol_of
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.bedside import (
    record_bedside_scan,
    record_premedication,
    record_thaw,
)
from tilcare.treatment.services.il2 import assess_il2_dose
from tilcare.treatment.services.infusion import end_infusion, open_infusion, start_infusion
from tilcare.treatment.services.orders import order_il2, verify_order

H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)
DAY = 24 * H
# 23:30 UTC: already the next day in the center's zone east of UTC.
LAST_FLUDARABINE = dt.datetime(2026, 12, 14, 23, 30, tzinfo=dt.UTC)
# The start, 30 h after the last fludarabine dose (lifileucel's window: 24 h to 96 h after).
START = LAST_FLUDARABINE + 30 * H
PREMEDICATIONS = (
    ("acetaminophen", "acetaminophen", "650", "PO"),
    ("H1 antihistamine", "diphenhydramine", "25", "IV"),
)
# A mean urine output over 8 h below 0.5 mL/kg/h: the rules hold the dose.
LOW_URINE_OUTPUT = {"urine_output_ml_per_kg_per_h_over_8h": "0.4"}


@dataclass(frozen=True)
class InfusionDay:
    team: CareTeam
    journey: Journey
    infusion: Infusion
    bags: tuple[Item, ...]

    @property
    def wristband(self) -> str:
        return f"{self.journey.coi_din}{self.journey.coi_check}"

    @property
    def bag_ids(self) -> tuple[str, ...]:
        return tuple(bag.item_id for bag in self.bags)


def _the_order(journey: Journey, kind: str) -> Order:
    order = open_order(journey.coi_din, journey.manufacture_attempt, kind)
    assert order is not None
    return order


def lymphodepletion_given(
    team: CareTeam, traveller: Any, last: dt.datetime, protocol: str = Protocol.LIFILEUCEL_US_2024
) -> Journey:
    """A new patient's journey on `protocol` walked into lymphodepletion (its order verified) six
    days before `last`, then its cyclophosphamide and fludarabine doses given day by day, the
    last fludarabine at `last`; the clock stops at `last`."""
    traveller.move_to(last - 6 * DAY, tick=False)
    patient = PatientFactory(center=team.center)
    journey = open_journey_for(patient, team.navigator, protocol=protocol)
    journey = walk_to(journey, Stage.LYMPHODEPLETION, users=team)
    order = _the_order(journey, OrderKind.LYMPHODEPLETION)
    traveller.move_to(last, tick=False)
    cyclophosphamide = list(order.doses.filter(agent="cyclophosphamide").order_by("sequence"))
    for at, dose in zip((last - 6 * DAY + H, last - 5 * DAY), cyclophosphamide, strict=True):
        record_administration(dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=team.nurse)
    fludarabine = list(order.doses.filter(agent="fludarabine").order_by("sequence"))
    for n, dose in enumerate(fludarabine):
        at = last - (len(fludarabine) - 1 - n) * DAY
        record_administration(dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=team.nurse)
    return journey


def infusion_day(
    team: CareTeam,
    traveller: Any,
    *,
    last: dt.datetime = LAST_FLUDARABINE,
    protocol: str = Protocol.LIFILEUCEL_US_2024,
) -> InfusionDay:
    """The checklist opened by the nurse 28 h after the last fludarabine dose (the clock stays
    there), with the course's two bags released and in date."""
    journey = lymphodepletion_given(team, traveller, last, protocol)
    traveller.move_to(last + 28 * H, tick=False)
    bags = tuple(make_item(journey, team, ItemKind.PRODUCT_BAG, n) for n in (1, 2))
    infusion = open_infusion(course_of(journey), actor=team.nurse)
    return InfusionDay(team, journey, infusion, bags)


def identity_checked(day: InfusionDay, *people: Any) -> None:
    """Each of `people` scans the wristband and every bag (the nurse, then the physician)."""
    for person in people or (day.team.nurse, day.team.physician):
        record_bedside_scan(
            day.infusion, target="wristband", scanned_text=day.wristband, actor=person
        )
        for bag_id in day.bag_ids:
            record_bedside_scan(day.infusion, target="bag", scanned_text=bag_id, actor=person)


def ready_to_start(day: InfusionDay, traveller: Any, start: dt.datetime) -> None:
    """Premedication 45 min before `start` (when the protocol gives one), the first bag thawed
    20 min before, both identity checks made; the clock stops at `start`."""
    nurse = day.team.nurse
    traveller.move_to(start - 20 * MIN, tick=False)
    given = protocol_of(day.infusion.activation).premedication is not None
    for group, agent, dose, route in PREMEDICATIONS if given else ():
        record_premedication(
            day.infusion,
            group=group,
            agent=agent,
            dose=dose,
            route=route,
            at=start - 45 * MIN,
            actor=nurse,
        )
    record_thaw(day.infusion, item_id=day.bag_ids[0], thawed_at=start - 20 * MIN, actor=nurse)
    identity_checked(day)
    traveller.move_to(start, tick=False)


def infused(day: InfusionDay, traveller: Any, start: dt.datetime) -> Infusion:
    """Started at `start` and ended 30 min later, both bags and 20 ×10⁹ viable cells infused;
    the clock stops at the end."""
    ready_to_start(day, traveller, start)
    nurse = day.team.nurse
    record_thaw(day.infusion, item_id=day.bag_ids[1], thawed_at=start, actor=nurse)
    start_infusion(day.infusion, at=start, actor=nurse)
    traveller.move_to(start + 30 * MIN, tick=False)
    return end_infusion(
        day.infusion, at=start + 30 * MIN, bags_infused=2, viable_cells_e9="20", actor=nurse
    )


def verified_il2(day: InfusionDay) -> Order:
    """The course's IL-2 order, written by the physician and verified by the pharmacist."""
    team = day.team
    order = order_il2(course_of(day.journey), actor=team.physician)
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    return _the_order(day.journey, OrderKind.IL2)


def assessed(day: InfusionDay, traveller: Any, order: Order, at: dt.datetime) -> Il2Decision:
    """The first dose assessed by the nurse at `at` (the clock stops there): a low urine
    output, held for the physician's decision."""
    traveller.move_to(at, tick=False)
    return assess_il2_dose(
        order,
        observations=LOW_URINE_OUTPUT,
        choice=Il2Choice.HOLD,
        at=at,
        actor=day.team.nurse,
    )


def awaiting_decision(
    team: CareTeam,
    traveller: Any,
    last: dt.datetime,
    protocol: str = Protocol.LIFILEUCEL_US_2024,
) -> Il2Decision:
    """A whole infusion day after `last`, its IL-2 order verified and the first dose assessed 4 h
    after the infusion ended, awaiting the physician's decision."""
    day = infusion_day(team, traveller, last=last, protocol=protocol)
    start = last + 30 * H
    infused(day, traveller, start)
    order = verified_il2(day)
    return assessed(day, traveller, order, start + 30 * MIN + 4 * H)
