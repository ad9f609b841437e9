"""Co-culture reactivity metric and ranking of pre-REP cultures.

There is no settled published source for the thresholds (module docstring): every case uses
example center settings, named "center setting" in the ids, and the arithmetic is the module's
definition ("metric def": difference = tumor − control, fold = tumor ÷ control).
"""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilcare.clinical.manufacturing.expansion import MissingCenterSetting
from tilcare.clinical.manufacturing.reactivity import (
    CD137_DIFFERENCE,
    IFN_DIFFERENCE,
    IFN_FOLD,
    CoCultureReadout,
    ReactivityRanking,
    rank_cultures,
)
from tilcare.clinical.units import (
    FloatNotAllowed,
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
)


def pg(value: str | int) -> Quantity:
    return Quantity.of(value, Unit.pg_per_ml)


def pct(value: str | int) -> Quantity:
    return Quantity.of(value, Unit.percent)


def readout(cid: str, ifn_t: str, ifn_c: str, cd_t: str, cd_c: str) -> CoCultureReadout:
    return CoCultureReadout(cid, pg(ifn_t), pg(ifn_c), pct(cd_t), pct(cd_c))


# Example center settings: IFN-gamma difference >= 200 pg/mL, fold >= 2, CD137 >= 5 points.
def rank(*readouts: CoCultureReadout, **overrides: object) -> ReactivityRanking:
    kwargs: dict[str, object] = {
        "min_ifn_gamma_difference": pg(200),
        "min_ifn_gamma_fold": D(2),
        "min_cd137_difference": pct(5),
    }
    kwargs.update(overrides)
    return rank_cultures(readouts, **kwargs)  # type: ignore[arg-type]


def test_values_of_one_row() -> None:
    """metric def: 650 − 150 = 500 pg/mL; 650 ÷ 150 = 4.333 -> 4.33; 12.5 − 2.0 = 10.5 points."""
    row = rank(readout("F3", "650", "150", "12.5", "2.0")).rows[0]
    assert (row.rank, row.culture_id) == (1, "F3")
    assert row.ifn_gamma_difference_pg_per_ml == D(500)
    assert row.ifn_gamma_fold == D("4.33")
    assert row.ifn_gamma_fold_unrounded == D(650) / D(150)
    assert row.cd137_difference_points == D("10.5")
    assert row.thresholds_met == (IFN_DIFFERENCE, IFN_FOLD, CD137_DIFFERENCE)
    assert row.reactive is True


def test_ranking_reactive_first_then_difference_then_cd137_then_id() -> None:
    """center setting 200/2/5: reactive before non-reactive even with a larger difference."""
    result = rank(
        readout("F1", "300", "100", "8", "1"),  # reactive, diff 200, cd 7
        readout("F2", "5000", "4000", "30", "1"),  # diff 1000 but fold 1.25: not reactive
        readout("F3", "700", "100", "6", "1"),  # reactive, diff 600, cd 5
        readout("F4", "400", "200", "9", "1"),  # reactive, diff 200, cd 8 -> before F1
        readout("F0", "400", "200", "9", "1"),  # tie with F4 on every value -> id order
        readout("F5", "100", "100", "1", "1"),  # nothing met
    )
    assert [(r.rank, r.culture_id, r.reactive) for r in result.rows] == [
        (1, "F3", True),
        (2, "F0", True),
        (3, "F4", True),
        (4, "F1", True),
        (5, "F2", False),
        (6, "F5", False),
    ]
    assert result.rows[4].thresholds_met == (IFN_DIFFERENCE, CD137_DIFFERENCE)
    assert result.rows[5].thresholds_met == ()
    assert "person" in result.use


@pytest.mark.parametrize(
    ("values", "met", "reactive"),
    [
        # IFN-gamma difference edge: 400 − 200 = 200 (met) vs 399.9 − 199.95 = 199.95 (not met)
        (("400", "200", "10", "0"), (IFN_DIFFERENCE, IFN_FOLD, CD137_DIFFERENCE), True),
        (("399.9", "199.95", "10", "0"), (IFN_FOLD, CD137_DIFFERENCE), False),
        # Fold edge: 600 ÷ 300 = 2 (met) vs 599.99 ÷ 300 = 1.99997 (not met, shown 2.00)
        (("600", "300", "10", "0"), (IFN_DIFFERENCE, IFN_FOLD, CD137_DIFFERENCE), True),
        (("599.99", "300", "10", "0"), (IFN_DIFFERENCE, CD137_DIFFERENCE), False),
        # CD137 edge: 7.5 − 2.5 = 5 points (met) vs 7.49 − 2.5 = 4.99 (not met)
        (("1000", "100", "7.5", "2.5"), (IFN_DIFFERENCE, IFN_FOLD, CD137_DIFFERENCE), True),
        (("1000", "100", "7.49", "2.5"), (IFN_DIFFERENCE, IFN_FOLD), False),
    ],
    ids=[
        "center setting IFN diff = 200 met",
        "center setting IFN diff 199.95 not met",
        "center setting fold = 2 met",
        "center setting fold 1.99997 not met",
        "center setting CD137 = 5 met",
        "center setting CD137 4.99 not met",
    ],
)
def test_threshold_edges_both_sides(
    values: tuple[str, str, str, str], met: tuple[str, ...], reactive: bool
) -> None:
    row = rank(readout("C1", *values)).rows[0]
    assert row.thresholds_met == met
    assert row.reactive is reactive


def test_fold_shown_rounded_but_compared_unrounded() -> None:
    """599.99 ÷ 300 = 1.99997: displayed 2.00 (round_fold), threshold 2 not met."""
    row = rank(readout("C1", "599.99", "300", "10", "0")).rows[0]
    assert row.ifn_gamma_fold == D("2.00")
    assert row.ifn_gamma_fold_met is False


@pytest.mark.parametrize(
    ("values", "reactive", "fold_met"),
    [
        (("250", "0", "6", "0"), True, None),  # fold not computable; diff and CD137 met
        (("150", "0", "6", "0"), False, None),  # diff 150 < 200
        (("0", "0", "6", "0"), False, None),  # no IFN-gamma at all
    ],
    ids=[
        "metric def zero control reactive on diff+CD137",
        "metric def zero control diff below",
        "metric def zero control and tumor",
    ],
)
def test_zero_control(values: tuple[str, str, str, str], reactive: bool, fold_met: None) -> None:
    row = rank(readout("Z", *values)).rows[0]
    assert row.ifn_gamma_fold is None and row.ifn_gamma_fold_unrounded is None
    assert row.ifn_gamma_fold_met is fold_met
    assert IFN_FOLD not in row.thresholds_met
    assert row.reactive is reactive
    assert "fold not computable" in row.note


def test_zero_control_ranks_on_difference() -> None:
    """metric def: a zero-control culture ranks by its IFN-gamma difference among the reactive."""
    result = rank(
        readout("A", "300", "0", "6", "0"),  # diff 300, fold n/a
        readout("B", "900", "100", "6", "0"),  # diff 800, fold 9
        readout("C", "250", "50", "6", "0"),  # diff 200, fold 5
    )
    assert [r.culture_id for r in result.rows] == ["B", "A", "C"]


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"min_ifn_gamma_difference": None}, [IFN_DIFFERENCE]),
        ({"min_ifn_gamma_fold": None}, [IFN_FOLD]),
        ({"min_cd137_difference": None}, [CD137_DIFFERENCE]),
        (
            {
                "min_ifn_gamma_difference": None,
                "min_ifn_gamma_fold": None,
                "min_cd137_difference": None,
            },
            [IFN_DIFFERENCE, IFN_FOLD, CD137_DIFFERENCE],
        ),
    ],
    ids=["center setting IFN diff missing", "fold missing", "CD137 missing", "all missing"],
)
def test_missing_thresholds_refused_naming_them(
    overrides: dict[str, object], names: list[str]
) -> None:
    with pytest.raises(MissingCenterSetting) as info:
        rank(readout("C1", "400", "100", "10", "0"), **overrides)
    message = str(info.value)
    for name in names:
        assert f"'{name}'" in message
    assert "center's manufacturing settings" in message


def test_thresholds_are_required_keywords() -> None:
    with pytest.raises(TypeError, match="min_ifn_gamma_fold"):
        rank_cultures((), min_ifn_gamma_difference=pg(1), min_cd137_difference=pct(1))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"min_ifn_gamma_fold": 2.0}, FloatNotAllowed, "min_ifn_gamma_fold 2.0 is a float"),
        ({"min_ifn_gamma_fold": D(0)}, ImplausibleInput, "min_ifn_gamma_fold 0 must be greater"),
        ({"min_ifn_gamma_difference": pct(5)}, UnitMismatch, "min_ifn_gamma_difference"),
        ({"min_ifn_gamma_difference": D(200)}, InvalidQuantity, "must be a Quantity in pg/mL"),
        ({"min_cd137_difference": pct(101)}, ImplausibleInput, "outside 0 to 100 %"),
    ],
    ids=["float fold", "zero fold", "IFN threshold in %", "bare threshold", "CD137 over 100"],
)
def test_bad_thresholds_refused(
    overrides: dict[str, object], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        rank(readout("C1", "400", "100", "10", "0"), **overrides)


@pytest.mark.parametrize(
    ("bad", "error", "fragment"),
    [
        (readout("C1", "-1", "0", "1", "0"), ImplausibleInput, "C1 ifn_gamma_tumor -1 pg/mL"),
        (readout("C1", "1", "1", "100.1", "0"), ImplausibleInput, "C1 cd137_tumor 100.1 %"),
        (
            CoCultureReadout("C1", pct(1), pg(1), pct(1), pct(1)),
            UnitMismatch,
            "C1 ifn_gamma_tumor",
        ),
        (readout("", "1", "1", "1", "1"), InvalidQuantity, "culture_id '' must be a non-empty"),
    ],
    ids=["negative IFN", "CD137 over 100", "IFN in percent", "empty id"],
)
def test_bad_readouts_refused(bad: CoCultureReadout, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        rank(bad)


def test_duplicate_culture_refused() -> None:
    with pytest.raises(ImplausibleInput, match="culture_id F1 appears twice"):
        rank(readout("F1", "1", "1", "1", "1"), readout("F1", "2", "1", "1", "1"))


values = st.decimals(min_value=0, max_value=5000, places=1)
percents = st.decimals(min_value=0, max_value=100, places=1)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.tuples(values, values, percents, percents), min_size=1, max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_ranking_is_order_independent_and_reactive_first(
    data: list[tuple[D, D, D, D]], order: random.Random
) -> None:
    """Property: shuffling the input never changes the ranking; reactive rows come first."""
    items = [
        CoCultureReadout(f"C{i}", pg(str(a)), pg(str(b)), pct(str(c)), pct(str(d)))
        for i, (a, b, c, d) in enumerate(data)
    ]
    shuffled = list(items)
    order.shuffle(shuffled)
    first, second = rank(*items), rank(*shuffled)
    assert first.rows == second.rows
    flags = [r.reactive for r in first.rows]
    assert flags == sorted(flags, reverse=True)
    assert [r.rank for r in first.rows] == list(range(1, len(items) + 1))
