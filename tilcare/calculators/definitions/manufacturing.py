"""Manufacturing: harvest forecast from daily counts, and the ranking of pre-REP cultures.

(No `from __future__ import annotations`: ninja and pydantic read these annotations at import.)
"""

from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema

from tilcare.accounts.roles import Perm
from tilcare.calculators.definitions.limits import checker
from tilcare.calculators.registry import Calculator, Outcome, Tone, register
from tilcare.clinical.manufacturing.expansion import (
    MAX_DAY,
    MAX_VIABLE_CELLS,
    ForecastStatus,
    forecast_harvest,
)
from tilcare.clinical.manufacturing.reactivity import (
    MAX_IFN_GAMMA_PG_PER_ML,
    MAX_PERCENT,
    CoCultureReadout,
    rank_cultures,
)
from tilcare.clinical.units import Quantity, Unit
from tilcare.core.api_support import checked_range

GROUP = "Manufacturing"
LAB = (Perm.USE_MANUFACTURING_CALCULATORS,)
_COUNT_UNIT = {"cells": Unit.cells, "e9_cells": Unit.cells_1e9}

# Plausible ranges, refused by the clinical core on the field with the limit (in cells whatever
# the unit given: above 0, at most 10¹³ cells, i.e. 10,000 ×10⁹); the API document declares them.
DAY_RANGE = checked_range(0, MAX_DAY)
CELLS_RANGE = checked_range(0, MAX_VIABLE_CELLS, above_minimum=True)
DOSE_E9_RANGE = checked_range(0, MAX_VIABLE_CELLS / 10**9, above_minimum=True)
IFN_GAMMA_RANGE = checked_range(0, MAX_IFN_GAMMA_PG_PER_ML)
PERCENT_RANGE = checked_range(0, MAX_PERCENT)
# A fold threshold of a few (2 is common) is what facilities set; above 1000 is a typing slip.
MAX_IFN_GAMMA_FOLD = Decimal(1000)


class CountIn(Schema):
    day: Decimal = Field(..., description="culture day, 0–365", json_schema_extra=DAY_RANGE)
    viable_cells: Decimal = Field(
        ...,
        description="in the unit chosen for the counts; at most 10¹³ cells (10,000 ×10⁹)",
        json_schema_extra=CELLS_RANGE,
    )


class ForecastIn(Schema):
    counts: list[CountIn] = Field(..., title="Viable-cell counts", description="Day, count.")
    count_unit: Literal["cells", "e9_cells"] = Field(
        ..., title="Unit of the counts", description="cells, or e9_cells for ×10⁹ cells"
    )
    harvest_day: Decimal = Field(..., title="Planned harvest day", json_schema_extra=DAY_RANGE)
    dose_lower_e9_cells: Decimal = Field(
        ...,
        title="Dose range, lower (×10⁹ cells)",
        description="the protocol's lower limit",
        json_schema_extra=DOSE_E9_RANGE,
    )
    dose_upper_e9_cells: Decimal = Field(
        ...,
        title="Dose range, upper (×10⁹ cells)",
        description="the protocol's upper limit",
        json_schema_extra=DOSE_E9_RANGE,
    )
    warn_below_probability: Decimal = Field(
        ...,
        title="Warn below probability",
        description="The facility's early-warning threshold, 0–1 (no default: its QA sets it)",
        json_schema_extra=checked_range(0, 1, above_minimum=True),
    )
    prediction_level: Decimal = Field(
        Decimal("0.90"),
        title="Prediction interval level",
        description="0–1, e.g. 0.90",
        json_schema_extra={"exclusiveMinimum": 0, "exclusiveMaximum": 1},
    )


def run_forecast(data: ForecastIn) -> Outcome:
    unit = _COUNT_UNIT[data.count_unit]
    result = forecast_harvest(
        [(row.day, Quantity.of(row.viable_cells, unit)) for row in data.counts],
        harvest_day=data.harvest_day,
        dose_lower=Quantity.of(data.dose_lower_e9_cells, Unit.cells_1e9).to(Unit.cells),
        dose_upper=Quantity.of(data.dose_upper_e9_cells, Unit.cells_1e9).to(Unit.cells),
        warn_below_probability=data.warn_below_probability,
        prediction_level=data.prediction_level,
    )
    forecast = result.forecast
    if result.status is not ForecastStatus.FORECAST or forecast is None:
        return Outcome(result.message, result, "warn")
    tone: Tone = "danger" if forecast.early_warning else "ok"
    if not forecast.early_warning and (
        forecast.probability_in_dose_range < result.warn_below_probability
    ):
        tone = "warn"  # likely to reach the dose, but likely above the upper limit too
    headline = (
        f"Day {result.harvest_day}: {forecast.point} forecast "
        f"({forecast.lower} to {forecast.upper}); P(in dose range) "
        f"{forecast.probability_in_dose_range}"
    )
    if forecast.early_warning:
        headline = f"Early warning — {headline}"
    return Outcome(headline, result, tone, chart=_growth_chart(result))


def _growth_chart(result: Any) -> dict[str, Any] | None:
    """Counts, the fitted growth curve to the harvest day, the forecast interval and the dose
    range, in ×10⁹ cells on a log scale (display only: the numbers are in the working)."""
    fit, forecast = result.fit, result.forecast
    if fit is None or forecast is None or fit.growth_rate_per_day <= 0:
        return None
    first = fit.fitted[0]
    start_day = first.day
    start_e9 = first.fitted.to(Unit.cells_1e9).magnitude
    observed = {point.day: point.observed.to(Unit.cells_1e9).magnitude for point in fit.fitted}
    whole_days = (Decimal(day) for day in range(int(start_day), int(result.harvest_day) + 1))
    days = sorted(
        day
        for day in {*observed, *whole_days, result.harvest_day}
        if start_day <= day <= result.harvest_day
    )
    rate = fit.growth_rate_per_day

    def curve(day: Decimal) -> str:
        return str(round((start_e9 * (rate * (Decimal(day) - start_day)).exp()), 4))

    def at_harvest(value: Quantity) -> list[str | None]:
        return [str(value.magnitude) if day == result.harvest_day else None for day in days]

    lower_e9 = result.dose_lower.to(Unit.cells_1e9).magnitude
    assert result.dose_upper is not None  # this calculator always takes an upper limit
    upper_e9 = result.dose_upper.to(Unit.cells_1e9).magnitude
    return {
        "x": [str(day) for day in days],
        "x_label": "Culture day",
        "y_label": "Viable cells (×10⁹, log scale)",
        "y_log": True,
        "series": [
            {
                "label": "Counted",
                "kind": "points",
                "values": [str(observed[d]) if d in observed else None for d in days],
            },
            {"label": "Growth fit", "kind": "line", "values": [curve(d) for d in days]},
            {"label": "Forecast, lower", "kind": "points", "values": at_harvest(forecast.lower)},
            {"label": "Forecast, upper", "kind": "points", "values": at_harvest(forecast.upper)},
            {"label": "Dose range, lower", "kind": "limit", "values": [str(lower_e9)] * len(days)},
            {"label": "Dose range, upper", "kind": "limit", "values": [str(upper_e9)] * len(days)},
        ],
    }


# The reactivity thresholds are the facility's own: no published standard sets them.
THRESHOLD_HELP = "The facility's threshold (no default: its QA reviewer sets it)"


class ReadoutIn(Schema):
    culture_id: str = Field(..., max_length=40)
    ifn_gamma_tumor_pg_per_ml: Decimal = Field(..., json_schema_extra=IFN_GAMMA_RANGE)
    ifn_gamma_control_pg_per_ml: Decimal = Field(..., json_schema_extra=IFN_GAMMA_RANGE)
    cd137_tumor_percent: Decimal = Field(..., json_schema_extra=PERCENT_RANGE)
    cd137_control_percent: Decimal = Field(..., json_schema_extra=PERCENT_RANGE)


class ReactivityIn(Schema):
    readouts: list[ReadoutIn] = Field(
        ..., title="Co-culture readouts", description="Against autologous tumor and control."
    )
    min_ifn_gamma_difference_pg_per_ml: Decimal = Field(
        ...,
        title="Minimum IFN-γ difference (pg/mL)",
        description=THRESHOLD_HELP,
        json_schema_extra=IFN_GAMMA_RANGE,
    )
    # The clinical core refuses a fold of 0 or less; nothing later refuses a huge one.
    min_ifn_gamma_fold: Annotated[
        Decimal, checker("min_ifn_gamma_fold", Decimal(0), MAX_IFN_GAMMA_FOLD, "")
    ] = Field(
        ...,
        title="Minimum IFN-γ fold over control",
        description=THRESHOLD_HELP,
        json_schema_extra=checked_range(0, MAX_IFN_GAMMA_FOLD, above_minimum=True),
    )
    min_cd137_difference_percent: Decimal = Field(
        ...,
        title="Minimum CD137 difference (% points)",
        description=THRESHOLD_HELP,
        json_schema_extra=PERCENT_RANGE,
    )


def run_reactivity(data: ReactivityIn) -> Outcome:
    result = rank_cultures(
        [
            CoCultureReadout(
                culture_id=row.culture_id,
                ifn_gamma_tumor=Quantity.of(row.ifn_gamma_tumor_pg_per_ml, Unit.pg_per_ml),
                ifn_gamma_control=Quantity.of(row.ifn_gamma_control_pg_per_ml, Unit.pg_per_ml),
                cd137_tumor=Quantity.of(row.cd137_tumor_percent, Unit.percent),
                cd137_control=Quantity.of(row.cd137_control_percent, Unit.percent),
            )
            for row in data.readouts
        ],
        min_ifn_gamma_difference=Quantity.of(
            data.min_ifn_gamma_difference_pg_per_ml, Unit.pg_per_ml
        ),
        min_ifn_gamma_fold=data.min_ifn_gamma_fold,
        min_cd137_difference=Quantity.of(data.min_cd137_difference_percent, Unit.percent),
    )
    reactive = [row.culture_id for row in result.rows if row.reactive]
    if not reactive:
        return Outcome("No culture meets the center's reactivity thresholds", result, "warn")
    return Outcome(
        f"{len(reactive)} of {len(result.rows)} cultures reactive; top: {reactive[0]}",
        result,
        "ok",
    )


register(
    Calculator(
        slug="harvest-forecast",
        title="Harvest forecast from daily counts",
        group=GROUP,
        purpose="Growth fit, harvest yield with its interval, and the chance of the dose range.",
        input_schema=ForecastIn,
        run=run_forecast,
        perms=LAB,
        example={
            "counts": [
                {"day": 0, "viable_cells": "0.05"},
                {"day": 3, "viable_cells": "0.3"},
                {"day": 5, "viable_cells": "0.9"},
                {"day": 7, "viable_cells": "2.8"},
            ],
            "count_unit": "e9_cells",
            "harvest_day": 11,
            "dose_lower_e9_cells": "7.5",
            "dose_upper_e9_cells": "72",
            "warn_below_probability": "0.8",
        },
    )
)
register(
    Calculator(
        slug="culture-reactivity",
        title="Culture reactivity ranking",
        group=GROUP,
        purpose="Rank pre-REP cultures by IFN-γ and CD137 against tumor and control.",
        input_schema=ReactivityIn,
        run=run_reactivity,
        perms=LAB,
        example={
            "readouts": [
                {
                    "culture_id": "F03",
                    "ifn_gamma_tumor_pg_per_ml": "1850",
                    "ifn_gamma_control_pg_per_ml": "120",
                    "cd137_tumor_percent": "14.2",
                    "cd137_control_percent": "1.1",
                },
                {
                    "culture_id": "F07",
                    "ifn_gamma_tumor_pg_per_ml": "240",
                    "ifn_gamma_control_pg_per_ml": "180",
                    "cd137_tumor_percent": "2.0",
                    "cd137_control_percent": "1.4",
                },
            ],
            "min_ifn_gamma_difference_pg_per_ml": "200",
            "min_ifn_gamma_fold": "2",
            "min_cd137_difference_percent": "2",
        },
    )
)
