"""Harvest-yield forecast (log-linear OLS with a Student t prediction interval).

Sources named in case ids:
  * "exp growth": definition of exponential growth, cells = c0·e^(b·day), doubling time ln 2 / b;
  * "MPV": Montgomery, Peck & Vining, Introduction to Linear Regression Analysis, prediction
    interval ŷ0 ± t(alpha/2, n−2)·s·√(1 + 1/n + (x0 − x̄)²/Sxx); the tests recompute it by the
    matrix route s²·(1 + x0ᵀ(XᵀX)⁻¹x0), with the t quantile and CDF in closed form for 1 and 2
    degrees of freedom (Cauchy: tan(π(p − ½)); df 2: (2p − 1)/√(2p(1 − p)));
  * "NIST t table": NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.6.7.2, critical
    values of Student's t: t(0.95, 1) = 6.314, t(0.95, 2) = 2.920, t(0.975, 10) = 2.228,
    t(0.95, 30) = 1.697;
  * "label dose": Amtagvi 7.5 × 10⁹ to 72 × 10⁹ viable cells (clinical-reference.md §1.1).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilcare.clinical.manufacturing.expansion import (
    ExpansionForecast,
    ForecastStatus,
    MissingCenterSetting,
    forecast_harvest,
    round_cells_1e9,
    round_probability,
    student_t_cdf,
    student_t_quantile,
)
from tilcare.clinical.units import (
    FloatNotAllowed,
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    UnitMismatch,
    cells,
    cells_1e9,
    mg,
)

LOWER, UPPER = cells_1e9("7.5"), cells_1e9(72)  # label dose


def run(
    counts: list[tuple[D | int, Quantity]],
    harvest_day: D | int,
    *,
    level: D = D("0.90"),
    warn_below: D | None = D("0.5"),
) -> ExpansionForecast:
    return forecast_harvest(
        counts,
        harvest_day=harvest_day,
        dose_lower=LOWER,
        dose_upper=UPPER,
        warn_below_probability=warn_below,
        prediction_level=level,
    )


def three_dp(x: float) -> D:
    return D(repr(x)).quantize(D("0.001"), rounding=ROUND_HALF_UP)


# Exact exponential data ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "rate", "doubling"),
    [
        # 2^(day/2): b = ln 2 / 2 = 0.346574 -> 0.3466; doubling 2 days
        ([(0, cells(1_000_000)), (2, cells(2_000_000)), (4, cells(4_000_000))], "0.3466", "2.00"),
        # 2^(day/1.5): b = ln 2 / 1.5 = 0.462098 -> 0.4621; doubling 1.5 days
        (
            [
                (0, cells(10**6)),
                (3, cells(4 * 10**6)),
                (6, cells(16 * 10**6)),
                (9, cells(64 * 10**6)),
            ],
            "0.4621",
            "1.50",
        ),
        # 3^day: b = ln 3 = 1.098612 -> 1.0986; doubling ln 2 / ln 3 = 0.6309 -> 0.63
        ([(0, cells(100)), (1, cells(300)), (2, cells(900)), (3, cells(2700))], "1.0986", "0.63"),
        # ×10⁹ input, 2^(day/5) at days 0, 5, 10, 15, 20
        ([(5 * i, cells_1e9(D(2) ** i / 10)) for i in range(5)], "0.1386", "5.00"),
    ],
    ids=[
        "exp growth doubling 2 d",
        "exp growth doubling 1.5 d",
        "exp growth tripling daily",
        "exp growth 1e9 input doubling 5 d",
    ],
)
def test_exact_exponential_data_gives_exact_rate(
    counts: list[tuple[D | int, Quantity]], rate: str, doubling: str
) -> None:
    result = run(counts, counts[-1][0])
    assert result.status is ForecastStatus.FORECAST
    assert result.fit is not None and result.forecast is not None
    assert result.fit.growth_rate_per_day == D(rate)
    assert result.fit.doubling_time_days == D(doubling)
    assert result.fit.residual_standard_error_ln == D("0.0000")
    assert [f.fitted for f in result.fit.fitted] == [p.viable_cells for p in result.counts]
    # No scatter: the interval collapses onto the point.
    assert result.forecast.lower == result.forecast.point == result.forecast.upper


def test_exact_data_forecast_extrapolates_doublings() -> None:
    """exp growth: 8 × 10⁶ on day 6, doubling every 2 days -> day 20 = 8e6 × 2^7 = 1.024e9."""
    counts: list[tuple[D | int, Quantity]] = [(2 * i, cells(10**6 * 2**i)) for i in range(4)]
    result = run(counts, 20)
    assert result.forecast is not None
    assert result.forecast.point == cells_1e9("1.02")
    assert result.forecast.probability_at_least_lower == D("0.000")
    assert result.forecast.early_warning is True


# Hand-worked examples, recomputed by a different route -----------------------------------------


def _matrix_route(
    points: list[tuple[float, float]], x0: float, t: float
) -> tuple[float, float, float, float]:
    """OLS by the normal equations (XᵀX)β = Xᵀy (Cramer's rule) and the prediction variance
    s²·(1 + x0ᵀ(XᵀX)⁻¹x0). Returns (ŷ0, se of prediction, lower, upper) in ln cells / cells."""
    n = len(points)
    sx = sum(x for x, _ in points)
    sxx = sum(x * x for x, _ in points)
    sy = sum(math.log(c) for _, c in points)
    sxy = sum(x * math.log(c) for x, c in points)
    det = n * sxx - sx * sx
    a = (sxx * sy - sx * sxy) / det
    b = (n * sxy - sx * sy) / det
    sse = sum((math.log(c) - a - b * x) ** 2 for x, c in points)
    s2 = sse / (n - 2)
    # (XᵀX)⁻¹ = [[sxx, −sx], [−sx, n]] / det; x0 vector = (1, x0)
    quad = (sxx - 2 * sx * x0 + n * x0 * x0) / det
    se = math.sqrt(s2 * (1 + quad))
    y0 = a + b * x0
    return y0, se, math.exp(y0 - t * se), math.exp(y0 + t * se)


def _cdf_df1(t: float) -> float:
    return 0.5 + math.atan(t) / math.pi


def _cdf_df2(t: float) -> float:
    return 0.5 + t / (2 * math.sqrt(2 + t * t))


@pytest.mark.parametrize(
    ("counts_1e9", "harvest_day", "t_closed", "cdf", "expected"),
    [
        # n = 4, df 2, 90 %: t = 0.9/√(2·0.95·0.05) = 2.91999 (NIST table 2.920)
        (
            [(0, "0.1"), (1, "0.25"), (2, "0.55"), (3, "1.3")],
            8,
            0.9 / math.sqrt(2 * 0.95 * 0.05),
            _cdf_df2,
            ("90.75", "64.66", "127.36", "0.091", "0.999"),
        ),
        # Same culture, harvest on day 5: the forecast sits near the lower dose limit
        (
            [(0, "0.1"), (1, "0.25"), (2, "0.55"), (3, "1.3")],
            5,
            0.9 / math.sqrt(2 * 0.95 * 0.05),
            _cdf_df2,
            ("7.12", "5.78", "8.78", "0.272", "0.272"),
        ),
        # n = 3, df 1, 90 %: t = tan(0.45π) = 6.31375 (NIST table 6.314)
        (
            [(0, "0.05"), (2, "0.2"), (5, "1.9")],
            9,
            math.tan(0.45 * math.pi),
            _cdf_df1,
            ("34.50", "15.90", "74.87", "0.922", "0.974"),
        ),
    ],
    ids=["MPV+NIST df2 day 8", "MPV+NIST df2 day 5", "MPV+NIST df1 day 9"],
)
def test_hand_worked_prediction_interval(
    counts_1e9: list[tuple[int, str]],
    harvest_day: int,
    t_closed: float,
    cdf: object,
    expected: tuple[str, str, str, str, str],
) -> None:
    # Given a small culture series in ×10⁹ cells
    counts: list[tuple[D | int, Quantity]] = [(d, cells_1e9(c)) for d, c in counts_1e9]
    # When the harvest is forecast at the 90 % level
    result = run(counts, harvest_day)
    fc = result.forecast
    assert fc is not None
    # Then the reported values are the hand-worked ones ...
    point, low, high, p_range, p_lower = expected
    assert (fc.point, fc.lower, fc.upper) == (cells_1e9(point), cells_1e9(low), cells_1e9(high))
    assert (fc.probability_in_dose_range, fc.probability_at_least_lower) == (D(p_range), D(p_lower))
    # ... and agree with the matrix route and the closed-form t
    assert callable(cdf)
    raw = [(float(d), float(c) * 1e9) for d, c in counts_1e9]
    y0, se, lo, hi = _matrix_route(raw, float(harvest_day), t_closed)
    billion = D(10**9)
    assert fc.point.magnitude == round_cells_1e9(D(repr(math.exp(y0))) / billion)
    assert fc.lower.magnitude == round_cells_1e9(D(repr(lo)) / billion)
    assert fc.upper.magnitude == round_cells_1e9(D(repr(hi)) / billion)
    z_lower = (math.log(7.5e9) - y0) / se
    z_upper = (math.log(72e9) - y0) / se
    assert fc.probability_at_least_lower == three_dp(1 - cdf(z_lower))
    assert fc.probability_in_dose_range == three_dp(cdf(z_upper) - cdf(z_lower))
    assert fc.t_quantile == D(repr(t_closed)).quantize(D("0.0001"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize(
    ("p", "df", "table"),
    [(0.95, 1, "6.314"), (0.95, 2, "2.920"), (0.975, 10, "2.228"), (0.95, 30, "1.697")],
    ids=["NIST t(0.95,1)", "NIST t(0.95,2)", "NIST t(0.975,10)", "NIST t(0.95,30)"],
)
def test_t_quantile_matches_published_table(p: float, df: int, table: str) -> None:
    assert three_dp(student_t_quantile(p, df)) == D(table)
    assert three_dp(-student_t_quantile(1 - p, df)) == D(table)  # symmetry
    assert abs(student_t_cdf(student_t_quantile(p, df), df) - p) < 1e-12


def _noisy_counts(n: int) -> list[tuple[D | int, Quantity]]:
    # Deterministic scatter around 10⁶·e^(0.25·day): factors 1.1, 0.9, 1.05, 0.95 repeating.
    wobble = [D("1.1"), D("0.9"), D("1.05"), D("0.95")]
    return [
        (d, cells((D(10**6) * (D(d) / 4).exp() * wobble[d % 4]).quantize(D(1)))) for d in range(n)
    ]


@pytest.mark.parametrize(
    ("n", "level", "table"),
    [
        pytest.param(3, "0.90", "6.314", id="NIST t(0.95,1) df1 90%"),
        pytest.param(4, "0.90", "2.920", id="NIST t(0.95,2) df2 90%"),
        pytest.param(12, "0.95", "2.228", id="NIST t(0.975,10) df10 95%"),
        pytest.param(32, "0.90", "1.697", id="NIST t(0.95,30) df30 90%"),
    ],
)
def test_interval_uses_t_with_n_minus_2_df(n: int, level: str, table: str) -> None:
    """MPV: the half-width uses t(alpha/2, n − 2); the tabled t (3 decimals) brackets it."""
    counts = _noisy_counts(n)
    result = run(counts, n + 2, level=D(level))
    fc = result.forecast
    assert fc is not None and result.fit is not None
    assert result.fit.degrees_of_freedom == n - 2
    assert fc.t_quantile.quantize(D("0.001"), rounding=ROUND_HALF_UP) == D(table)
    raw = [(float(d), float(c.magnitude)) for d, c in counts]
    billion = D(10**9)
    bounds = []
    for t in (float(table) - 0.0005, float(table) + 0.0005):
        _, _, lo, hi = _matrix_route(raw, float(n + 2), t)
        bounds.append(
            (round_cells_1e9(D(repr(lo)) / billion), round_cells_1e9(D(repr(hi)) / billion))
        )
    (lo_narrow, hi_narrow), (lo_wide, hi_wide) = bounds
    assert lo_wide <= fc.lower.magnitude <= lo_narrow
    assert hi_narrow <= fc.upper.magnitude <= hi_wide


# Too few points, duplicates, order -------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2], ids=["MPV n=0", "MPV n=1", "MPV n=2 (0 df)"])
def test_too_few_points_is_a_status_not_an_error(n: int) -> None:
    result = run([(d, cells(10**6 * (d + 1))) for d in range(n)], 10)
    assert result.status is ForecastStatus.TOO_FEW_POINTS
    assert result.status.value == "too_few_points"
    assert result.points_needed == 3 - n
    assert result.fit is None and result.forecast is None
    assert f"at least 3 distinct days are needed ({3 - n} more)" in result.message


@pytest.mark.parametrize(
    "second_day", [2, D("2.0"), D(2)], ids=["int dup", "Decimal 2.0 dup", "Decimal dup"]
)
def test_duplicate_day_refused(second_day: D | int) -> None:
    counts: list[tuple[D | int, Quantity]] = [
        (0, cells(10**6)),
        (2, cells(2 * 10**6)),
        (second_day, cells(3 * 10**6)),
    ]
    with pytest.raises(ImplausibleInput, match=r"counts\[2\]\.day 2(\.0)? repeats the day of"):
        run(counts, 10)


def test_out_of_order_counts_are_sorted_and_recorded() -> None:
    ordered: list[tuple[D | int, Quantity]] = [(0, cells(10**6)), (2, cells(3 * 10**6))]
    ordered.append((4, cells(8 * 10**6)))
    shuffled = [ordered[2], ordered[0], ordered[1]]
    a, b = run(ordered, 6), run(shuffled, 6)
    assert (a.input_reordered, b.input_reordered) == (False, True)
    assert [p.day for p in b.counts] == [D(0), D(2), D(4)]
    assert (a.fit, a.forecast) == (b.fit, b.forecast)


def test_conversion_from_1e9_cells_is_recorded() -> None:
    result = run([(0, cells_1e9("0.1")), (1, cells(250_000_000)), (2, cells_1e9("0.55"))], 3)
    assert [p.viable_cells for p in result.counts] == [
        cells(100_000_000),
        cells(250_000_000),
        cells(550_000_000),
    ]
    assert [p.conversion for p in result.counts] == [
        "×10⁹ cells → cells (× 10⁹)",
        "given in cells",
        "×10⁹ cells → cells (× 10⁹)",
    ]
    assert result.dose_lower == cells(7_500_000_000)


def test_no_growth_has_no_doubling_time() -> None:
    result = run([(0, cells(10**6)), (1, cells(10**6)), (2, cells(9 * 10**5))], 3)
    assert result.fit is not None
    assert result.fit.doubling_time_days is None
    assert result.fit.growth_rate_per_day < 0


# Refusals name the field -----------------------------------------------------------------------

GOOD: list[tuple[D | int, Quantity]] = [(0, cells(10**6)), (1, cells(2 * 10**6))]


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"counts": [(0.0, cells(10**6))]}, FloatNotAllowed, r"counts\[0\]\.day 0\.0 is a float"),
        ({"counts": [(-1, cells(10**6))]}, ImplausibleInput, r"counts\[0\]\.day -1 .*minimum 0"),
        ({"counts": [(0, cells(0))]}, ImplausibleInput, r"counts\[0\]\.viable_cells .*than 0"),
        ({"counts": [(0, cells(-5))]}, ImplausibleInput, r"counts\[0\]\.viable_cells"),
        (
            {"counts": [(0, cells_1e9(10001))]},
            ImplausibleInput,
            r"counts\[0\]\.viable_cells 10001 ×10⁹ cells is above the plausible maximum 1E\+13",
        ),
        ({"counts": [(366, cells(10))]}, ImplausibleInput, r"counts\[0\]\.day 366 .*maximum 365"),
        ({"counts": [(0, 1000)]}, InvalidQuantity, r"counts\[0\]\.viable_cells 1000 must be a Q"),
        ({"counts": [(0, 1e6)]}, FloatNotAllowed, r"counts\[0\]\.viable_cells"),
        ({"counts": [(0, mg(5))]}, UnitMismatch, r"counts\[0\]\.viable_cells"),
        ({"counts": [(0, cells(1), 3)]}, InvalidQuantity, r"counts\[0\] .* pair"),
        ({"harvest_day": 0}, ImplausibleInput, "harvest_day 0 is before the last count day 1"),
        ({"harvest_day": 5.0}, FloatNotAllowed, "harvest_day 5.0 is a float"),
        ({"dose_lower": UPPER}, ImplausibleInput, "dose_upper .* greater than dose_lower"),
        ({"dose_lower": cells(0)}, ImplausibleInput, "dose_lower 0 cells must be greater"),
        ({"prediction_level": D(1)}, ImplausibleInput, "prediction_level 1 .*1 exclusive"),
        ({"prediction_level": 0.9}, FloatNotAllowed, "prediction_level 0.9 is a float"),
        ({"warn_below_probability": None}, MissingCenterSetting, "early-warning probability"),
        ({"warn_below_probability": D(0)}, ImplausibleInput, "warn_below_probability 0 must"),
        ({"warn_below_probability": 0.5}, FloatNotAllowed, "warn_below_probability 0.5"),
    ],
    ids=[
        "float day",
        "negative day",
        "zero count",
        "negative count",
        "count above 1e13",
        "day above 365",
        "bare int count",
        "float count",
        "wrong unit",
        "not a pair",
        "harvest before last count",
        "float harvest day",
        "dose range inverted",
        "zero dose limit",
        "level 100%",
        "float level",
        "threshold missing",
        "threshold 0",
        "float threshold",
    ],
)
def test_bad_input_refused_naming_the_field(
    kwargs: dict[str, object], error: type[Exception], fragment: str
) -> None:
    args: dict[str, object] = {
        "counts": GOOD,
        "harvest_day": 5,
        "dose_lower": LOWER,
        "dose_upper": UPPER,
        "warn_below_probability": D("0.5"),
        "prediction_level": D("0.90"),
    }
    args.update(kwargs)
    with pytest.raises(error, match=fragment):
        forecast_harvest(**args)  # type: ignore[arg-type]


def test_missing_threshold_names_the_center_setting() -> None:
    with pytest.raises(MissingCenterSetting) as info:
        run(GOOD, 5, warn_below=None)
    assert "center's manufacturing settings" in str(info.value)


def test_absurd_extrapolation_is_flagged_not_computed() -> None:
    """MPV: 3 scattered counts extrapolated 20 days give an upper bound above 10⁶ × 10⁹ cells."""
    result = run([(0, cells(100_000)), (1, cells(344_041)), (2, cells(100_000))], 22)
    assert result.forecast is not None
    assert result.forecast.beyond_reporting_limit is True
    assert result.forecast.upper == cells_1e9("1000000.00")
    assert result.message.endswith("above 1000000 ×10⁹ cells: the counts do not fit")


# Early warning at the threshold edge (day 5 case: P(≥ lower) = 0.272) --------------------------

DAY5: list[tuple[D | int, Quantity]] = [
    (0, cells_1e9("0.1")),
    (1, cells_1e9("0.25")),
    (2, cells_1e9("0.55")),
    (3, cells_1e9("1.3")),
]


@pytest.mark.parametrize(
    ("threshold", "warned"),
    [("0.272", False), ("0.273", True), ("0.271", False), ("1", True)],
    ids=["MPV P equals threshold", "MPV P just below", "MPV P just above", "threshold 1"],
)
def test_early_warning_edges(threshold: str, warned: bool) -> None:
    result = run(DAY5, 5, warn_below=D(threshold))
    assert result.forecast is not None
    assert result.forecast.probability_at_least_lower == D("0.272")
    assert result.forecast.early_warning is warned
    assert result.message.startswith("EARLY WARNING") is warned


# Properties ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    base=st.lists(st.integers(min_value=10**5, max_value=10**9), min_size=3, max_size=6),
    factor=st.integers(min_value=1, max_value=200),
    extra_days=st.integers(min_value=0, max_value=20),
)
def test_higher_forecast_never_lowers_probability(
    base: list[int], factor: int, extra_days: int
) -> None:
    """MPV: scaling every count up raises ŷ0 and leaves s unchanged; P(≥ lower) cannot fall."""
    counts: list[tuple[D | int, Quantity]] = [(d, cells(c)) for d, c in enumerate(base)]
    scaled: list[tuple[D | int, Quantity]] = [(d, cells(c * factor)) for d, c in enumerate(base)]
    harvest = len(base) - 1 + extra_days
    low, high = run(counts, harvest), run(scaled, harvest)
    assert low.forecast is not None and high.forecast is not None
    assert high.forecast.point >= low.forecast.point
    assert high.forecast.probability_at_least_lower >= low.forecast.probability_at_least_lower
    for fc in (low.forecast, high.forecast):
        assert fc.probability_in_dose_range <= fc.probability_at_least_lower
        assert D(0) <= fc.probability_in_dose_range <= D(1)


@settings(max_examples=80, deadline=None)
@given(
    p=st.floats(min_value=0.001, max_value=0.999),
    df=st.integers(min_value=1, max_value=60),
)
def test_t_quantile_inverts_cdf(p: float, df: int) -> None:
    assert abs(student_t_cdf(student_t_quantile(p, df), df) - p) < 1e-10


def test_t_helpers_refuse_bad_arguments() -> None:
    with pytest.raises(InvalidQuantity, match="degrees of freedom 0"):
        student_t_cdf(1.0, 0)
    with pytest.raises(InvalidQuantity, match=r"probability 1\.0 must be strictly between 0 and 1"):
        student_t_quantile(1.0, 5)
    assert round_probability(D("0.0005")) == D("0.001")  # half up


def test_without_an_upper_limit_the_dose_range_is_at_least_the_lower_limit() -> None:
    # NKI phase 3 (Rohaan et al., NEJM 2022, abstract): "at least 5×10⁹" TILs and no maximum:
    # the chance of the dose range is the chance of reaching the lower limit.
    counts = [(0, cells_1e9("0.05")), (3, cells_1e9("0.4")), (5, cells_1e9("1.1"))]
    result = forecast_harvest(
        counts,
        harvest_day=11,
        dose_lower=cells_1e9(5),
        dose_upper=None,
        warn_below_probability=D("0.5"),
    )
    assert result.dose_upper is None
    assert result.forecast is not None
    assert result.forecast.probability_in_dose_range == result.forecast.probability_at_least_lower
