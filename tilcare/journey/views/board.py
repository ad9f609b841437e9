"""The coordinator board: every journey the user may see, grouped by stage.

Cards come from `selectors.board`, which leaves the patient's name out for users who may not see
it (a manufacturing facility gets COI-only cards, built without reading the patient row).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tilcare.accounts.models import User
from tilcare.accounts.roles import Perm
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime, local_today
from tilcare.identity.selectors import FLAG_LABELS, late_shipments, shipment_flags_by_coi
from tilcare.journey import selectors
from tilcare.journey.choices import TERMINAL_STAGES, MilestoneKind, Stage, TaskStatus
from tilcare.journey.forms import BoardFilterForm
from tilcare.journey.models import Milestone, Task
from tilcare.journey.views.common import htmx_target, user_of, user_time_zone

# The board's columns fall into four phases; a phase band over its columns lets the eye find
# "who is in treatment" without reading fifteen headers.
PHASES: tuple[tuple[str, str, tuple[Stage, ...]], ...] = (
    (
        "workup",
        "Referral and work-up",
        (Stage.REFERRAL, Stage.SCREENING, Stage.FINANCIAL_CLEARANCE, Stage.RESECTION_SCHEDULED),
    ),
    (
        "manufacturing",
        "Tissue and manufacturing",
        (
            Stage.TISSUE_PROCURED,
            Stage.AT_MANUFACTURING,
            Stage.PRODUCT_RELEASED,
            Stage.PRODUCT_AT_CENTER,
        ),
    ),
    (
        "treatment",
        "Treatment (inpatient)",
        (Stage.LYMPHODEPLETION, Stage.INFUSION, Stage.IL2, Stage.INPATIENT_RECOVERY),
    ),
    ("after", "After discharge", (Stage.FOLLOW_UP, Stage.COMPLETED, Stage.WITHDRAWN)),
)
TREATMENT_STAGES = PHASES[2][2]
MANUFACTURING_STAGES = PHASES[1][2]
# Stages in which an infusion may already be recorded (Day 0 is then the real date, not the plan).
_INFUSED_STAGES = frozenset(
    {
        Stage.INFUSION,
        Stage.IL2,
        Stage.INPATIENT_RECOVERY,
        Stage.FOLLOW_UP,
        Stage.COMPLETED,
        Stage.WITHDRAWN,
    }
)


@dataclass(frozen=True)
class CardView:
    card: selectors.BoardCard
    day0: dt.date | None
    day0_recorded: bool
    study_day: int | None
    # Shipment problems of this COI ("Shipment late", "Temperature excursion", …)
    shipment_flags: tuple[str, ...] = ()

    @property
    def protocol_short(self) -> str:
        """ "Lifileucel (Amtagvi)" for "Lifileucel (Amtagvi), US label 2024": fits on a card."""
        return self.card.protocol_label.split(",")[0]


@dataclass(frozen=True)
class ColumnView:
    stage: str
    label: str
    cards: list[CardView]


@dataclass(frozen=True)
class PhaseView:
    code: str
    label: str
    columns: list[ColumnView]

    @property
    def count(self) -> int:
        return sum(len(c.cards) for c in self.columns)


def _recorded_infusions(
    user: User, cards: list[selectors.BoardCard], tz: str
) -> dict[str, dt.date]:
    """The recorded infusion day of each card that may have one, in one query."""
    ids = [c.public_id for c in cards if c.stage in _INFUSED_STAGES]
    if not ids:
        return {}
    rows = (
        Milestone.objects.filter(
            journey__in=selectors.visible_to(user).filter(public_id__in=ids),
            kind=MilestoneKind.INFUSION_DONE,
            voided_at__isnull=True,
        )
        .order_by("occurred_at", "id")
        .values_list("journey__public_id", "occurred_at")
    )
    # Ordered oldest first, so the latest recorded infusion wins (as in selectors.day_zero).
    return {str(pid): local_datetime(at, tz).date() for pid, at in rows}


def _summary(user: User, today: dt.date, shows_tasks: bool) -> dict[str, Any]:
    """Program totals for the strip at the top (not narrowed by the filters)."""
    active = selectors.visible_to(user).exclude(stage__in=TERMINAL_STAGES)
    counts = active.aggregate(
        active=Count("id"),
        manufacturing=Count("id", filter=Q(stage__in=MANUFACTURING_STAGES)),
        treatment=Count("id", filter=Q(stage__in=TREATMENT_STAGES)),
    )
    if shows_tasks:
        counts["overdue_tasks"] = Task.objects.filter(
            journey__in=active, status=TaskStatus.OPEN, due_on__lt=today
        ).count()
    return counts


@require_GET
def board(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    require(
        user.has_perm_code(Perm.VIEW_JOURNEY) or user.has_perm_code(Perm.VIEW_JOURNEY_COI_ONLY),
        "Only the care team and manufacturing staff can open the board.",
    )
    identity = user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY)
    # Tasks belong to the center's roles; a facility cannot open or complete them.
    shows_tasks = user.has_perm_code(Perm.COMPLETE_TASK)
    tz = user_time_zone(user)
    today = local_today(tz)
    form = BoardFilterForm(request.GET or None, identity=identity)
    filters = form.filters()
    columns = selectors.board(user, **filters)
    all_cards = [card for column in columns for card in column.cards]
    infused = _recorded_infusions(user, all_cards, tz)
    now = timezone.now()
    # One query for every card: late, excursion or missing-log shipments of each COI.
    flags = shipment_flags_by_coi([c.coi_din for c in all_cards], now, user=user)

    def view_of(card: selectors.BoardCard) -> CardView:
        day0 = infused.get(card.public_id) or card.planned_infusion_on
        return CardView(
            card,
            day0,
            card.public_id in infused,
            selectors.study_day(day0, today),
            tuple(FLAG_LABELS[flag] for flag in flags.get(card.coi_din, [])),
        )

    column_views = {
        c.stage: ColumnView(c.stage, c.label, [view_of(card) for card in c.cards]) for c in columns
    }
    phases = [
        PhaseView(code, label, [column_views[s.value] for s in stages if s.value in column_views])
        for code, label, stages in PHASES
    ]
    phases = [p for p in phases if p.columns]
    view_mode = form.view_mode
    filtered = any(filters[k] for k in ("query", "stage", "protocol"))
    context = {
        "page_title": "Coordinator board" if identity else "Product board",
        "form": form,
        "phases": phases,
        "total": len(all_cards),
        "filtered": filtered,
        "include_closed": filters["include_closed"],
        "view_mode": view_mode,
        "identity": identity,
        "shows_tasks": shows_tasks,
        "today": today,
        "summary": {**_summary(user, today, shows_tasks), "late_shipments": late_count(user, now)},
        "query_without_view": _query_without(request, "view"),
    }
    if htmx_target(request) == "board-results":
        return render(request, "journey/partials/_board_results.html", context)
    return render(request, "journey/board.html", context)


def late_count(user: User, now: dt.datetime) -> int:
    return late_shipments(user, now).count()


def _query_without(request: HttpRequest, key: str) -> str:
    """The current filters as a query string, minus `key` (for the view toggle links)."""
    params = request.GET.copy()
    params.pop(key, None)
    encoded = params.urlencode()
    return f"{encoded}&" if encoded else ""
