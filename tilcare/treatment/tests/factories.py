"""A center's protocol settings for tests: complete values for each shipped protocol, and a
helper that enters and signs them through the real services.

The values are a test center's choices, not recommendations: the sources settle none of them
(that is why they are center settings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tilcare.accounts.models import Organization, User
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.identity.models import Item
from tilcare.patients.models import Patient
from tilcare.patients.services import record_measurement
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment.choices import (
    AdministrationOutcome,
    BedsideTarget,
    OrderKind,
    OrderStatus,
)
from tilcare.treatment.models import Infusion, Order, ProtocolActivation
from tilcare.treatment.selectors import open_order
from tilcare.treatment.services.activation import enter_protocol_settings, sign_protocol_settings
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.bedside import (
    record_bedside_scan,
    record_premedication,
    record_thaw,
)
from tilcare.treatment.services.infusion import end_infusion, open_infusion, start_infusion
from tilcare.treatment.services.orders import Course, order_il2, verify_order

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
# A Riverside course taken to "ready to infuse" through the services, with the clock moved by
# `time_machine` so that each step is recorded at its own time: the journey walked into
# lymphodepletion (its order verified) six days before the last fludarabine dose, two released,
# in-date product bags of the journey's attempt, the cyclophosphamide then fludarabine doses given
# day by day (the last fludarabine at `last`), and the infusion checklist opened.

# The last fludarabine dose of these tests: 15:00 UTC, 10:00 in New York (the test centers' zone).
LAST_FLUDARABINE = dt.datetime(2026, 12, 15, 15, 0, tzinfo=dt.UTC)
# The center's thaw-to-infusion limit in LIFILEUCEL_VALUES (minutes).
THAW_LIMIT = dt.timedelta(minutes=int(str(LIFILEUCEL_VALUES["thaw_to_infusion_limit_minutes"])))
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class InfusionDay:
    """A course ready to infuse: its team, journey, course, verified lymphodepletion order, open
    infusion, product bags and the time of the last fludarabine dose given."""

    team: Any
    journey: Any
    course: Course
    lymphodepletion: Order
    infusion: Infusion
    bags: list[Item]
    last_fludarabine: dt.datetime


def ready_to_infuse(
    team: Any, time_machine: Any, *, last: dt.datetime = LAST_FLUDARABINE, bags: int = 2
) -> InfusionDay:
    """The team's new patient's course ready to infuse (see above); the clock stops at `last`."""
    # The journey's factories import this module (`activate`): imported here, not at the top.
    from tilcare.journey.choices import Stage
    from tilcare.journey.selectors import course_of
    from tilcare.journey.tests.factories import journey_at, make_item

    walked = last - 6 * DAY
    time_machine.move_to(walked, tick=False)
    journey = journey_at(team, Stage.LYMPHODEPLETION)
    items = [make_item(journey, team, number=n) for n in range(1, bags + 1)]
    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    assert order is not None and order.status == OrderStatus.VERIFIED
    doses = list(order.doses.order_by("sequence"))
    cyclophosphamide = [d for d in doses if d.agent == "cyclophosphamide"]
    fludarabine = [d for d in doses if d.agent == "fludarabine"]
    assert (len(cyclophosphamide), len(fludarabine)) == (2, 5)
    times = [walked + HOUR, walked + DAY] + [last - n * DAY for n in range(4, -1, -1)]
    for at, dose in zip(times, cyclophosphamide + fludarabine, strict=True):
        time_machine.move_to(at, tick=False)
        record_administration(dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=team.nurse)
    course = course_of(journey)
    infusion = open_infusion(course, actor=team.nurse)
    return InfusionDay(team, journey, course, order, infusion, items, last)


def premedicate(day: InfusionDay, at: dt.datetime, actor: User | None = None) -> None:
    """Acetaminophen and diphenhydramine given at `at` (the protocol's two groups)."""
    for group, agent, dose in (("acetaminophen", "acetaminophen", "650"),
                               ("H1 antihistamine", "diphenhydramine", "50")):  # fmt: skip
        record_premedication(
            day.infusion,
            group=group,
            agent=agent,
            dose=dose,
            route="PO",
            at=at,
            actor=actor or day.team.nurse,
        )


def wristband_text(day: InfusionDay) -> str:
    """What the patient's wristband reads: the COI identifier with its check character."""
    return f"{day.journey.coi_din}{day.journey.coi_check}"


def check_identity(day: InfusionDay, person: User) -> None:
    """`person` scans the wristband and every bag of the course."""
    record_bedside_scan(
        day.infusion, target=BedsideTarget.WRISTBAND, scanned_text=wristband_text(day), actor=person
    )
    for bag in day.bags:
        record_bedside_scan(
            day.infusion, target=BedsideTarget.BAG, scanned_text=bag.item_id, actor=person
        )


def ready_to_start(day: InfusionDay, time_machine: Any, start: dt.datetime) -> None:
    """Every step before a start at `start`: the premedication given 45 min before, the first bag
    thawed 30 min before, and the identity check of the nurse and the physician; the clock stops
    at `start`."""
    time_machine.move_to(start, tick=False)
    premedicate(day, start - dt.timedelta(minutes=45))
    record_thaw(
        day.infusion,
        item_id=day.bags[0].item_id,
        thawed_at=start - dt.timedelta(minutes=30),
        actor=day.team.nurse,
    )
    check_identity(day, day.team.nurse)
    check_identity(day, day.team.physician)


def infused(
    day: InfusionDay,
    time_machine: Any,
    *,
    start: dt.datetime | None = None,
    minutes: int = 30,
    cells_e9: str = "20",
) -> Infusion:
    """The infusion started (25 h after the last fludarabine dose unless `start` says) and ended
    `minutes` later with both bags and `cells_e9` ×10⁹ viable cells; the clock stops at the end."""
    start = start or day.last_fludarabine + 25 * HOUR
    ready_to_start(day, time_machine, start)
    start_infusion(day.infusion, at=start, actor=day.team.nurse)
    end = start + dt.timedelta(minutes=minutes)
    time_machine.move_to(end, tick=False)
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
