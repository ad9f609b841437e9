"""Reads that compute on a batch: the REP harvest forecast with its early warning, the growth
chart, and the reactivity ranking of the screened cultures.

The arithmetic is the clinical core's (`clinical.manufacturing.expansion.forecast_harvest`,
`clinical.manufacturing.reactivity.rank_cultures`); this module gathers its inputs from the
batch and the protocol file and says plainly when something it needs is not set:

- the dose range comes from the batch's protocol file (`cell_dose`, ×10⁹ viable cells);
- the harvest day is the planned harvest date counted from the REP start (day 0);
- the early-warning probability threshold is the facility's setting, stored by its QA reviewer
  (`FacilityThresholds`, read with `stored_thresholds`) or given with a view, which overrides
  it for that view; with none, the forecast is shown without the warning and says that the
  threshold is not set and who sets it;
- the reactivity thresholds are the facility's settings too (no defaults), stored the same way
  or given with a ranking, and stored with the selection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tilcare.clinical.manufacturing.expansion import (
    ExpansionForecast,
    ForecastStatus,
    MissingCenterSetting,
    forecast_harvest,
)
from tilcare.clinical.manufacturing.reactivity import (
    CoCultureReadout,
    ReactivityRanking,
    rank_cultures,
)
from tilcare.clinical.units import InvalidQuantity, Quantity, Unit, UnitMismatch
from tilcare.core.errors import InvalidInput
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import (
    FOLD_MAX,
    Batch,
    FacilityThresholds,
    ReactivityReading,
    RepCount,
)
from tilcare.protocols.loader import ProtocolNotFound, load_protocol

THRESHOLD_FIELDS = (
    ("min_ifn_gamma_difference_pg_per_ml", "Minimum IFN-γ difference (pg/mL)"),
    ("min_ifn_gamma_fold", "Minimum IFN-γ fold over control"),
    ("min_cd137_difference_points", "Minimum CD137 difference (percentage points)"),
)
# The clinical core bounds the IFN-γ difference and the CD137 difference; the fold has no upper
# limit there, so a selection's fold is held to the same plausibility limit as the facility's
# stored one (FacilityThresholds).
THRESHOLD_MAX = {"min_ifn_gamma_fold": FOLD_MAX}
WARN_FIELD = "warn_below_probability"
WARN_LABEL = "Early warning below probability"
SETTING_FIELDS = (*THRESHOLD_FIELDS, (WARN_FIELD, WARN_LABEL))
WHO_SETS = "a QA reviewer of the facility sets it on the facility's thresholds page"
THRESHOLD_NOT_SET = (
    f"Early-warning threshold not set: {WHO_SETS} (there is no default). Until then, a "
    "probability threshold given with the view shows whether the dose range is likely to be "
    "reached."
)
_CLINICAL_ERRORS = (ValueError, TypeError, ArithmeticError)
# The clinical core names the thresholds by its arguments; the forms and the API by their units.
_CORE_NAMES = {
    "min_ifn_gamma_difference": "min_ifn_gamma_difference_pg_per_ml",
    "min_ifn_gamma_fold": "min_ifn_gamma_fold",
    "min_cd137_difference": "min_cd137_difference_points",
}


@dataclass(frozen=True)
class StoredThresholds:
    """The facility's stored settings, by field name; None is "not set" (there is no default)."""

    values: Mapping[str, Decimal | None]
    updated_by: str = ""
    updated_at: dt.datetime | None = None

    @property
    def screen(self) -> dict[str, Decimal] | None:
        """The three reactivity thresholds when all are set, else None."""
        limits = {field: self.values.get(field) for field, _ in THRESHOLD_FIELDS}
        if any(value is None for value in limits.values()):
            return None
        return {field: value for field, value in limits.items() if value is not None}

    @property
    def warn(self) -> Decimal | None:
        return self.values.get(WARN_FIELD)

    @property
    def screen_not_set(self) -> list[str]:
        """The labels of the reactivity thresholds that are not set."""
        return [label for field, label in THRESHOLD_FIELDS if self.values.get(field) is None]

    @property
    def screen_note(self) -> str:
        """Which reactivity thresholds are not set and who sets them; "" when all are."""
        missing = self.screen_not_set
        if not missing:
            return ""
        return (
            f"Not set for this facility: {'; '.join(missing)}. A QA reviewer of the facility sets "
            "the reactivity thresholds on the facility's thresholds page (there are no defaults)."
        )


def _as_written(value: Decimal | None) -> Decimal | None:
    """A stored value without the column's padding zeros: 200.0 -> 200, 0.800 -> 0.8."""
    return None if value is None else Decimal(format(value.normalize(), "f"))


def stored_thresholds(facility_id: int) -> StoredThresholds:
    """The facility's stored thresholds (every value None when it has set none)."""
    row = (
        FacilityThresholds.objects.select_related("updated_by")
        .filter(facility_id=facility_id)
        .first()
    )
    if row is None:
        return StoredThresholds(dict.fromkeys((f for f, _ in SETTING_FIELDS), None))
    return StoredThresholds(
        {field: _as_written(getattr(row, field)) for field, _ in SETTING_FIELDS},
        row.updated_by.printed_name,
        row.updated_at,
    )


@dataclass(frozen=True)
class DoseRange:
    minimum_1e9: Decimal
    maximum_1e9: Decimal | None  # None: the protocol's sources set no maximum
    source: str
    protocol_title: str


def dose_range(batch: Batch) -> DoseRange | None:
    """The protocol file's viable-cell dose range, or None when the file cannot be found."""
    try:
        protocol = load_protocol(batch.protocol_id, batch.protocol_version)
    except (ProtocolNotFound, ValueError):
        return None
    dose = protocol.cell_dose
    return DoseRange(
        dose.minimum.require(Unit.cells_1e9, "minimum cell dose"),
        None if dose.maximum is None else dose.maximum.require(Unit.cells_1e9, "maximum cell dose"),
        dose.source,
        protocol.title,
    )


def parse_probability(text: Any) -> tuple[Decimal | None, str]:
    """The early-warning threshold from a form or query: (value, problem)."""
    if text is None or str(text).strip() == "":
        return None, ""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if not value.is_finite() or not Decimal(0) < value <= Decimal(1):
        return None, (
            f"Early-warning threshold “{text}” must be a probability above 0 and at most 1 "
            "(e.g. 0.80)."
        )
    return value, ""


@dataclass(frozen=True)
class ForecastView:
    state: str  # "no_counts" | "not_planned" | "too_few" | "forecast" | "refused"
    message: str
    threshold: Decimal | None
    threshold_note: str
    harvest_day: int | None
    dose: DoseRange | None
    result: ExpansionForecast | None = None
    chart: dict[str, Any] | None = None

    @property
    def warning(self) -> bool:
        """The early warning: only with a threshold set, and only while the REP runs."""
        forecast = self.result.forecast if self.result else None
        return bool(forecast and self.threshold is not None and forecast.early_warning)


def _counts(batch: Batch) -> list[RepCount]:
    cached = getattr(batch, "_prefetched_objects_cache", {}).get("rep_counts")
    rows = list(cached) if cached is not None else list(batch.rep_counts.all())
    return sorted(rows, key=lambda c: c.day)


def harvest_day(batch: Batch) -> int | None:
    if batch.rep_started_on is None or batch.planned_harvest_on is None:
        return None
    return (batch.planned_harvest_on - batch.rep_started_on).days


def _run(points: list[tuple[int, Quantity]], day: int, dose: DoseRange, warn: Decimal) -> Any:
    return forecast_harvest(
        points,
        harvest_day=day,
        dose_lower=Quantity(dose.minimum_1e9, Unit.cells_1e9),
        dose_upper=None if dose.maximum_1e9 is None else Quantity(dose.maximum_1e9, Unit.cells_1e9),
        warn_below_probability=warn,
    )


def batch_forecast(
    batch: Batch, *, warn_below_probability: Decimal | None, with_chart: bool = False
) -> ForecastView:
    """The harvest forecast of the batch's REP counts on its planned harvest day."""
    threshold = warn_below_probability if batch.status == BatchStatus.REP else None
    note = THRESHOLD_NOT_SET if warn_below_probability is None else ""
    counts = _counts(batch)
    day = harvest_day(batch)
    dose = dose_range(batch)

    def view(
        state: str,
        message: str,
        result: ExpansionForecast | None = None,
        chart: dict[str, Any] | None = None,
    ) -> ForecastView:
        return ForecastView(state, message, threshold, note, day, dose, result, chart)

    if not counts:
        return view("no_counts", "No REP counts yet.")
    points = [(c.day, Quantity(c.viable_cells, Unit.cells)) for c in counts]
    if dose is None:
        return view(
            "refused", f"Protocol file {batch.protocol_id} {batch.protocol_version} not found."
        )
    counts_only = _chart(points, None, dose)
    if day is None:
        return view(
            "not_planned",
            "Set the planned harvest date to forecast the harvest.",
            chart=counts_only,
        )
    if day < counts[-1].day:
        message = (
            f"The planned harvest (day {day}) is before the last count (day {counts[-1].day}); "
            "set the planned harvest date again."
        )
        return view("refused", message, chart=counts_only)
    # The threshold only decides the warning; the forecast itself does not depend on it.
    try:
        result = _run(points, day, dose, warn_below_probability or Decimal(1))
    except _CLINICAL_ERRORS as error:
        return view("refused", f"Not forecast: {error}")
    if result.status is ForecastStatus.TOO_FEW_POINTS:
        return view("too_few", result.message, result, counts_only)
    chart = _chart(points, result, dose, fan=_fan(points, day, dose)) if with_chart else None
    return view("forecast", result.message, result, chart)


def _fan(
    points: list[tuple[int, Quantity]], day: int, dose: DoseRange
) -> dict[int, tuple[Decimal, Decimal]]:
    """The prediction interval on each whole day from the last count to the harvest day."""
    fan: dict[int, tuple[Decimal, Decimal]] = {}
    for each in range(points[-1][0], day + 1):
        forecast = _run(points, each, dose, Decimal(1)).forecast
        if forecast is not None:
            fan[each] = (forecast.lower.magnitude, forecast.upper.magnitude)
    return fan


def _chart(
    points: list[tuple[int, Quantity]],
    result: ExpansionForecast | None,
    dose: DoseRange,
    *,
    fan: Mapping[int, tuple[Decimal, Decimal]] | None = None,
) -> dict[str, Any]:
    """Counts, the fitted growth, the forecast interval and the dose range, in ×10⁹ cells on a
    log scale (display only: the numbers are in the tables beside the chart)."""
    observed = {day: q.to(Unit.cells_1e9).magnitude for day, q in points}
    last = int(result.harvest_day) if result is not None else max(observed)
    days = list(range(min(observed), last + 1))
    fit = result.fit if result is not None else None
    fitted: dict[int, Decimal] = {}
    if fit is not None and fit.fitted:
        start = fit.fitted[0]
        start_1e9 = start.fitted.to(Unit.cells_1e9).magnitude
        for day in days:
            grown = start_1e9 * (fit.growth_rate_per_day * (Decimal(day) - start.day)).exp()
            fitted[day] = round(grown, 4)
    fan = fan or {}

    def series(label: str, kind: str, values: Mapping[int, Decimal]) -> dict[str, Any]:
        return {
            "label": label,
            "kind": kind,
            "values": [str(values[d]) if d in values else None for d in days],
        }

    forecast = result.forecast if result is not None else None
    at_harvest = {last: forecast.point.magnitude} if forecast is not None else {}
    return {
        "x": [str(d) for d in days],
        "x_label": "REP day",
        "y_label": "Viable cells (×10⁹, log scale)",
        "y_log": True,
        "series": [
            series("Counted", "points", observed),
            series("Growth fit", "line", fitted),
            series("Forecast interval, lower", "band_lower", {d: v[0] for d, v in fan.items()}),
            series("Forecast interval, upper", "band_upper", {d: v[1] for d, v in fan.items()}),
            series("Forecast at harvest", "forecast", at_harvest),
            series("Dose range, lower", "limit", dict.fromkeys(days, dose.minimum_1e9)),
            *(
                [series("Dose range, upper", "limit", dict.fromkeys(days, dose.maximum_1e9))]
                if dose.maximum_1e9 is not None
                else []
            ),
        ],
    }


# --- the reactivity ranking ---------------------------------------------------------------------


def with_stored_thresholds(raw: Mapping[str, Any], facility_id: int) -> dict[str, Any]:
    """`raw` with each reactivity threshold it leaves empty taken from the facility's stored
    settings (a threshold neither given nor stored stays empty, and is refused as required)."""
    stored = stored_thresholds(facility_id).values
    filled = dict(raw)
    for field, _ in THRESHOLD_FIELDS:
        given = filled.get(field)
        if (given is None or str(given).strip() == "") and stored.get(field) is not None:
            filled[field] = stored[field]
    return filled


def parse_thresholds(raw: Mapping[str, Any]) -> dict[str, Decimal]:
    """The three reactivity thresholds from a form, query or API body; each is required."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Decimal] = {}
    for field, label in THRESHOLD_FIELDS:
        text = raw.get(field)
        if text is None or str(text).strip() == "":
            errors[field] = [
                f"{label} is required: it is the facility's setting, there is no default."
            ]
            continue
        try:
            value = Decimal(str(text).strip())
        except (InvalidOperation, ValueError):
            errors[field] = [f"{label}: “{text}” is not a number."]
            continue
        if not value.is_finite() or value < 0:
            errors[field] = [f"{label} must be a number of 0 or more (got {text})."]
            continue
        if field in THRESHOLD_MAX and value > THRESHOLD_MAX[field]:
            errors[field] = [f"{label} must be at most {THRESHOLD_MAX[field]:,f} (got {text})."]
            continue
        values[field] = value
    if errors:
        raise InvalidInput(errors)
    return values


def screened_readings(batch: Batch) -> list[ReactivityReading]:
    return list(
        ReactivityReading.objects.filter(culture__batch=batch)
        .select_related("culture", "source")
        .order_by("culture__culture_id")
    )


def screen_ranking(
    readings: list[ReactivityReading], thresholds: Mapping[str, Decimal]
) -> ReactivityRanking:
    """The clinical core's ranking of the screened cultures; InvalidInput naming the field."""
    readouts = [
        CoCultureReadout(
            culture_id=r.culture.culture_id,
            ifn_gamma_tumor=Quantity(r.ifn_gamma_tumor_pg_per_ml, Unit.pg_per_ml),
            ifn_gamma_control=Quantity(r.ifn_gamma_control_pg_per_ml, Unit.pg_per_ml),
            cd137_tumor=Quantity(r.cd137_tumor_percent, Unit.percent),
            cd137_control=Quantity(r.cd137_control_percent, Unit.percent),
        )
        for r in readings
    ]
    try:
        return rank_cultures(
            readouts,
            min_ifn_gamma_difference=Quantity(
                thresholds["min_ifn_gamma_difference_pg_per_ml"], Unit.pg_per_ml
            ),
            min_ifn_gamma_fold=thresholds["min_ifn_gamma_fold"],
            min_cd137_difference=Quantity(thresholds["min_cd137_difference_points"], Unit.percent),
        )
    except MissingCenterSetting as error:
        raise InvalidInput({"__all__": [str(error)]}) from None
    except (InvalidQuantity, UnitMismatch, ValueError) as error:
        text = str(error)
        field = next((f for name, f in _CORE_NAMES.items() if text.startswith(name)), "__all__")
        raise InvalidInput({field: [text]}) from None


def ranking_document(ranking: ReactivityRanking, *, selected: list[str]) -> dict[str, Any]:
    """The ranking as stored with the selection: thresholds, rule, source and every row."""
    limits = ranking.thresholds
    return {
        "thresholds": {
            "min_ifn_gamma_difference_pg_per_ml": str(limits.min_ifn_gamma_difference_pg_per_ml),
            "min_ifn_gamma_fold": str(limits.min_ifn_gamma_fold),
            "min_cd137_difference_points": str(limits.min_cd137_difference_points),
        },
        "formula": ranking.formula,
        "ranking_rule": ranking.ranking_rule,
        "use": ranking.use,
        "source": ranking.source,
        "rounding": ranking.rounding,
        "selected": selected,
        "selected_not_reactive": [
            row.culture_id
            for row in ranking.rows
            if row.culture_id in selected and not row.reactive
        ],
        "rows": [
            {
                "rank": row.rank,
                "culture_id": row.culture_id,
                "ifn_gamma_tumor_pg_per_ml": str(row.ifn_gamma_tumor_pg_per_ml),
                "ifn_gamma_control_pg_per_ml": str(row.ifn_gamma_control_pg_per_ml),
                "ifn_gamma_difference_pg_per_ml": str(row.ifn_gamma_difference_pg_per_ml),
                "ifn_gamma_fold": None if row.ifn_gamma_fold is None else str(row.ifn_gamma_fold),
                "cd137_tumor_percent": str(row.cd137_tumor_percent),
                "cd137_control_percent": str(row.cd137_control_percent),
                "cd137_difference_points": str(row.cd137_difference_points),
                "ifn_gamma_difference_met": row.ifn_gamma_difference_met,
                "ifn_gamma_fold_met": row.ifn_gamma_fold_met,
                "cd137_difference_met": row.cd137_difference_met,
                "thresholds_met": list(row.thresholds_met),
                "reactive": row.reactive,
                "note": row.note,
            }
            for row in ranking.rows
        ],
    }
