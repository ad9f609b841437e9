"""Test factories of the treatment domain: a center's protocol settings (complete values for each
shipped protocol, entered and signed through the real services), courses to order for, and a
course walked through the services to its infusion day and IL-2.

The values are a test center's choices, not recommendations: the sources settle none of them
(that is why they are center settings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tilcare.accounts.models import Organization, User
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.identity.models import Item
from tilcare.journey.choices import Protocol as JourneyProtocol
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.journey.selectors import course_of
from tilcare.patients.models import Patient
from tilcare.patients.services import record_measurement
from tilcare.patients.tests.factories import TEST_PASSWORD, PatientFactory
from tilcare.treatment.choices import (
    AdministrationOutcome,
    BedsideTarget,
    Il2Choice,
    OrderKind,
    OrderStatus,
)
from tilcare.treatment.models import Il2Decision, Infusion, Order, ProtocolActivation
from tilcare.treatment.selectors import open_order, protocol_of
from tilcare.treatment.services.activation import enter_protocol_settings, sign_protocol_settings
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.bedside import (
    record_bedside_scan,
    record_premedication,
    record_thaw,
)
from tilcare.treatment.services.il2 import assess_il2_dose
from tilcare.treatment.services.infusion import end_infusion, open_infusion, start_infusion
from tilcare.treatment.services.orders import Course, order_il2, verify_order

if TYPE_CHECKING:
    from tilcare.journey.tests.factories import CareTeam

LIFILEUCEL = ("lifileucel_us", "2024")
NKI = ("nki_phase3", "2022")

RENAL_BANDS = [
    {"crcl_from_ml_per_min": "40", "crcl_to_ml_per_min": "49", "dose": "15"},
    {"crcl_from_ml_per_min": "50", "crcl_to_ml_per_min": "79", "dose": "20"},
]

# Every setting lifileucel_us 2024 needs with these choices (actual weights throughout, so no
# adjusted-weight factor and no shared ideal-weight rule); the IL-2 narrowing settings are left
# blank, so the protocol's own ranges apply.
LIFILEUCEL_VALUES: dict[str, object] = {
    "cyclophosphamide_weight_basis": "actual",
    "cyclophosphamide_rounding_increment_mg": "10",
    "fludarabine_rounding_increment_mg": "1",
    "bsa_formula": "mosteller",
    "bsa_cap_m2": "no cap",
    "fludarabine_renal_bands": RENAL_BANDS,
    "crcl_weight_basis": "actual",
    "mesna_dose": "60",
    "il2_weight_basis": "actual",
    "thaw_to_infusion_limit_minutes": "60",
    "filgrastim_dose_ug_per_kg": "5",
}

NKI_VALUES: dict[str, object] = {
    **{k: v for k, v in LIFILEUCEL_VALUES.items() if k != "filgrastim_dose_ug_per_kg"},
    "infusion_earliest_hours": "24",
    "infusion_latest_hours": "96",
    "il2_interval_max_hours": "8",
    "il2_start_min_hours": "0",
    "il2_start_max_hours": "24",
}


def activate(
    center: Organization,
    *,
    pharmacist: User,
    physician: User,
    protocol: tuple[str, str] = LIFILEUCEL,
    values: Mapping[str, object] | None = None,
    reason: str = "",
) -> ProtocolActivation:
    """Enter `values` (the protocol's complete test values by default) and sign them twice."""
    if values is None:
        values = LIFILEUCEL_VALUES if protocol == LIFILEUCEL else NKI_VALUES
    activation = enter_protocol_settings(
        center,
        protocol_id=protocol[0],
        protocol_version=protocol[1],
        values=values,
        reason=reason,
        actor=pharmacist,
    )
    sign_protocol_settings(activation, actor=pharmacist, password=TEST_PASSWORD)
    sign_protocol_settings(activation, actor=physician, password=TEST_PASSWORD)
    activation.refresh_from_db()
    return activation


# The course the orders of these tests are for: its chain-of-identity number and check character.
COI_DIN, COI_CHECK = "W123426000042", "K"


def course_for(
    patient: Patient,
    protocol: tuple[str, str] = LIFILEUCEL,
    *,
    din: str = COI_DIN,
    check: str = COI_CHECK,
) -> Course:
    """The first manufacturing attempt's course of `patient` at their center, as a journey names
    it when it orders."""
    return Course(
        center=patient.center,
        patient=patient,
        coi_din=din,
        coi_check=check,
        manufacture_attempt=1,
        protocol=ProtocolRef(*protocol),
    )


def measure(
    patient: Patient, nurse: User, weight_kg: str, on: dt.date, *, height_cm: str = "180"
) -> None:
    """Record the patient's weight (and height, 180 cm unless given) measured on `on`."""
    record_measurement(
        patient, actor=nurse, measured_on=on, weight_kg=weight_kg, height_cm=height_cm
    )


# The infusion day -------------------------------------------------------------------------------
#
# A course walked through the services to its infusion day and IL-2, the clock moved with a
# time-machine traveller (the `time_machine` fixture, or what `time_machine.travel(...)` yields) so
# that each step is recorded at its own time; each step leaves the clock at its last record.

HOUR = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)
DAY = 24 * HOUR
# The center's thaw-to-infusion limit in LIFILEUCEL_VALUES (minutes).
THAW_LIMIT = int(str(LIFILEUCEL_VALUES["thaw_to_infusion_limit_minutes"])) * MIN

# The services' tests: the last fludarabine dose at 15:00 UTC (10:00 in New York, the test
# centers' zone); the checklist opened then.
LAST_FLUDARABINE = dt.datetime(2026, 12, 15, 15, 0, tzinfo=dt.UTC)
# The API's tests: the last dose at 23:30 UTC (already the next day in a zone east of UTC), the
# checklist opened 28 h later and the infusion started 30 h after it (lifileucel's window: 24 h to
# 96 h after the last dose).
API_LAST_FLUDARABINE = dt.datetime(2026, 12, 14, 23, 30, tzinfo=dt.UTC)
API_OPENED = API_LAST_FLUDARABINE + 28 * HOUR
API_START = API_LAST_FLUDARABINE + 30 * HOUR
# The pages' tests: the checklist opened, and the infusion started, at noon in New York on 15 June
# 2026 (16:00 UTC), 25 h after the last dose (11:00 EDT on 14 June).
PAGE_NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)
PAGE_LAST_FLUDARABINE = PAGE_NOW - 25 * HOUR

# (group, agent, dose in mg, route): the lifileucel protocol's two premedication groups.
PREMEDICATIONS = (
    ("acetaminophen", "acetaminophen", "650", "PO"),
    ("H1 antihistamine", "diphenhydramine", "25", "IV"),
)
# A mean urine output over 8 h below 0.5 mL/kg/h: the rules hold the dose.
LOW_URINE_OUTPUT = {"urine_output_ml_per_kg_per_h_over_8h": "0.4"}


@dataclass(frozen=True)
class InfusionDay:
    """A course on its infusion day: its team, journey, course, open infusion checklist, product
    bags and the time of the last fludarabine dose given."""

    team: CareTeam
    journey: Journey
    course: Course
    infusion: Infusion
    bags: tuple[Item, ...]
    last_fludarabine: dt.datetime

    @property
    def wristband(self) -> str:
        """What the patient's wristband reads: the COI identifier with its check character."""
        return f"{self.journey.coi_din}{self.journey.coi_check}"

    @property
    def bag_ids(self) -> tuple[str, ...]:
        return tuple(bag.item_id for bag in self.bags)


def lymphodepletion_given(
    team: CareTeam,
    traveller: Any,
    last: dt.datetime,
    protocol: str = JourneyProtocol.LIFILEUCEL_US_2024,
) -> Journey:
    """A new patient's journey on `protocol` walked into lymphodepletion (its order verified) six
    days before `last`, then its two cyclophosphamide doses and its fludarabine doses given day by
    day, each at its own time, the last fludarabine at `last`; the clock stops at `last`."""
    # The journey's factories import this module (`activate`): imported here, not at the top.
    from tilcare.journey.tests.factories import open_journey_for, walk_to

    walked = last - 6 * DAY
    traveller.move_to(walked, tick=False)
    journey = open_journey_for(
        PatientFactory(center=team.center), team.navigator, protocol=protocol
    )
    journey = walk_to(journey, Stage.LYMPHODEPLETION, users=team)
    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    assert order is not None and order.status == OrderStatus.VERIFIED
    cyclophosphamide = list(order.doses.filter(agent="cyclophosphamide").order_by("sequence"))
    fludarabine = list(order.doses.filter(agent="fludarabine").order_by("sequence"))
    times = [walked + HOUR, walked + DAY] + [
        last - n * DAY for n in range(len(fludarabine) - 1, -1, -1)
    ]
    for at, dose in zip(times, cyclophosphamide + fludarabine, strict=True):
        traveller.move_to(at, tick=False)
        record_administration(dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=team.nurse)
    return journey


def infusion_day(
    team: CareTeam,
    traveller: Any,
    *,
    last: dt.datetime = LAST_FLUDARABINE,
    opened: dt.datetime | None = None,
    bags: int = 2,
    protocol: str = JourneyProtocol.LIFILEUCEL_US_2024,
) -> InfusionDay:
    """The team's new patient's course after `lymphodepletion_given`: at `opened` (the last dose's
    time unless given) `bags` product bags of the journey's attempt, released the day before and
    in date for 30 days, and the infusion checklist opened by the nurse; the clock stays there."""
    from tilcare.journey.tests.factories import make_item

    journey = lymphodepletion_given(team, traveller, last, protocol)
    traveller.move_to(opened or last, tick=False)
    items = tuple(make_item(journey, team, number=n) for n in range(1, bags + 1))
    course = course_of(journey)
    infusion = open_infusion(course, actor=team.nurse)
    return InfusionDay(team, journey, course, infusion, items, last)


def premedicate(day: InfusionDay, at: dt.datetime, actor: User | None = None) -> None:
    """Acetaminophen 650 mg PO and diphenhydramine 25 mg IV (the two groups) given at `at`."""
    for group, agent, dose, route in PREMEDICATIONS:
        record_premedication(
            day.infusion,
            group=group,
            agent=agent,
            dose=dose,
            route=route,
            at=at,
            actor=actor or day.team.nurse,
        )


def check_identity(day: InfusionDay, *people: User) -> None:
    """Each of `people` (the nurse, then the physician, unless given) scans the wristband and every
    bag of the course."""
    for person in people or (day.team.nurse, day.team.physician):
        record_bedside_scan(
            day.infusion, target=BedsideTarget.WRISTBAND, scanned_text=day.wristband, actor=person
        )
        for bag_id in day.bag_ids:
            record_bedside_scan(
                day.infusion, target=BedsideTarget.BAG, scanned_text=bag_id, actor=person
            )


def ready_to_start(
    day: InfusionDay, traveller: Any, start: dt.datetime, *, thawed: dt.timedelta = 20 * MIN
) -> None:
    """Every step before a start at `start`: the premedication given 45 min before (when the
    protocol gives one), the first bag thawed `thawed` before, and the identity check of the nurse
    and the physician; the clock stops at `start`."""
    traveller.move_to(start, tick=False)
    if protocol_of(day.infusion.activation).premedication is not None:
        premedicate(day, start - 45 * MIN)
    record_thaw(
        day.infusion, item_id=day.bag_ids[0], thawed_at=start - thawed, actor=day.team.nurse
    )
    check_identity(day)


def infused(
    day: InfusionDay,
    traveller: Any,
    start: dt.datetime | None = None,
    *,
    minutes: int = 30,
    cells_e9: str = "20",
) -> Infusion:
    """The infusion started at `start` (25 h after the last fludarabine dose unless given), every
    other bag thawed then, and ended `minutes` later with every bag and `cells_e9` ×10⁹ viable
    cells infused; the clock stops at the end."""
    start = start or day.last_fludarabine + 25 * HOUR
    ready_to_start(day, traveller, start)
    for bag_id in day.bag_ids[1:]:
        record_thaw(day.infusion, item_id=bag_id, thawed_at=start, actor=day.team.nurse)
    start_infusion(day.infusion, at=start, actor=day.team.nurse)
    end = start + minutes * MIN
    traveller.move_to(end, tick=False)
    return end_infusion(
        day.infusion,
        at=end,
        bags_infused=len(day.bags),
        viable_cells_e9=cells_e9,
        actor=day.team.nurse,
    )


def il2_ordered(day: InfusionDay) -> Order:
    """The physician's IL-2 order for the course, verified by the pharmacist (at the clock)."""
    order = order_il2(day.course, actor=day.team.physician)
    verify_order(order, actor=day.team.pharmacist, password=TEST_PASSWORD)
    order.refresh_from_db()
    return order


def assessed(day: InfusionDay, traveller: Any, order: Order, at: dt.datetime) -> Il2Decision:
    """The next dose assessed by the nurse at `at` (the clock stops there): a low urine output,
    held for the physician's decision."""
    traveller.move_to(at, tick=False)
    return assess_il2_dose(
        order, observations=LOW_URINE_OUTPUT, choice=Il2Choice.HOLD, at=at, actor=day.team.nurse
    )


def awaiting_decision(
    team: CareTeam,
    traveller: Any,
    last: dt.datetime,
    protocol: str = JourneyProtocol.LIFILEUCEL_US_2024,
) -> Il2Decision:
    """A whole infusion day after `last` (the checklist opened 28 h after it, the infusion started
    30 h after it), its IL-2 order verified and the first dose assessed 4 h after the infusion
    ended, awaiting the physician's decision."""
    day = infusion_day(team, traveller, last=last, opened=last + 28 * HOUR, protocol=protocol)
    start = last + 30 * HOUR
    infused(day, traveller, start)
    order = il2_ordered(day)
    return assessed(day, traveller, order, start + 30 * MIN + 4 * HOUR)
