"""Batch records for tests, made through the services (so every write is audited).

- `batch_team()`: `make_team` with a named center ("Riverside Cancer Center", FIN W1234) and
  facility ("Northgate Cell Therapy").
- `open_test_batch(team, sequence=17)`: the batch of COI W1234 26 <sequence>, attempt 1,
  protocol file lifileucel_us 2024, opened by the facility's technologist; opened 30 days ago
  (its `opened_at` is set back so that a REP may start in the past).
- `open_batch_at(team, sequence, occurred_at=…)`: the same batch opened by a receipt at a given
  time, as it is; `stopped_for_withdrawal(batch, team)`: a batch stopped at the center's request.
- `tissue_on_its_way(team)`, `specimen_of(journey, team)`: a journey whose tumor specimen is on
  its way to the facility, and its specimen container; `batch_of_patient(team, patient)`: the
  batch the facility's receipt scan of that specimen opens (the real way a batch begins).
- `walk_batch(batch, team, status)`: records what each status needs and advances, step by step,
  until the batch is in `status` (up to "Harvested and formulated"): tissue receipt (1.2 g,
  24 fragments), cultures F01–F03 with counts, the screen CSV `SCREEN_CSV` (F01 and F03
  reactive at `THRESHOLDS`), the selection of F01 and F03, the REP started `REP_DAYS_AGO` days
  ago with the counts `REP_COUNTS` (×10⁹ cells), and the harvest planned on day 11.
- `batch_rows()`: the rows of the batch record a refused step must leave as they were.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import row_counts
from tilcare.core.timeutil import local_today
from tilcare.identity.choices import ITEM_CODES, ItemKind
from tilcare.identity.models import Item
from tilcare.journey.choices import Protocol, Stage
from tilcare.journey.models import Journey
from tilcare.journey.services import custody
from tilcare.journey.tests.factories import (
    CareTeam,
    make_team,
    open_journey_for,
    prepare_for,
    walk_to,
)
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import (
    Batch,
    BatchTransition,
    Culture,
    CultureSelection,
    ReactivityImport,
    ReactivityReading,
    RepCount,
    TissueReceipt,
)
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.services import screen as screen_services
from tilcare.manufacturing.tests.factories import coi_number
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, PatientFactory

SCREEN_CSV = (
    b"culture_id,ifn_gamma_tumor_pg_per_ml,ifn_gamma_control_pg_per_ml,cd137_tumor_percent,"
    b"cd137_control_percent\n"
    b"F01,1850.0,120.0,14.20,1.10\n"
    b"F02,240,180,2.0,1.4\n"
    b"F03,960.5,80,6.5,0.9\n"
)
THRESHOLDS = {
    "min_ifn_gamma_difference_pg_per_ml": Decimal(200),
    "min_ifn_gamma_fold": Decimal(2),
    "min_cd137_difference_points": Decimal(2),
}
REP_DAYS_AGO = 7
REP_COUNTS = ((0, "0.05"), (3, "0.3"), (5, "0.9"), (7, "2.8"))  # (day, ×10⁹ cells)
HARVEST_DAY = 11
PATH = (
    BatchStatus.TISSUE_RECEIVED,
    BatchStatus.PRE_REP,
    BatchStatus.SCREENING,
    BatchStatus.REP,
    BatchStatus.HARVESTED,
)


def batch_team() -> CareTeam:
    return make_team(
        CenterFactory(name="Riverside Cancer Center", isbt_fin="W1234"),
        FacilityFactory(name="Northgate Cell Therapy"),
    )


def open_batch_at(
    team: CareTeam,
    sequence: int = 17,
    *,
    attempt: int = 1,
    occurred_at: dt.datetime | None = None,
) -> Batch:
    """A lifileucel batch of COI `sequence` opened by the facility's technologist, its tissue
    received at `occurred_at` (None: now)."""
    din, check = coi_number(sequence)
    return batch_services.open_batch(
        coi_din=din,
        coi_check=check,
        manufacture_attempt=attempt,
        center=team.center,
        facility=team.facility,
        protocol_id="lifileucel_us",
        protocol_version="2024",
        actor=team.manufacturing_tech,
        occurred_at=occurred_at,
    )


def open_test_batch(team: CareTeam, sequence: int = 17, attempt: int = 1) -> Batch:
    batch = open_batch_at(team, sequence, attempt=attempt)
    Batch.objects.filter(pk=batch.pk).update(opened_at=timezone.now() - dt.timedelta(days=30))
    return fresh(batch)


def stopped_for_withdrawal(batch: Batch, team: CareTeam) -> Batch:
    """`batch` stopped by the facility's technologist because the center withdrew the patient."""
    return batch_services.advance_batch(
        batch,
        BatchStatus.STOPPED,
        actor=team.manufacturing_tech,
        reason="The center withdrew the patient.",
    )


def batch_rows() -> tuple[int, ...]:
    return row_counts(
        Batch,
        BatchTransition,
        TissueReceipt,
        Culture,
        ReactivityImport,
        ReactivityReading,
        CultureSelection,
        RepCount,
        AuditEvent,
    )


def fresh(batch: Batch) -> Batch:
    return Batch.objects.select_related("center", "facility").get(pk=batch.pk)


def rep_start(batch: Batch) -> dt.date:
    return local_today(batch.facility.time_zone) - dt.timedelta(days=REP_DAYS_AGO)


def count_time(batch: Batch, day: int) -> dt.datetime:
    """Five past midnight, where the facility is, on REP day `day` (always in the past)."""
    assert batch.rep_started_on is not None
    on = batch.rep_started_on + dt.timedelta(days=day)
    zone = zoneinfo.ZoneInfo(batch.facility.time_zone)
    return dt.datetime.combine(on, dt.time(0, 5), tzinfo=zone)


def minutes_ago(minutes: int = 5) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


def record_counts(batch: Batch, tech: User, counts: tuple[tuple[int, str], ...]) -> None:
    for day, cells_1e9 in counts:
        batch_services.record_rep_count(
            batch,
            day=day,
            viable_cells=Decimal(cells_1e9) * 10**9,
            viability_percent=Decimal("92.5"),
            counted_at=count_time(batch, day),
            actor=tech,
        )


def screen_and_select(batch: Batch, team: CareTeam) -> Batch:
    """Import `SCREEN_CSV` and select F01 and F03 (a batch in "Reactivity screen")."""
    tech = team.manufacturing_tech
    screen_services.import_reactivity_csv(
        batch, file_name="screen-plate-1.csv", content=SCREEN_CSV, actor=tech
    )
    screen_services.select_cultures(
        batch,
        culture_ids=["F01", "F03"],
        reason="F01 and F03 reactive against autologous tumor.",
        thresholds=THRESHOLDS,
        actor=tech,
    )
    return fresh(batch)


def _enter(batch: Batch, team: CareTeam, status: BatchStatus) -> Batch:
    tech = team.manufacturing_tech
    if status == BatchStatus.PRE_REP:
        batch_services.record_tissue_receipt(
            batch, received_at=minutes_ago(), weight_g=Decimal("1.2"), fragments=24, actor=tech
        )
    elif status == BatchStatus.SCREENING:
        for n, cells in ((1, 25_400_000), (2, 8_000_000), (3, 31_000_000)):
            screen_services.record_culture(
                batch,
                culture_id=f"F0{n}",
                viable_cells=Decimal(cells),
                viability_percent=Decimal("88.0"),
                counted_at=minutes_ago(),
                actor=tech,
            )
    elif status == BatchStatus.REP:
        screen_and_select(batch, team)
        return fresh(
            batch_services.advance_batch(
                batch, BatchStatus.REP, actor=tech, rep_started_on=rep_start(batch)
            )
        )
    elif status == BatchStatus.HARVESTED:
        record_counts(batch, tech, REP_COUNTS)
    return fresh(batch_services.advance_batch(batch, status, actor=tech))


def walk_batch(batch: Batch, team: CareTeam, status: BatchStatus) -> Batch:
    """Advance `batch` through the services until it is in `status`."""
    current, goal = PATH.index(BatchStatus(batch.status)), PATH.index(status)
    for target in PATH[current + 1 : goal + 1]:
        batch = _enter(batch, team, target)
        if target == BatchStatus.REP:
            batch = fresh(
                batch_services.plan_harvest(
                    batch,
                    planned_harvest_on=rep_start(batch) + dt.timedelta(days=HARVEST_DAY),
                    actor=team.manufacturing_tech,
                )
            )
    assert batch.status == status
    return batch


def in_rep_with_counts(team: CareTeam, sequence: int = 17) -> Batch:
    """A batch in the REP with the counts `REP_COUNTS` and the harvest planned on day 11."""
    batch = walk_batch(open_test_batch(team, sequence), team, BatchStatus.REP)
    record_counts(batch, team.manufacturing_tech, REP_COUNTS)
    return fresh(batch)


def tissue_on_its_way(
    team: CareTeam, protocol: str = Protocol.LIFILEUCEL_US_2024, patient: Patient | None = None
) -> Journey:
    patient = patient or PatientFactory(center=team.center)
    journey = open_journey_for(patient, team.navigator, protocol=protocol)
    journey = walk_to(journey, Stage.TISSUE_PROCURED, users=team)
    journey = prepare_for(
        journey, Stage.AT_MANUFACTURING, users=team, skip=frozenset({"tissue_received"})
    )
    return Journey.objects.select_related("center", "manufacturing_facility").get(pk=journey.pk)


def specimen_of(journey: Journey, team: CareTeam) -> Item:
    item: Item = Item.objects.create(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        kind=ItemKind.TUMOR_SPECIMEN,
        number=1,
        item_id=f"{journey.coi_din}-{ITEM_CODES[ItemKind.TUMOR_SPECIMEN]}01",
        center=journey.center,
        facility=team.facility,
        description="Tumor specimen 1",
        created_by=team.navigator,
        manufacture_attempt=journey.manufacture_attempt,
    )
    return item


def batch_of_patient(team: CareTeam, patient: Patient) -> Batch:
    """The batch opened by the facility's receipt scan of `patient`'s tumor specimen, set 30
    days back like `open_test_batch`."""
    journey = tissue_on_its_way(team, patient=patient)
    specimen = specimen_of(journey, team)
    result = custody.receive_tissue(
        journey, scanned_text=specimen.item_id, actor=team.manufacturing_tech
    )
    assert result.batch is not None
    Batch.objects.filter(pk=result.batch.pk).update(
        opened_at=timezone.now() - dt.timedelta(days=30)
    )
    return fresh(result.batch)
