"""Batch steps of the batch record over the API, so that a facility's instruments and LIMS can
feed it: the same selectors, policies and services as the batch page.

    GET  /manufacturing/batches?status=&coi=                 the batches the caller may see
    GET  /manufacturing/batches/{id}                         one batch (the record: facility)
    POST /manufacturing/batches/{id}/tissue-receipt          weight and fragments (201)
    POST /manufacturing/batches/{id}/cultures                one culture or a list (201)
    POST /manufacturing/batches/{id}/cultures/{culture}/count
    POST /manufacturing/batches/{id}/reactivity.csv?file_name=   the plate-reader CSV (201)
    GET  /manufacturing/batches/{id}/ranking?min_…=          the ranking (stored thresholds default)
    POST /manufacturing/batches/{id}/selection               cultures, reason, thresholds (201)
    POST /manufacturing/batches/{id}/rep-counts              one count or a list (201)
    POST /manufacturing/batches/{id}/harvest-plan            the planned harvest date
    GET  /manufacturing/batches/{id}/forecast?warn_below_probability=   (default: stored)
    POST /manufacturing/batches/{id}/advance                 to_status, reason (409 if blocked)

The facility sees and writes the whole record; the treating center sees each batch's status
only (`record` is null) and may write nothing (403); anyone else gets 404. Nothing in an answer
or an error identifies the patient.

The CSV (`text/csv` body, or a multipart field `file`; format in
`tilcare.manufacturing.reactivity_csv`) is imported whole or refused whole: 422 with
`errors.file` naming the line (and column) of each problem, and nothing saved.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from django.http import HttpRequest
from ninja import Body, Router, Status
from ninja.pagination import paginate
from ninja.params.functions import Query
from pydantic import WithJsonSchema

from tilcare.core.api_support import (
    ApiPagination,
    MappedQuerySet,
    caller,
    checked_range,
    one_or_many,
)
from tilcare.core.errors import InvalidInput
from tilcare.core.http import CSV_UPLOAD_BODY, accepts_upload, csv_sent, get_visible_or_404
from tilcare.core.policy import require
from tilcare.journey.services.release import reject_batch
from tilcare.manufacturing import policies
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import (
    CD137_DIFFERENCE_MAX,
    FOLD_MAX,
    IFN_GAMMA_DIFFERENCE_MAX,
    PROBABILITY_MAX,
    Batch,
)
from tilcare.manufacturing.reactivity_csv import MAX_BYTES
from tilcare.manufacturing.schemas.batches import (
    THRESHOLD_DEFAULT,
    AdvanceIn,
    BatchOut,
    CultureCountIn,
    CultureIn,
    ForecastOut,
    HarvestPlanIn,
    RepCountIn,
    SelectionIn,
    TissueReceiptIn,
    batch_out,
    forecast_out,
)
from tilcare.manufacturing.selectors import batches as batch_selectors
from tilcare.manufacturing.selectors.forecast import (
    batch_forecast,
    parse_probability,
    parse_thresholds,
    ranking_document,
    screen_ranking,
    screened_readings,
    stored_thresholds,
    with_stored_thresholds,
)
from tilcare.manufacturing.services import batches as batch_services
from tilcare.manufacturing.services import screen as screen_services

# One culture or count, or a list of them as an instrument sends them.
if TYPE_CHECKING:
    CulturesIn = list[CultureIn] | CultureIn
    RepCountsIn = list[RepCountIn] | RepCountIn
else:
    CulturesIn = one_or_many(CultureIn, "cultures")
    RepCountsIn = one_or_many(RepCountIn, "counts")

router = Router(tags=["manufacturing: batch record"])

NOT_A_VIEWER = "The batch record is the manufacturing facility's."
BILLION = Decimal(10) ** 9
FILE_NAME_MAX = 200  # ReactivitySource.file_name

# The query parameters, typed and bounded so the document gives their ranges; the checks with
# their own wording stay the facility threshold checks' (`parse_thresholds`, `parse_probability`).
FILE_NAME = Query(
    "",
    max_length=FILE_NAME_MAX,
    description="The file's name, kept with the import (a text/csv body; default upload.csv). "
    "A multipart upload keeps its own.",
)


def _number(minimum: int, maximum: Decimal, *, above_minimum: bool = False) -> WithJsonSchema:
    """A decimal query parameter as the document shows it: a number in its range."""
    range_ = checked_range(minimum, maximum, above_minimum=above_minimum)
    return WithJsonSchema({"type": "number", **range_})


IfnGammaDifference = Annotated[Decimal | None, _number(0, IFN_GAMMA_DIFFERENCE_MAX)]
IfnGammaFold = Annotated[Decimal | None, _number(0, FOLD_MAX)]
Cd137Difference = Annotated[Decimal | None, _number(0, CD137_DIFFERENCE_MAX)]
Probability = Annotated[Decimal | None, _number(0, PROBABILITY_MAX, above_minimum=True)]
STORED = Query(None, description=THRESHOLD_DEFAULT)
WARN_BELOW_PROBABILITY = Query(
    None,
    description="The early warning is raised when the probability of reaching the dose range "
    "is below it, e.g. 0.80. Default: the facility's stored threshold.",
)


def _batch(request: HttpRequest, public_id: str) -> Batch:
    """A batch the caller may see at least the status of (404 otherwise)."""
    batch: Batch = get_visible_or_404(
        batch_selectors.batches_visible_to(caller(request)), public_id
    )
    return batch


def _record_batch(request: HttpRequest, public_id: str) -> Batch:
    batch = _batch(request, public_id)
    require(policies.can_view_batch(caller(request), batch), NOT_A_VIEWER)
    return batch


def _answer(request: HttpRequest, batch: Batch) -> BatchOut:
    user = caller(request)
    fresh = batch_selectors.batches_visible_to(user).get(pk=batch.pk)
    return batch_out(fresh, with_record=policies.can_view_batch(user, fresh))


@router.get("/manufacturing/batches", response=list[BatchOut], summary="List batches")
@paginate(ApiPagination)
def list_batches(
    request: HttpRequest, status: str = "", coi: str = ""
) -> MappedQuerySet[Batch, BatchOut]:
    """The facility's batches, or the caller center's (status only), most recently moved
    first; `status` narrows to one status, `coi` to one COI identifier (spaces ignored)."""
    batches = batch_selectors.batches_visible_to(caller(request))
    if status:
        batches = batches.filter(status=status)
    if coi:
        batches = batches.filter(coi_din=coi.replace(" ", "").upper()[:13])
    return MappedQuerySet(
        batches.order_by("-status_changed_at", "-id"),
        lambda batch: batch_out(batch, with_record=False),
    )


@router.get("/manufacturing/batches/{public_id}", response=BatchOut, summary="One batch")
def get_batch(request: HttpRequest, public_id: str) -> BatchOut:
    return _answer(request, _batch(request, public_id))


@router.post(
    "/manufacturing/batches/{public_id}/tissue-receipt",
    response={201: BatchOut},
    summary="Record the tissue receipt (weight, fragments)",
)
def post_tissue_receipt(
    request: HttpRequest, public_id: str, payload: TissueReceiptIn
) -> Status[BatchOut]:
    batch = _batch(request, public_id)
    batch_services.record_tissue_receipt(batch, actor=caller(request), **payload.dict())
    return Status(201, _answer(request, batch))


@router.post(
    "/manufacturing/batches/{public_id}/cultures",
    response={201: BatchOut},
    summary="Record pre-REP cultures (one or a list; all or none)",
)
def post_cultures(
    request: HttpRequest, public_id: str, payload: Body[CulturesIn]
) -> Status[BatchOut]:
    batch = _batch(request, public_id)
    items = payload if isinstance(payload, list) else [payload]
    screen_services.record_cultures(
        batch, cultures=[item.dict() for item in items], actor=caller(request)
    )
    return Status(201, _answer(request, batch))


@router.post(
    "/manufacturing/batches/{public_id}/cultures/{culture_id}/count",
    response=BatchOut,
    summary="Record or correct a culture's count",
)
def post_culture_count(
    request: HttpRequest, public_id: str, culture_id: str, payload: CultureCountIn
) -> BatchOut:
    batch = _batch(request, public_id)
    screen_services.record_culture_count(
        batch, culture_id=culture_id, actor=caller(request), **payload.dict()
    )
    return _answer(request, batch)


@router.post(
    "/manufacturing/batches/{public_id}/reactivity.csv",
    response={201: BatchOut},
    summary="Import the reactivity screen CSV (text/csv or multipart `file`), all or none",
    openapi_extra=CSV_UPLOAD_BODY,
)
@accepts_upload(MAX_BYTES)
def post_reactivity_csv(
    request: HttpRequest,
    public_id: str,
    file_name: str = FILE_NAME,
) -> Status[BatchOut]:
    user = caller(request)
    batch = _batch(request, public_id)
    # The policy first: a caller who may not import learns nothing about the file.
    require(policies.can_record_batch_step(user, batch), batch_services.NOT_RECORDER)
    content, uploaded_name = csv_sent(request, MAX_BYTES)
    name = uploaded_name or file_name or "upload.csv"
    screen_services.import_reactivity_csv(batch, file_name=name, content=content, actor=user)
    return Status(201, _answer(request, batch))


@router.get(
    "/manufacturing/batches/{public_id}/ranking",
    response=dict[str, Any],
    summary="The screened cultures ranked at the given thresholds, or the facility's stored ones",
)
def get_ranking(
    request: HttpRequest,
    public_id: str,
    min_ifn_gamma_difference_pg_per_ml: IfnGammaDifference = STORED,
    min_ifn_gamma_fold: IfnGammaFold = STORED,
    min_cd137_difference_points: Cd137Difference = STORED,
) -> dict[str, Any]:
    batch = _record_batch(request, public_id)
    typed = {
        "min_ifn_gamma_difference_pg_per_ml": min_ifn_gamma_difference_pg_per_ml,
        "min_ifn_gamma_fold": min_ifn_gamma_fold,
        "min_cd137_difference_points": min_cd137_difference_points,
    }
    limits = parse_thresholds(with_stored_thresholds(typed, batch.facility_id))
    readings = screened_readings(batch)
    if not readings:
        raise InvalidInput({"__all__": ["No culture of this batch has been screened yet."]})
    return ranking_document(screen_ranking(readings, limits), selected=[])


@router.post(
    "/manufacturing/batches/{public_id}/selection",
    response={201: BatchOut},
    summary="Record the cultures selected for the REP, why, and the thresholds",
)
def post_selection(request: HttpRequest, public_id: str, payload: SelectionIn) -> Status[BatchOut]:
    batch = _batch(request, public_id)
    data = with_stored_thresholds(payload.dict(), batch.facility_id)
    screen_services.select_cultures(
        batch,
        culture_ids=data.pop("culture_ids"),
        reason=data.pop("reason"),
        thresholds=data,
        actor=caller(request),
    )
    return Status(201, _answer(request, batch))


def _count(item: RepCountIn, prefix: str) -> dict[str, Any]:
    data = item.dict()
    in_billions = data.pop("viable_cells_1e9")
    if (data["viable_cells"] is None) == (in_billions is None):
        raise InvalidInput(
            {f"{prefix}viable_cells": ["Give viable_cells (cells) or viable_cells_1e9, not both."]}
        )
    if in_billions is not None:
        data["viable_cells"] = in_billions * BILLION
    return data


@router.post(
    "/manufacturing/batches/{public_id}/rep-counts",
    response={201: BatchOut},
    summary="Record REP counts (one or a list, as an instrument sends them; all or none)",
)
def post_rep_counts(
    request: HttpRequest, public_id: str, payload: Body[RepCountsIn]
) -> Status[BatchOut]:
    batch = _batch(request, public_id)
    items = payload if isinstance(payload, list) else [payload]
    single = len(items) == 1
    counts = [_count(item, "" if single else f"counts.{i}.") for i, item in enumerate(items)]
    batch_services.record_rep_counts(batch, counts=counts, actor=caller(request))
    return Status(201, _answer(request, batch))


@router.post(
    "/manufacturing/batches/{public_id}/harvest-plan",
    response=BatchOut,
    summary="Set the planned harvest date",
)
def post_harvest_plan(request: HttpRequest, public_id: str, payload: HarvestPlanIn) -> BatchOut:
    batch = _batch(request, public_id)
    batch_services.plan_harvest(
        batch, planned_harvest_on=payload.planned_harvest_on, actor=caller(request)
    )
    return _answer(request, batch)


@router.get(
    "/manufacturing/batches/{public_id}/forecast",
    response=ForecastOut,
    summary="The harvest forecast; the early warning needs the facility's threshold",
)
def get_forecast(
    request: HttpRequest,
    public_id: str,
    warn_below_probability: Probability = WARN_BELOW_PROBABILITY,
) -> ForecastOut:
    """Without `warn_below_probability`, the early warning uses the facility's stored threshold;
    with neither, the answer says it is not set and who sets it."""
    batch = _record_batch(request, public_id)
    if warn_below_probability is not None:
        threshold, problem = parse_probability(warn_below_probability)
        if problem:
            raise InvalidInput({"warn_below_probability": [problem]})
    else:
        threshold = stored_thresholds(batch.facility_id).warn
    return forecast_out(batch_forecast(batch, warn_below_probability=threshold))


@router.post(
    "/manufacturing/batches/{public_id}/advance",
    response=BatchOut,
    summary="Move the batch along its workflow (409 with the reasons when blocked)",
)
def post_advance(request: HttpRequest, public_id: str, payload: AdvanceIn) -> BatchOut:
    batch = _batch(request, public_id)
    if payload.to_status == BatchStatus.REJECTED:
        # A rejection changes the patient's journey: its door rejects and tells the journey.
        reject_batch(batch, reason=payload.reason, actor=caller(request))
    else:
        batch_services.advance_batch(
            batch,
            payload.to_status,
            actor=caller(request),
            reason=payload.reason,
            rep_started_on=payload.rep_started_on,
        )
    return _answer(request, batch)
