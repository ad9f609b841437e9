"""Batch pages of the batch record: the facility's batch board and the batch page.

Both are the manufacturing facility's own: they show the COI identifier and what the process
needs, never patient identity, and answer 403 (board) or 404 (a batch) to anyone else. The
treating center follows the batch's status through the API.

Each POST calls one service; success redirects back to the batch page with a message (a reload
never repeats it, and the thresholds typed in the page's query are kept); a refusal re-renders
the page with the form and its messages where they were typed (status 200).

The ranking, the early warning and the selection use the facility's stored thresholds
(`FacilityThresholds`, set by its QA reviewer); thresholds typed in the page's query override
them for that view only, and the page says which values it used.
"""

from __future__ import annotations

import json
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tilcare.accounts.models import User
from tilcare.core.errors import InvalidInput, TransitionBlocked
from tilcare.core.forms import apply_service_errors
from tilcare.core.http import accepts_upload, get_visible_or_404
from tilcare.core.policy import require
from tilcare.core.timeutil import local_minute, local_today
from tilcare.journey.services.release import reject_batch
from tilcare.manufacturing import policies
from tilcare.manufacturing.choices import BATCH_WORKFLOW, BatchStatus
from tilcare.manufacturing.forms import (
    AdvanceForm,
    CultureCountForm,
    CultureForm,
    HarvestPlanForm,
    RejectForm,
    RepCountForm,
    ScreenUploadForm,
    SelectionForm,
    StopForm,
    ThresholdsForm,
    TissueReceiptForm,
    WarningThresholdForm,
)
from tilcare.manufacturing.models import Batch
from tilcare.manufacturing.reactivity_csv import HEADER_TEXT, MAX_BYTES
from tilcare.manufacturing.selectors import batches as batch_selectors
from tilcare.manufacturing.selectors.forecast import (
    THRESHOLD_FIELDS,
    THRESHOLD_NOT_SET,
    WARN_FIELD,
    StoredThresholds,
    batch_forecast,
    dose_range,
    parse_probability,
    ranking_document,
    screen_ranking,
    stored_thresholds,
)
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.services import screen as screen_services
from tilcare.manufacturing.views import release as release_views

NOT_A_VIEWER = "The batch board is for a manufacturing facility's staff."
_KEPT = ("min_ifn_gamma_difference_pg_per_ml", "min_ifn_gamma_fold",
         "min_cd137_difference_points", "warn_below_probability")  # fmt: skip


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _zone(user: User) -> zoneinfo.ZoneInfo:
    org = user.organization
    return zoneinfo.ZoneInfo(org.time_zone if org else "UTC")


def _batch(request: HttpRequest, public_id: Any) -> Batch:
    visible = batch_selectors.batch_records_visible_to(_user(request))
    return get_visible_or_404(visible, public_id)


def _kept(data: Any) -> list[tuple[str, str]]:
    return [(key, str(data.get(key))) for key in _KEPT if data.get(key)]


def _kept_query(data: Any) -> str:
    return urlencode(_kept(data))


def _typed(data: Any, field: str) -> bool:
    return bool(str(data.get(field) or "").strip())


def _overrides(data: Any, field: str, stored: StoredThresholds) -> bool:
    """Whether a value other than the facility's stored one is typed for `field` (the stored
    value sent back unchanged, as the pre-filled forms do, is still the stored one)."""
    if not _typed(data, field):
        return False
    try:
        return Decimal(str(data.get(field)).strip()) != stored.values.get(field)
    except (InvalidOperation, ValueError, TypeError):
        return True


def _warning_threshold(data: Any, stored: StoredThresholds) -> tuple[Decimal | None, str, str]:
    """(threshold, problem, source): typed in the query for this view, else the facility's
    stored one; source "typed", "stored" or "" (not set)."""
    if _overrides(data, WARN_FIELD, stored):
        warn, problem = parse_probability(data.get(WARN_FIELD))
        return warn, problem, "typed"
    return stored.warn, "", "stored" if stored.warn is not None else ""


def _thresholds_url(user: User) -> str | None:
    facility = user.organization
    if facility is None or not policies.can_view_facility_thresholds(user, facility):
        return None
    return reverse("manufacturing:facility-thresholds")


def _back(batch: Batch, data: Any, anchor: str = "") -> HttpResponse:
    query = _kept_query(data)
    url = reverse("manufacturing:batch-detail", args=[batch.public_id])
    return redirect(f"{url}{'?' + query if query else ''}{'#' + anchor if anchor else ''}")


# --- the board ----------------------------------------------------------------------------------


@require_GET
def batch_board(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require(policies.can_view_batch_board(user), NOT_A_VIEWER)
    stored = stored_thresholds(user.organization_id)
    warn, problem, warn_source = _warning_threshold(request.GET, stored)
    include_closed = request.GET.get("closed") == "1"
    columns = batch_selectors.batch_board(
        user, include_closed=include_closed, warn_below_probability=warn
    )
    warnings = sum(
        1 for c in columns for card in c.cards if card.forecast and card.forecast.warning
    )
    with timezone.override(_zone(user)):
        return render(
            request,
            "manufacturing/batch_board.html",
            {
                "page_title": "Batches",
                "columns": columns,
                "total": sum(len(c.cards) for c in columns),
                "warnings": warnings,
                "include_closed": include_closed,
                "recent_release_days": batch_selectors.RECENT_RELEASE_DAYS,
                "closed_statuses": [str(s) for s in batch_selectors.CLOSED_STATUSES],
                "warn_form": WarningThresholdForm(initial={"warn_below_probability": warn}),
                "warn_set": warn is not None,
                "warn_problem": problem,
                "warn_source": warn_source,
                "stored": stored,
                "thresholds_url": _thresholds_url(user),
                "threshold_not_set": THRESHOLD_NOT_SET,
                "kept_query": _kept_query(request.GET),
                "time_zone": _zone(user).key,
            },
        )


# --- the batch page -----------------------------------------------------------------------------


def _stored_initial(stored: StoredThresholds) -> dict[str, Decimal]:
    """The facility's stored reactivity thresholds that are set, as a form's initial values."""
    return {
        field: value
        for field, _ in THRESHOLD_FIELDS
        if (value := stored.values.get(field)) is not None
    }


def _ranking(
    record: Any, query: Any, stored: StoredThresholds
) -> tuple[ThresholdsForm, dict[str, Any] | None, list[str]]:
    """The ranking to show: the stored one once selected, else a preview with the thresholds
    typed in the query or, with none typed, the facility's stored ones (none until all three
    are set)."""
    typed = any(_overrides(query, f, stored) for f in ThresholdsForm.base_fields)
    form = ThresholdsForm(query) if typed else ThresholdsForm(initial=_stored_initial(stored))
    if record.stored_ranking is not None or not record.readings:
        return form, record.stored_ranking, []
    if typed and not form.is_valid():
        return form, None, []
    limits = form.cleaned_data if typed else stored.screen
    if limits is None:
        return form, None, []
    try:
        ranking = screen_ranking(record.readings, limits)
    except InvalidInput as refused:
        return form, None, [m for ms in refused.errors.values() for m in ms]
    return form, ranking_document(ranking, selected=[]), []


def _render(request: HttpRequest, batch: Batch, **bound: forms.Form) -> HttpResponse:
    user = _user(request)
    zone = _zone(user)
    # The page's settings ride in the query; after a refused POST, in the form that was sent.
    query = request.POST if request.method == "POST" else request.GET
    batch = Batch.objects.select_related("center", "facility").get(pk=batch.pk)
    record = batch_selectors.batch_record(batch)
    status = batch.status
    may_record = policies.can_record_batch_step(user, batch)
    screened = sorted(row.culture.culture_id for row in record.cultures if row.reading)
    culture_ids = [row.culture.culture_id for row in record.cultures]
    stored = stored_thresholds(batch.facility_id)
    warn, warn_problem, warn_source = _warning_threshold(query, stored)
    forecast = batch_forecast(batch, warn_below_probability=warn, with_chart=True)
    thresholds_form, ranking, ranking_problems = _ranking(record, query, stored)
    may_reject = policies.can_advance_batch(user, batch, BatchStatus.REJECTED)
    with timezone.override(zone):
        now_local = local_minute(zone)
        pre_rep = status == BatchStatus.PRE_REP
        counting = status in (BatchStatus.PRE_REP, BatchStatus.SCREENING) and bool(culture_ids)
        screening = status == BatchStatus.SCREENING
        selecting = screening and record.selection is None and bool(screened)
        before_harvest = status in (
            BatchStatus.TISSUE_RECEIVED, BatchStatus.PRE_REP, BatchStatus.SCREENING, BatchStatus.REP
        )  # fmt: skip
        receipt_open = status == BatchStatus.TISSUE_RECEIVED and record.receipt is None
        today = local_today(zone.key)
        step_forms: dict[str, forms.Form | None] = {
            "tissue_form": TissueReceiptForm(initial={"received_at": now_local})
            if may_record and receipt_open
            else None,
            "culture_form": CultureForm(initial={"counted_at": now_local})
            if may_record and pre_rep
            else None,
            "count_form": CultureCountForm(
                culture_ids=culture_ids, initial={"counted_at": now_local}
            )
            if may_record and counting
            else None,
            "screen_form": ScreenUploadForm() if may_record and screening else None,
            "selection_form": SelectionForm(
                culture_ids=screened,
                initial=thresholds_form.data
                if thresholds_form.is_bound
                else _stored_initial(stored),
            )
            if policies.can_select_cultures(user, batch) and selecting
            else None,
            "rep_count_form": RepCountForm(
                initial={
                    "counted_at": now_local,
                    "day": (today - batch.rep_started_on).days if batch.rep_started_on else None,
                }
            )
            if may_record and status == BatchStatus.REP
            else None,
            "harvest_form": HarvestPlanForm(
                initial={"planned_harvest_on": batch.planned_harvest_on}
            )
            if may_record and before_harvest
            else None,
            "reject_form": RejectForm(initial={"to_status": BatchStatus.REJECTED})
            if may_reject and BatchStatus.REJECTED in BATCH_WORKFLOW.targets(status)
            else None,
            "stop_form": StopForm(initial={"to_status": BatchStatus.STOPPED})
            if may_reject and BatchStatus.STOPPED in BATCH_WORKFLOW.targets(status)
            else None,
        }
        step_forms.update(bound)
        context = {
            **release_views.release_context(request, batch),
            "page_title": f"Batch {batch.coi_display}",
            "batch": batch,
            "record": record,
            "status_label": batch_selectors.status_label(status),
            "closed_statuses": [str(s) for s in batch_selectors.CLOSED_STATUSES],
            "days_in_status": batch_selectors.days_in_status(batch, today),
            "dose": dose_range(batch),
            "next_steps": batch_selectors.next_steps(batch, user),
            "advance_form": bound.get("advance_form"),
            "may_record": may_record,
            "thresholds_form": thresholds_form,
            "ranking": ranking,
            "ranking_problems": ranking_problems,
            "forecast": forecast,
            "chart_json": json.dumps(forecast.chart) if forecast.chart else "",
            "warn_form": WarningThresholdForm(initial={"warn_below_probability": warn}),
            "warn_problem": warn_problem,
            "warn_source": warn_source,
            "stored": stored,
            "ranking_source": "typed" if thresholds_form.is_bound else "stored",
            "thresholds_url": _thresholds_url(user),
            "kept": _kept(query),
            "kept_thresholds": [(k, v) for k, v in _kept(query) if k != "warn_below_probability"],
            "kept_warn": query.get("warn_below_probability", ""),
            "kept_query": _kept_query(query),
            "csv_header": HEADER_TEXT,
            "time_zone": zone.key,
            **step_forms,
        }
        return render(request, "manufacturing/batch_detail.html", context)


@require_GET
def batch_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _render(request, _batch(request, public_id))


def _step(
    request: HttpRequest,
    public_id: Any,
    name: str,
    build: Any,
    act: Any,
    done: str,
    anchor: str,
) -> HttpResponse:
    """One POSTed step: bind the form, call the service, redirect or show the refusal."""
    user = _user(request)
    batch = _batch(request, public_id)
    with timezone.override(_zone(user)):
        form = build(batch)
        valid = form.is_valid()
    if valid:
        try:
            act(batch, form.cleaned_data, user)
        except InvalidInput as refused:
            apply_service_errors(form, refused)
        except TransitionBlocked as blocked:
            for reason in blocked.reasons:
                form.add_error(None, reason)
        else:
            messages.success(request, done)
            return _back(batch, request.POST, anchor)
    return _render(request, batch, **{name: form})


def _count_of(data: dict[str, Any]) -> dict[str, Any]:
    """What a culture or REP count form read as the count: cells (in cells), viability, when."""
    return {field: data[field] for field in ("viable_cells", "viability_percent", "counted_at")}


@require_POST
def tissue_receipt(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _step(
        request, public_id, "tissue_form", lambda b: TissueReceiptForm(request.POST),
        lambda b, d, u: batch_services.record_tissue_receipt(
            b, received_at=d["received_at"], weight_g=d["weight_g"], fragments=d["fragments"],
            note=d["note"], actor=u,
        ),
        "Tissue receipt recorded.", "tissue",
    )  # fmt: skip


@require_POST
def culture_create(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _step(
        request, public_id, "culture_form", lambda b: CultureForm(request.POST),
        lambda b, d, u: screen_services.record_culture(
            b, culture_id=d["culture_id"], actor=u, **_count_of(d)
        ),
        "Culture recorded.", "cultures",
    )  # fmt: skip


@require_POST
def culture_count(request: HttpRequest, public_id: Any) -> HttpResponse:
    def build(batch: Batch) -> CultureCountForm:
        ids = list(batch.cultures.values_list("culture_id", flat=True))
        return CultureCountForm(request.POST, culture_ids=ids)

    return _step(
        request, public_id, "count_form", build,
        lambda b, d, u: screen_services.record_culture_count(
            b, culture_id=d["culture_id"], actor=u, **_count_of(d)
        ),
        "Culture count recorded.", "cultures",
    )  # fmt: skip


@require_POST
@accepts_upload(MAX_BYTES)
def screen_import(request: HttpRequest, public_id: Any) -> HttpResponse:
    def act(batch: Batch, data: dict[str, Any], user: User) -> None:
        upload = data["file"]  # its size is checked by the form before it is read
        content = upload.read()
        screen_services.import_reactivity_csv(
            batch, file_name=upload.name or "upload.csv", content=content, actor=user
        )

    return _step(
        request, public_id, "screen_form", lambda b: ScreenUploadForm(request.POST, request.FILES),
        act, "Reactivity screen imported.", "screen",
    )  # fmt: skip


@require_POST
def selection_create(request: HttpRequest, public_id: Any) -> HttpResponse:
    def build(batch: Batch) -> SelectionForm:
        # A threshold left empty is the facility's stored one (the form shows it pre-filled).
        data = request.POST.copy()
        for field, value in _stored_initial(stored_thresholds(batch.facility_id)).items():
            if not _typed(data, field):
                data[field] = str(value)
        screened = batch_selectors.screened_culture_ids(batch)
        return SelectionForm(data, culture_ids=screened)

    return _step(
        request, public_id, "selection_form", build,
        lambda b, d, u: screen_services.select_cultures(
            b, culture_ids=d["culture_ids"], reason=d["reason"], thresholds=d, actor=u
        ),
        "Selection recorded.", "screen",
    )  # fmt: skip


@require_POST
def rep_count_create(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _step(
        request, public_id, "rep_count_form", lambda b: RepCountForm(request.POST),
        lambda b, d, u: batch_services.record_rep_count(b, day=d["day"], actor=u, **_count_of(d)),
        "REP count recorded.", "rep",
    )  # fmt: skip


@require_POST
def harvest_plan(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _step(
        request, public_id, "harvest_form", lambda b: HarvestPlanForm(request.POST),
        lambda b, d, u: batch_services.plan_harvest(
            b, planned_harvest_on=d["planned_harvest_on"], actor=u
        ),
        "Planned harvest date recorded.", "rep",
    )  # fmt: skip


@require_POST
def batch_advance(request: HttpRequest, public_id: Any) -> HttpResponse:
    target = request.POST.get("to_status", "")
    label = dict(BatchStatus.choices).get(target, target)
    forms_by_target: dict[str, tuple[str, type[forms.Form]]] = {
        BatchStatus.REJECTED: ("reject_form", RejectForm),
        BatchStatus.STOPPED: ("stop_form", StopForm),
    }
    name, form_class = forms_by_target.get(target, ("advance_form", AdvanceForm))

    def move(batch: Batch, data: dict[str, Any], user: User) -> object:
        if data["to_status"] == BatchStatus.REJECTED:
            # A rejection changes the patient's journey: its door rejects and tells the journey.
            return reject_batch(batch, reason=data["reason"], actor=user)
        return batch_services.advance_batch(
            batch, data["to_status"], actor=user, reason=data["reason"],
            rep_started_on=data.get("rep_started_on"),
        )  # fmt: skip

    return _step(
        request, public_id, name, lambda b: form_class(request.POST), move,
        f"Batch moved to “{label}”.", "workflow",
    )  # fmt: skip


urlpatterns: list[URLPattern] = [
    path("batches/", batch_board, name="batch-list"),
    path("batches/<uuid:public_id>/", batch_detail, name="batch-detail"),
    path("batches/<uuid:public_id>/tissue/", tissue_receipt, name="batch-tissue"),
    path("batches/<uuid:public_id>/cultures/", culture_create, name="batch-culture-create"),
    path("batches/<uuid:public_id>/cultures/count/", culture_count, name="batch-culture-count"),
    path("batches/<uuid:public_id>/screen/", screen_import, name="batch-screen-import"),
    path("batches/<uuid:public_id>/selection/", selection_create, name="batch-selection"),
    path("batches/<uuid:public_id>/rep-counts/", rep_count_create, name="batch-rep-count"),
    path("batches/<uuid:public_id>/harvest-plan/", harvest_plan, name="batch-harvest-plan"),
    path("batches/<uuid:public_id>/advance/", batch_advance, name="batch-advance"),
]
