"""Reads of batch records, always scoped to who is asking, and the workflow's guards.

- `batch_records_visible_to(user)`: the whole record, for the batch's facility only.
- `batches_visible_to(user)`: the status of a batch, for its facility and for its treating
  center's care team (the center sees no more than COI, attempt, status and dates).
- `GUARDS`: what each status needs before a batch may enter it, in words the technologist reads
  on the page (the same list `advance_batch` refuses with).
- `batch_board` and `batch_record`: what the facility's board and batch page show.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.roles import Perm
from tilcare.core.timeutil import local_datetime, local_today
from tilcare.manufacturing import policies
from tilcare.manufacturing.choices import BATCH_WORKFLOW, BatchStatus
from tilcare.manufacturing.guards import unmet_reasons
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
from tilcare.manufacturing.selectors.forecast import ForecastView, batch_forecast

OPEN_STATUSES = (
    BatchStatus.TISSUE_RECEIVED,
    BatchStatus.PRE_REP,
    BatchStatus.SCREENING,
    BatchStatus.REP,
    BatchStatus.HARVESTED,
    BatchStatus.RELEASE_TESTING,
)
RELEASED_STATUSES = (BatchStatus.RELEASED, BatchStatus.RELEASED_EXCEPTION)
# Batches that ended without a product for the patient.
ENDED_STATUSES = (BatchStatus.REJECTED, BatchStatus.STOPPED)
CLOSED_STATUSES = RELEASED_STATUSES + ENDED_STATUSES
# How long a released product stays on the board without asking for closed batches.
RECENT_RELEASE_DAYS = 30


def status_label(status: str) -> str:
    return str(BatchStatus(status).label)


# --- scope -------------------------------------------------------------------------------------


def batch_records_visible_to(user: Any) -> QuerySet[Batch]:
    if not policies.can_view_batch_board(user):
        return Batch.objects.none()
    return Batch.objects.filter(facility_id=user.organization_id).select_related(
        "center", "facility"
    )


def batches_visible_to(user: Any) -> QuerySet[Batch]:
    """Batches whose status the user may see (the facility's own; the center's own)."""
    if policies.can_view_batch_board(user):
        return batch_records_visible_to(user)
    org = getattr(user, "organization", None)
    if (
        org is not None
        and org.kind == OrganizationKind.CENTER
        and user.is_active
        and user.has_perm_code(Perm.VIEW_JOURNEY)
    ):
        return Batch.objects.filter(center_id=org.pk).select_related("center", "facility")
    return Batch.objects.none()


# --- next steps --------------------------------------------------------------------------------

_NOT_A_STEP = frozenset(
    {
        BatchStatus.REJECTED,
        BatchStatus.STOPPED,
        BatchStatus.RELEASED,
        BatchStatus.RELEASED_EXCEPTION,
    }
)


@dataclass(frozen=True)
class NextStep:
    status: str
    label: str
    reasons: list[str]
    allowed: bool


def next_steps(batch: Batch, user: Any) -> list[NextStep]:
    """The moves the table allows from here, each with what still blocks it and whether this
    user may make it. Rejection has its own form; release (with or without exception) is QA's
    signed disposition in the release checklist."""
    steps = []
    for status in BatchStatus:
        if status not in BATCH_WORKFLOW.targets(batch.status) or status in _NOT_A_STEP:
            continue
        steps.append(
            NextStep(
                status.value,
                str(status.label),
                unmet_reasons(batch, status),
                policies.can_advance_batch(user, batch, status),
            )
        )
    return steps


# --- the board ---------------------------------------------------------------------------------


def days_in_status(batch: Batch, today: dt.date) -> int:
    changed = local_datetime(batch.status_changed_at, batch.facility.time_zone).date()
    return max(0, (today - changed).days)


@dataclass(frozen=True)
class BoardCard:
    batch: Batch
    days_in_status: int
    forecast: ForecastView | None


@dataclass(frozen=True)
class BoardColumn:
    status: str
    label: str
    cards: list[BoardCard]


def batch_board(
    user: Any,
    *,
    include_closed: bool,
    warn_below_probability: Decimal | None,
    now: dt.datetime | None = None,
) -> list[BoardColumn]:
    """Open batches and the products released in the last `RECENT_RELEASE_DAYS` (a released
    product is on its way to the patient and is looked for by its COI); with `include_closed`,
    every release and every rejected or stopped batch as well."""
    statuses = OPEN_STATUSES + RELEASED_STATUSES + (ENDED_STATUSES if include_closed else ())
    batches = batch_records_visible_to(user).filter(status__in=statuses)
    if not include_closed:
        since = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=RECENT_RELEASE_DAYS)
        batches = batches.exclude(status__in=RELEASED_STATUSES, status_changed_at__lt=since)
    batches = batches.prefetch_related("rep_counts").order_by(
        "status_changed_at", "opened_at", "id"
    )
    today = local_today(user.organization.time_zone)
    by_status: dict[str, list[BoardCard]] = {status: [] for status in statuses}
    for batch in batches:
        forecast = (
            batch_forecast(batch, warn_below_probability=warn_below_probability)
            if batch.status == BatchStatus.REP
            else None
        )
        card = BoardCard(batch, days_in_status(batch, today), forecast)
        by_status[batch.status].append(card)
    return [BoardColumn(s.value, str(s.label), by_status[s]) for s in statuses]


# --- one batch's record ------------------------------------------------------------------------


@dataclass(frozen=True)
class CultureRow:
    culture: Culture
    reading: ReactivityReading | None
    selected: bool


@dataclass
class BatchRecord:
    batch: Batch
    transitions: list[BatchTransition]
    receipt: TissueReceipt | None
    cultures: list[CultureRow]
    imports: list[ReactivityImport]
    selection: CultureSelection | None
    stored_ranking: dict[str, Any] | None
    counts: list[RepCount]
    readings: list[ReactivityReading] = field(default_factory=list)


def batch_record(batch: Batch) -> BatchRecord:
    transitions = list(
        BatchTransition.objects.filter(batch=batch)
        .select_related("actor")
        .order_by("occurred_at", "id")
    )
    receipt = TissueReceipt.objects.filter(batch=batch).select_related("recorded_by").first()
    readings = list(
        ReactivityReading.objects.filter(culture__batch=batch).select_related("culture", "source")
    )
    by_culture = {r.culture_id: r for r in readings}
    selection = (
        CultureSelection.objects.filter(batch=batch)
        .select_related("selected_by")
        .prefetch_related(Prefetch("cultures", queryset=Culture.objects.order_by("culture_id")))
        .first()
    )
    selected = {c.pk for c in selection.cultures.all()} if selection else set()
    cultures = [
        CultureRow(c, by_culture.get(c.pk), c.pk in selected)
        for c in Culture.objects.filter(batch=batch).select_related("recorded_by")
    ]
    imports = list(
        ReactivityImport.objects.filter(batch=batch)
        .select_related("imported_by")
        .order_by("imported_at", "id")
    )
    counts = list(RepCount.objects.filter(batch=batch).select_related("recorded_by"))
    stored = json.loads(selection.ranking_json) if selection else None
    return BatchRecord(
        batch, transitions, receipt, cultures, imports, selection, stored, counts, readings
    )


def screened_culture_ids(batch: Batch) -> list[str]:
    return sorted(
        ReactivityReading.objects.filter(culture__batch=batch).values_list(
            "culture__culture_id", flat=True
        )
    )
