"""API shapes of the batch record.

Nothing here identifies a patient: a batch carries its COI identifier, the center that treats
and the facility that makes the product. `batch_out` builds the answer for the caller: the
facility gets the whole record; the treating center gets the status only (`record` is null).
Numbers are exact decimals written as text; cells are whole cells unless the name says ×10⁹.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from uuid import UUID

from ninja import Field, Schema

from tilcare.core.api_support import (
    AwareDateTime,
    DecimalText,
    InputSchema,
    IsoDate,
    UtcDateTime,
    checked_range,
)
from tilcare.manufacturing.models import (
    CD137_DIFFERENCE_MAX,
    FOLD_MAX,
    IFN_GAMMA_DIFFERENCE_MAX,
    Batch,
)
from tilcare.manufacturing.selectors.batches import batch_record, status_label
from tilcare.manufacturing.selectors.forecast import ForecastView, dose_range
from tilcare.manufacturing.services.batches import (
    FRAGMENTS_MAX,
    FRAGMENTS_MIN,
    REP_CELLS_MAX,
    REP_DAY_MAX,
    WEIGHT_MAX_G,
    WEIGHT_MIN_G,
)
from tilcare.manufacturing.services.screen import CULTURE_CELLS_MAX

# Ranges the services check (with the field's label and the value sent in the message).
CULTURE_CELLS = checked_range(0, CULTURE_CELLS_MAX)
PERCENT = checked_range(0, 100)


# --- inputs -------------------------------------------------------------------------------------


class TissueReceiptIn(InputSchema):
    received_at: AwareDateTime = Field(..., description="When the tissue arrived, with offset")
    weight_g: Decimal = Field(
        ...,
        json_schema_extra=checked_range(WEIGHT_MIN_G, WEIGHT_MAX_G),
        description="Tissue weight in g, 0.001 to 500, 3 decimals",
    )
    fragments: int = Field(
        ...,
        json_schema_extra=checked_range(FRAGMENTS_MIN, FRAGMENTS_MAX),
        description="Number of fragments, 1 to 200",
    )
    note: str = Field("", description="Never a patient's name")


class CultureIn(InputSchema):
    culture_id: str = Field(..., description="The culture (well) id, e.g. F03")
    viable_cells: Decimal | None = Field(
        None, json_schema_extra=CULTURE_CELLS, description="Whole cells (not ×10⁶), at most 10¹¹"
    )
    viability_percent: Decimal | None = Field(
        None, json_schema_extra=PERCENT, description="0 to 100, 1 decimal"
    )
    counted_at: AwareDateTime | None = None


class CultureCountIn(InputSchema):
    viable_cells: Decimal = Field(
        ..., json_schema_extra=CULTURE_CELLS, description="Whole cells (not ×10⁶), at most 10¹¹"
    )
    viability_percent: Decimal = Field(
        ..., json_schema_extra=PERCENT, description="0 to 100, 1 decimal"
    )
    counted_at: AwareDateTime


THRESHOLD_DEFAULT = "Default: the facility's stored threshold (required when none is stored)"


class SelectionIn(InputSchema):
    culture_ids: list[str] = Field(..., description="The screened cultures chosen for the REP")
    reason: str = Field(..., description="Why these cultures")
    min_ifn_gamma_difference_pg_per_ml: Decimal | None = Field(
        None,
        json_schema_extra=checked_range(0, IFN_GAMMA_DIFFERENCE_MAX),
        description=THRESHOLD_DEFAULT,
    )
    min_ifn_gamma_fold: Decimal | None = Field(
        None, json_schema_extra=checked_range(0, FOLD_MAX), description=THRESHOLD_DEFAULT
    )
    min_cd137_difference_points: Decimal | None = Field(
        None,
        json_schema_extra=checked_range(0, CD137_DIFFERENCE_MAX),
        description=THRESHOLD_DEFAULT,
    )


class RepCountIn(InputSchema):
    day: int = Field(
        ...,
        json_schema_extra=checked_range(0, REP_DAY_MAX),
        description="REP day, day 0 the REP start; 0 to 60",
    )
    viable_cells: Decimal | None = Field(
        None,
        json_schema_extra=checked_range(1, REP_CELLS_MAX),
        description="Whole cells; or give viable_cells_1e9",
    )
    viable_cells_1e9: Decimal | None = Field(
        None,
        json_schema_extra=checked_range(0, REP_CELLS_MAX / 10**9, above_minimum=True),
        description="×10⁹ cells; or viable_cells",
    )
    viability_percent: Decimal = Field(
        ..., json_schema_extra=PERCENT, description="0 to 100, 1 decimal"
    )
    counted_at: AwareDateTime


class HarvestPlanIn(InputSchema):
    planned_harvest_on: IsoDate


class AdvanceIn(InputSchema):
    to_status: str = Field(..., description="The status to move to (see the workflow table)")
    reason: str = Field("", description="Required to reject")
    rep_started_on: IsoDate | None = Field(None, description="Entering the REP: day 0")


# --- outputs ------------------------------------------------------------------------------------


class BatchTransitionOut(Schema):
    from_status: str
    to_status: str
    occurred_at: UtcDateTime
    actor: str
    reason: str


class TissueReceiptOut(Schema):
    received_at: UtcDateTime
    weight_g: DecimalText
    fragments: int
    note: str
    recorded_by: str


class CultureOut(Schema):
    culture_id: str
    viable_cells: DecimalText | None
    viability_percent: DecimalText | None
    counted_at: UtcDateTime | None
    screened: bool
    selected: bool


class ImportOut(Schema):
    file_name: str
    sha256: str
    imported_at: UtcDateTime
    imported_by: str
    cultures: list[str]


class SelectionOut(Schema):
    cultures: list[str]
    reason: str
    selected_at: UtcDateTime
    selected_by: str
    ranking: dict[str, Any]


class RepCountOut(Schema):
    day: int
    counted_at: UtcDateTime
    viable_cells: DecimalText
    viability_percent: DecimalText
    recorded_by: str


class BatchRecordOut(Schema):
    dose_min_cells_1e9: DecimalText | None
    dose_max_cells_1e9: DecimalText | None
    transitions: list[BatchTransitionOut]
    tissue_receipt: TissueReceiptOut | None
    cultures: list[CultureOut]
    reactivity_imports: list[ImportOut]
    selection: SelectionOut | None
    rep_counts: list[RepCountOut]


class BatchOut(Schema):
    public_id: UUID
    coi_din: str
    coi_check: str
    coi_display: str
    manufacture_attempt: int
    center: str
    facility: str
    protocol_id: str
    protocol_version: str
    status: str
    status_label: str
    status_changed_at: UtcDateTime
    opened_at: UtcDateTime = Field(
        ..., description="When the tissue was received and the record began (the receiving scan)"
    )
    rep_started_on: IsoDate | None
    planned_harvest_on: IsoDate | None
    record: BatchRecordOut | None = Field(None, description="The facility's only; null else")


class ForecastOut(Schema):
    state: str = Field(..., description="no_counts, not_planned, too_few, forecast, refused")
    message: str
    harvest_day: int | None
    dose_min_cells_1e9: DecimalText | None
    dose_max_cells_1e9: DecimalText | None
    warn_below_probability: DecimalText | None
    threshold_note: str
    early_warning: bool | None = Field(..., description="null when the threshold is not set")
    point_cells_1e9: DecimalText | None = None
    lower_cells_1e9: DecimalText | None = None
    upper_cells_1e9: DecimalText | None = None
    prediction_level: DecimalText | None = None
    probability_in_dose_range: DecimalText | None = None
    probability_at_least_lower: DecimalText | None = None
    growth_rate_per_day: DecimalText | None = None
    doubling_time_days: DecimalText | None = None
    formula: str = ""
    source: str = ""


def _name(user: Any) -> str:
    return str(user.printed_name)


def _record(batch: Batch) -> BatchRecordOut:
    record = batch_record(batch)
    dose = dose_range(batch)
    receipt = record.receipt
    selection = record.selection
    by_import: dict[int, list[str]] = {}
    for reading in record.readings:
        by_import.setdefault(reading.source_id, []).append(reading.culture.culture_id)
    return BatchRecordOut(
        dose_min_cells_1e9=dose.minimum_1e9 if dose else None,
        dose_max_cells_1e9=dose.maximum_1e9 if dose else None,
        transitions=[
            BatchTransitionOut(
                from_status=t.from_status,
                to_status=t.to_status,
                occurred_at=t.occurred_at,
                actor=_name(t.actor),
                reason=t.reason,
            )
            for t in record.transitions
        ],
        tissue_receipt=None
        if receipt is None
        else TissueReceiptOut(
            received_at=receipt.received_at,
            weight_g=receipt.weight_g,
            fragments=receipt.fragments,
            note=receipt.note,
            recorded_by=_name(receipt.recorded_by),
        ),
        cultures=[
            CultureOut(
                culture_id=row.culture.culture_id,
                viable_cells=row.culture.viable_cells,
                viability_percent=row.culture.viability_percent,
                counted_at=row.culture.counted_at,
                screened=row.reading is not None,
                selected=row.selected,
            )
            for row in record.cultures
        ],
        reactivity_imports=[
            ImportOut(
                file_name=i.file_name,
                sha256=i.sha256,
                imported_at=i.imported_at,
                imported_by=_name(i.imported_by),
                cultures=sorted(by_import.get(i.pk, [])),
            )
            for i in record.imports
        ],
        selection=None
        if selection is None
        else SelectionOut(
            cultures=[c.culture_id for c in selection.cultures.all()],
            reason=selection.reason,
            selected_at=selection.selected_at,
            selected_by=_name(selection.selected_by),
            ranking=json.loads(selection.ranking_json),
        ),
        rep_counts=[
            RepCountOut(
                day=c.day,
                counted_at=c.counted_at,
                viable_cells=c.viable_cells,
                viability_percent=c.viability_percent,
                recorded_by=_name(c.recorded_by),
            )
            for c in record.counts
        ],
    )


def batch_out(batch: Batch, *, with_record: bool) -> BatchOut:
    return BatchOut(
        public_id=batch.public_id,
        coi_din=batch.coi_din,
        coi_check=batch.coi_check,
        coi_display=batch.coi_display,
        manufacture_attempt=batch.manufacture_attempt,
        center=batch.center.name,
        facility=batch.facility.name,
        protocol_id=batch.protocol_id,
        protocol_version=batch.protocol_version,
        status=batch.status,
        status_label=status_label(batch.status),
        status_changed_at=batch.status_changed_at,
        opened_at=batch.opened_at,
        rep_started_on=batch.rep_started_on,
        planned_harvest_on=batch.planned_harvest_on,
        record=_record(batch) if with_record else None,
    )


def forecast_out(view: ForecastView) -> ForecastOut:
    result = view.result
    forecast = result.forecast if result else None
    fit = result.fit if result else None
    return ForecastOut(
        state=view.state,
        message=view.message,
        harvest_day=view.harvest_day,
        dose_min_cells_1e9=view.dose.minimum_1e9 if view.dose else None,
        dose_max_cells_1e9=view.dose.maximum_1e9 if view.dose else None,
        warn_below_probability=view.threshold,
        threshold_note=view.threshold_note,
        early_warning=None if view.threshold is None or forecast is None else view.warning,
        point_cells_1e9=forecast.point.magnitude if forecast else None,
        lower_cells_1e9=forecast.lower.magnitude if forecast else None,
        upper_cells_1e9=forecast.upper.magnitude if forecast else None,
        prediction_level=result.prediction_level if result else None,
        probability_in_dose_range=forecast.probability_in_dose_range if forecast else None,
        probability_at_least_lower=forecast.probability_at_least_lower if forecast else None,
        growth_rate_per_day=fit.growth_rate_per_day if fit else None,
        doubling_time_days=fit.doubling_time_days if fit else None,
        formula=result.formula if result else "",
        source=result.source if result else "",
    )
