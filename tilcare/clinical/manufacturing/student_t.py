"""Student's t distribution: CDF and quantile, for the expansion forecast's intervals.

Binary floats are used here on purpose: these are statistics about a forecast, never a dose; the
callers turn the results back into Decimal and round them through named functions.
Method: the CDF from the regularised incomplete beta function, I_x(df/2, 1/2) with x = df/(df+t²),
evaluated by its continued fraction (modified Lentz); the quantile by bisection on the CDF.
Reference: Press WH et al., Numerical Recipes, 3rd ed., §6.4 and §6.14.
"""

from __future__ import annotations

import math

from tilcare.clinical.units import InvalidQuantity


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    # Modified Lentz evaluation of the incomplete-beta continued fraction.
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        for aa in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            return h
    raise ArithmeticError("incomplete beta continued fraction did not converge")


def _regularised_incomplete_beta(a: float, b: float, x: float, one_minus_x: float) -> float:
    """I_x(a, b); ``one_minus_x`` is passed separately to avoid cancellation near x = 1."""
    if x <= 0.0:
        return 0.0
    if one_minus_x <= 0.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log(one_minus_x)
    )  # fmt: skip
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, one_minus_x) / b


def student_t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (float, internal statistics)."""
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise InvalidQuantity(f"degrees of freedom {df!r} must be an int >= 1.")
    if math.isnan(t):
        raise InvalidQuantity("t is not a number.")
    if math.isinf(t) or abs(t) > 1e150:
        return 1.0 if t > 0 else 0.0
    t2 = t * t
    tail = 0.5 * _regularised_incomplete_beta(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))
    return 1.0 - tail if t > 0 else tail


def student_t_quantile(p: float, df: int) -> float:
    """t such that P(T <= t) = p, by bisection on ``student_t_cdf`` (float, internal)."""
    if not 0.0 < p < 1.0:
        raise InvalidQuantity(f"probability {p!r} must be strictly between 0 and 1.")
    if p < 0.5:  # the t distribution is symmetric about 0
        return -student_t_quantile(1.0 - p, df)
    if student_t_cdf(0.0, df) == p:  # p = 0.5; the call also refuses an invalid df
        return 0.0
    low, high = 0.0, 1.0
    while student_t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if student_t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low <= 1e-13 * high:
            break
    return (low + high) / 2.0
