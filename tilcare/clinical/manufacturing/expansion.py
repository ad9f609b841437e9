"""Harvest-yield forecast for a rapidly expanding TIL culture (log-linear growth model).

Model: exponential growth during the rapid expansion, cells(day) = exp(a + b·day), a and b fitted
by ordinary least squares on ln(cells) against day. Growth rate b /day; doubling time ln 2 / b
(not defined when b <= 0); s = √(SSE / (n − 2)) on the ln scale. Prediction interval for a new
observation on harvest day x0: exp(ŷ0 ± t(alpha/2, n − 2) · s · √(1 + 1/n + (x0 − x̄)² / Sxx)).
The probability that the harvest lies in [lower, upper] uses the same Student t (n − 2 df)
predictive distribution of ln(cells); where the protocol sets no upper limit (dose_upper None, e.g.
the NKI protocol's "at least 5×10⁹" cells), the range is [lower, ∞).
Source: Montgomery DC, Peck EA, Vining GG. Introduction to Linear Regression Analysis (Wiley),
simple linear regression, prediction interval for a new observation. The dose range is the
caller's (e.g. 7.5 × 10⁹ to 72 × 10⁹ viable cells, Amtagvi US label section 2).

Limits: only the exponential phase is modelled; a plateau, lag phase or loss of viability is not,
so a harvest day far beyond the last count is an extrapolation the interval does not cover.
Residuals are assumed independent and normal on the ln scale. Fewer than 3 distinct days
(n − 2 < 1 df) gives status "too_few_points" with the number of counts still needed.

Numerics: the regression (ln, exp, square roots) runs in Decimal at 40 digits; the Student t CDF
(regularised incomplete beta, continued fraction) and quantile (bisection) run in binary floats,
accurate to about 1e-12, far below the reported precision. Inputs and outputs are Decimal/Quantity.

Inputs: (day, viable cells), day a Decimal or int in 0–365, cells a Quantity in cells or ×10⁹ cells
(converted explicitly to cells and recorded). Floats, duplicate days, counts <= 0 or > 10¹³ and a
harvest day before the last count are refused naming the field; out-of-order counts are sorted
(recorded). The early-warning threshold has no default: the center sets it.

Rounding: ROUND_HALF_UP through the ``round_*`` functions below (steps in ``ROUNDING``); the early
warning compares the rounded probability, the figure shown.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from tilcare.clinical.dosing.settings import CenterSettingError
from tilcare.clinical.manufacturing.student_t import student_t_cdf, student_t_quantile
from tilcare.clinical.units import (
    FloatNotAllowed,
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    check_plausible,
    to_decimal,
)

SOURCE = (
    "Montgomery DC, Peck EA, Vining GG. Introduction to Linear Regression Analysis (Wiley): "
    "least-squares fit and prediction interval for a new observation"
)
FORMULA = (
    "ln(cells) = a + b·day (OLS); doubling time = ln 2 / b; interval = "
    "exp(ŷ0 ± t(alpha/2, n−2)·s·√(1 + 1/n + (x0 − x̄)²/Sxx)); probabilities from the t(n−2) "
    "predictive distribution of ln(cells)"
)
MODEL_LIMITS = (
    "exponential growth assumed during the rapid expansion; plateau, lag phase and loss of "
    "viability not modelled; forecasts beyond the last count are extrapolations"
)
NUMERICS = "regression in Decimal (40 digits); Student t CDF and quantile in binary floats"
ROUNDING = (
    "ROUND_HALF_UP: forecast 0.01 ×10⁹ cells, fitted counts 1 cell, rate 0.0001/day, "
    "doubling time 0.01 day, residual SE 0.0001 ln units, t 0.0001, probabilities 0.001"
)
MIN_DISTINCT_DAYS = 3
DEFAULT_PREDICTION_LEVEL = Decimal("0.90")
# Plausibility limits (not clinical facts): a culture day within a year, a count at most 10¹³
# cells (over 100× the largest TIL product in the reference notes, 2 × 10¹¹).
MAX_DAY = Decimal(365)
MAX_VIABLE_CELLS = Decimal("1E+13")
# A point or upper bound above 10⁶ × 10⁹ cells is physically meaningless (the counts do not
# support a forecast); it is shown at this limit and flagged instead of being computed.
REPORT_LIMIT_CELLS_1E9 = Decimal(10) ** 6
_PRECISION = 40


class MissingCenterSetting(CenterSettingError):
    """A lab threshold with no settled source that the center must set before the calculation
    runs. It shares `CenterSettingError` with the protocol settings, so a caller catches every
    "the center must set this" refusal the same way; lab thresholds are not protocol-file
    settings, hence their own message without a `SettingSpec`."""


def _round(value: Decimal, step: str) -> Decimal:
    places = len(step.partition(".")[2])
    with decimal.localcontext() as ctx:
        # Enough digits for every place down to the step, whatever the magnitude.
        ctx.prec = max(ctx.prec, value.adjusted() + places + 2)
        return value.quantize(Decimal(step), rounding=ROUND_HALF_UP)


def round_cells_1e9(value: Decimal) -> Decimal:
    """×10⁹ cells to 0.01 (10 million cells), half up."""
    return _round(value, "0.01")


def round_whole_cells(value: Decimal) -> Decimal:
    return _round(value, "1")


def round_rate_per_day(value: Decimal) -> Decimal:
    return _round(value, "0.0001")


def round_days(value: Decimal) -> Decimal:
    return _round(value, "0.01")


def round_statistic(value: Decimal) -> Decimal:
    """Residual standard error (ln units) and t quantile, to 0.0001."""
    return _round(value, "0.0001")


def round_probability(value: Decimal) -> Decimal:
    return _round(value, "0.001")


# Inputs ------------------------------------------------------------------------------------------


def _day(value: object, name: str) -> Decimal:
    if isinstance(value, float):
        raise FloatNotAllowed(value, name)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise InvalidQuantity(f"{name} {value!r} must be a Decimal or an int (days).")
    day = to_decimal(value, name)
    if day < 0:
        raise ImplausibleInput(f"{name} {day} is below the minimum 0 days.")
    return check_plausible(day, name, "days", maximum=MAX_DAY)


def _cells(value: object, name: str) -> tuple[Decimal, str]:
    """Magnitude in cells and the conversion applied; ×10⁹ cells are converted explicitly."""
    if isinstance(value, float):
        raise FloatNotAllowed(value, name)
    if not isinstance(value, Quantity):
        raise InvalidQuantity(f"{name} {value!r} must be a Quantity in cells or ×10⁹ cells.")
    if value.unit is Unit.cells_1e9:
        magnitude, conversion = value.to(Unit.cells).magnitude, "×10⁹ cells → cells (× 10⁹)"
    else:
        magnitude, conversion = value.require(Unit.cells, name), "given in cells"
    if magnitude <= 0:
        raise ImplausibleInput(f"{name} {value} must be greater than 0 cells.")
    if magnitude > MAX_VIABLE_CELLS:
        raise ImplausibleInput(
            f"{name} {value} is above the plausible maximum {MAX_VIABLE_CELLS} cells."
        )
    return magnitude, conversion


def _fraction(value: object, name: str, *, allow_one: bool) -> Decimal:
    if isinstance(value, float):
        raise FloatNotAllowed(value, name)
    number = to_decimal(value, name)
    upper_ok = number <= 1 if allow_one else number < 1
    if not (number > 0 and upper_ok):
        limit = "1 inclusive" if allow_one else "1 exclusive"
        raise ImplausibleInput(f"{name} {number} must be greater than 0 and at most {limit}.")
    return number


@dataclass(frozen=True)
class CountPoint:
    day: Decimal
    given: Quantity
    viable_cells: Quantity  # in cells
    conversion: str


def _parse_counts(counts: Sequence[tuple[Decimal | int, Quantity]]) -> list[CountPoint]:
    points: list[CountPoint] = []
    seen: dict[Decimal, int] = {}
    for i, item in enumerate(counts):
        if not isinstance(item, tuple) or len(item) != 2:
            raise InvalidQuantity(f"counts[{i}] {item!r} must be a (day, viable cells) pair.")
        day = _day(item[0], f"counts[{i}].day")
        cells, conversion = _cells(item[1], f"counts[{i}].viable_cells")
        if day in seen:
            raise ImplausibleInput(
                f"counts[{i}].day {day} repeats the day of counts[{seen[day]}]; "
                "give one count per day."
            )
        seen[day] = i
        points.append(CountPoint(day, item[1], Quantity(cells, Unit.cells), conversion))
    return points


# Results -----------------------------------------------------------------------------------------


class ForecastStatus(Enum):
    FORECAST = "forecast"
    TOO_FEW_POINTS = "too_few_points"


@dataclass(frozen=True)
class FittedCount:
    day: Decimal
    observed: Quantity  # cells
    fitted: Quantity  # cells, round_whole_cells


@dataclass(frozen=True)
class GrowthFit:
    n_points: int
    degrees_of_freedom: int
    growth_rate_per_day: Decimal  # round_rate_per_day
    doubling_time_days: Decimal | None  # round_days; None when the culture is not growing
    residual_standard_error_ln: Decimal  # round_statistic
    fitted: tuple[FittedCount, ...]


@dataclass(frozen=True)
class HarvestForecast:
    t_quantile: Decimal  # t(alpha/2, n − 2), round_statistic
    point: Quantity  # ×10⁹ cells, round_cells_1e9
    lower: Quantity  # ×10⁹ cells
    upper: Quantity  # ×10⁹ cells
    probability_in_dose_range: Decimal  # round_probability
    probability_at_least_lower: Decimal  # round_probability
    early_warning: bool  # probability_at_least_lower < warn_below_probability
    beyond_reporting_limit: bool  # point or upper above REPORT_LIMIT_CELLS_1E9, shown at it


@dataclass(frozen=True)
class ExpansionForecast:
    status: ForecastStatus
    points_needed: int  # further counts on new days needed; 0 when forecast
    counts: tuple[CountPoint, ...]  # sorted by day
    input_reordered: bool
    harvest_day: Decimal
    dose_lower: Quantity  # cells
    dose_upper: Quantity | None  # cells; None: the protocol sets no upper limit
    prediction_level: Decimal
    warn_below_probability: Decimal
    fit: GrowthFit | None
    forecast: HarvestForecast | None
    message: str
    formula: str = FORMULA
    source: str = SOURCE
    model_limits: str = MODEL_LIMITS
    numerics: str = NUMERICS
    rounding: str = ROUNDING


def forecast_harvest(
    counts: Sequence[tuple[Decimal | int, Quantity]],
    *,
    harvest_day: Decimal | int,
    dose_lower: Quantity,
    dose_upper: Quantity | None,
    warn_below_probability: Decimal | None,
    prediction_level: Decimal = DEFAULT_PREDICTION_LEVEL,
) -> ExpansionForecast:
    """Fit ln(cells) on day and forecast the harvest on ``harvest_day`` (see module docstring).

    ``warn_below_probability``: the early warning is raised when the probability of reaching
    ``dose_lower`` is below it; the center sets it (no default; None is refused).
    """
    if warn_below_probability is None:
        raise MissingCenterSetting(
            "Set 'expansion early-warning probability threshold' (warn_below_probability) in "
            "the center's manufacturing settings; there is no default."
        )
    threshold = _fraction(warn_below_probability, "warn_below_probability", allow_one=True)
    level = _fraction(prediction_level, "prediction_level", allow_one=False)
    lower_cells, _ = _cells(dose_lower, "dose_lower")
    upper_cells = _cells(dose_upper, "dose_upper")[0] if dose_upper is not None else None
    if upper_cells is not None and upper_cells <= lower_cells:
        raise ImplausibleInput(
            f"dose_upper {upper_cells} cells must be greater than dose_lower {lower_cells} cells."
        )
    x0 = _day(harvest_day, "harvest_day")
    given = _parse_counts(counts)
    points = sorted(given, key=lambda p: p.day)
    if points and x0 < points[-1].day:
        raise ImplausibleInput(
            f"harvest_day {x0} is before the last count day {points[-1].day}; "
            "the harvest must be on or after the last count."
        )

    needed = max(0, MIN_DISTINCT_DAYS - len(points))
    fit, fc = (
        (None, None) if needed else _fit(points, x0, level, lower_cells, upper_cells, threshold)
    )
    if fc is None:
        message = (
            f"Too few points to forecast: {len(points)} count day(s), at least "
            f"{MIN_DISTINCT_DAYS} distinct days are needed ({needed} more)."
        )
    else:
        message = (
            f"{'EARLY WARNING: ' if fc.early_warning else ''}day {x0} forecast {fc.point} "
            f"(prediction level {level}: {fc.lower.magnitude}–{fc.upper.magnitude}); "
            f"P(≥ lower dose) = {fc.probability_at_least_lower}"
        )
        if fc.beyond_reporting_limit:
            message += f"; above {REPORT_LIMIT_CELLS_1E9} ×10⁹ cells: the counts do not fit"
    return ExpansionForecast(
        ForecastStatus.TOO_FEW_POINTS if needed else ForecastStatus.FORECAST, needed,
        tuple(points), points != given, x0, Quantity(lower_cells, Unit.cells),
        None if upper_cells is None else Quantity(upper_cells, Unit.cells), level, threshold,
        fit, fc, message,
    )  # fmt: skip


def _fit(
    points: list[CountPoint],
    x0: Decimal,
    level: Decimal,
    lower_cells: Decimal,
    upper_cells: Decimal | None,
    threshold: Decimal,
) -> tuple[GrowthFit, HarvestForecast]:
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        n = Decimal(len(points))
        xs = [p.day for p in points]
        ys = [p.viable_cells.magnitude.ln() for p in points]
        x_mean = sum(xs, Decimal(0)) / n
        y_mean = sum(ys, Decimal(0)) / n
        sxx = sum(((x - x_mean) ** 2 for x in xs), Decimal(0))
        sxy = sum(((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)), Decimal(0))
        slope = sxy / sxx
        intercept = y_mean - slope * x_mean
        fitted_ln = [intercept + slope * x for x in xs]
        sse = sum(((y - f) ** 2 for y, f in zip(ys, fitted_ln, strict=True)), Decimal(0))
        df = len(points) - 2
        s = (sse / df).sqrt()
        y0 = intercept + slope * x0
        se_pred = s * (1 + 1 / n + (x0 - x_mean) ** 2 / sxx).sqrt()
        t = Decimal(repr(student_t_quantile(float(1 - (1 - level) / 2), df)))
        half_width = t * se_pred
        ln_limit = (REPORT_LIMIT_CELLS_1E9 * 10**9).ln()
        beyond = y0 + half_width > ln_limit
        point, low, high = (
            (v.exp() / 10**9 if v <= ln_limit else REPORT_LIMIT_CELLS_1E9)
            for v in (y0, y0 - half_width, y0 + half_width)
        )
        doubling = Decimal(2).ln() / slope if slope > 0 else None
        fitted = tuple(
            FittedCount(p.day, p.viable_cells, Quantity(round_whole_cells(f.exp()), Unit.cells))
            for p, f in zip(points, fitted_ln, strict=True)
        )
        ln_lower = lower_cells.ln()
        ln_upper = upper_cells.ln() if upper_cells is not None else None
        if se_pred == 0:
            p_at_least = Decimal(1) if y0 >= ln_lower else Decimal(0)
            below_upper = ln_upper is None or y0 <= ln_upper
            p_range = Decimal(1) if ln_lower <= y0 and below_upper else Decimal(0)
        else:
            cdf_lower = student_t_cdf(float((ln_lower - y0) / se_pred), df)
            cdf_upper = (
                1.0 if ln_upper is None else student_t_cdf(float((ln_upper - y0) / se_pred), df)
            )
            # Clamp float noise into [0, 1]; repr gives the shortest exact decimal of the float.
            p_at_least = min(Decimal(1), max(Decimal(0), Decimal(repr(1.0 - cdf_lower))))
            p_range = min(Decimal(1), max(Decimal(0), Decimal(repr(cdf_upper - cdf_lower))))
        p_at_least_shown = round_probability(p_at_least)
        forecast = HarvestForecast(
            t_quantile=round_statistic(t),
            point=Quantity(round_cells_1e9(point), Unit.cells_1e9),
            lower=Quantity(round_cells_1e9(low), Unit.cells_1e9),
            upper=Quantity(round_cells_1e9(high), Unit.cells_1e9),
            probability_in_dose_range=round_probability(p_range),
            probability_at_least_lower=p_at_least_shown,
            early_warning=p_at_least_shown < threshold,
            beyond_reporting_limit=beyond,
        )
        fit = GrowthFit(
            n_points=len(points),
            degrees_of_freedom=df,
            growth_rate_per_day=round_rate_per_day(slope),
            doubling_time_days=None if doubling is None else round_days(doubling),
            residual_standard_error_ln=round_statistic(s),
            fitted=fitted,
        )
    return fit, forecast
