"""RECIST 1.1 tests; worked examples computed by hand from Eisenhauer 2009 section 4.3.

Series cases follow clinical-reference.md section 7 (nadir incl. baseline, PD >= 20 % and >= 5 mm
over nadir, CR needs every target and non-target node < 10 mm).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.response.recist_1_1 import (
    NonTargetStatus as NT,
)
from tilcare.clinical.response.recist_1_1 import (
    OverallResponse as O,
)
from tilcare.clinical.response.recist_1_1 import (
    RecistInputError,
    TargetLesion,
    TargetSelection,
    TimePoint,
    best_overall_response,
    evaluate_series,
    non_target_with_nodes,
    overall_response,
    target_response,
    validate_targets,
)
from tilcare.clinical.response.recist_1_1 import (
    TargetResponse as T,
)

SRC = "Eisenhauer 2009 s4.3.1"


@pytest.mark.parametrize(
    ("base", "nadir", "follow", "expected", "pct_base", "pct_nadir"),
    [
        # 100 -> 70: (70-100)/100 = -30.0% -> PR (exactly 30% is PR)
        ("100", "100", "70", T.PR, "-30.0", "-30.0"),
        # 100 -> 71: -29.0% -> SD
        ("100", "100", "71", T.SD, "-29.0", "-29.0"),
        # nadir 50 -> 60: +20.0%, +10 mm -> PD (exactly 20% is PD)
        ("100", "50", "60", T.PD, "-40.0", "20.0"),
        # nadir 50 -> 59: +18.0% -> PR still vs baseline (-41%)
        ("100", "50", "59", T.PR, "-41.0", "18.0"),
        # nadir 20 -> 24: +20% but only +4 mm -> not PD; -76% vs baseline -> PR
        ("100", "20", "24", T.PR, "-76.0", "20.0"),
        # baseline=nadir 20 -> 24: +20%, +4 mm -> SD
        ("20", "20", "24", T.SD, "20.0", "20.0"),
        # baseline=nadir 25 -> 30: +20%, +5 mm -> PD
        ("25", "25", "30", T.PD, "20.0", "20.0"),
    ],
    ids=[
        f"{SRC} {x}"
        for x in [
            "PR exact 30%",
            "SD 29%",
            "PD exact 20% +10mm",
            "PR 18% vs nadir",
            "not PD +4mm (PR)",
            "SD +20% +4mm",
            "PD +20% +5mm",
        ]
    ],
)
def test_target_response_worked_examples(
    base: str, nadir: str, follow: str, expected: T, pct_base: str, pct_nadir: str
) -> None:
    r = target_response(
        baseline_sum_mm=D(base), nadir_sum_mm=D(nadir), measurements_mm=((False, D(follow)),)
    )
    assert r.response is expected
    assert r.sum_mm == D(follow)
    assert r.change_from_baseline_percent == D(pct_base)
    assert r.change_from_nadir_percent == D(pct_nadir)
    assert r.source.startswith("RECIST 1.1")


@pytest.mark.parametrize(
    ("meas", "expected"),
    [
        (((False, D(0)), (True, D(8))), T.CR),  # residual node 8 mm: CR, sum 8 mm
        (((False, D(0)), (True, D("9.9"))), T.CR),
        (((False, D(0)), (True, D(10))), T.PR),  # node 10 mm not normal -> not CR
        (((False, D(1)), (True, D(8))), T.PR),
    ],
    ids=["RECIST CR node 8mm", "RECIST CR node 9.9mm", "RECIST node 10mm not CR", "RECIST 1mm"],
)
def test_complete_response_with_nodes(meas: tuple[tuple[bool, D], ...], expected: T) -> None:
    r = target_response(baseline_sum_mm=D(50), nadir_sum_mm=D(50), measurements_mm=meas)
    assert r.response is expected


def _les(i: str, organ: str, node: bool, mm: str) -> TargetLesion:
    return TargetLesion(i, organ, node, D(mm))


@pytest.mark.parametrize(
    ("lesions", "fragment"),
    [
        (tuple(_les(f"L{i}", f"o{i}", False, "20") for i in range(6)), "max 5 target"),
        (tuple(_les(f"L{i}", "liver", False, "20") for i in range(3)), "per organ; organ liver"),
        ((_les("L1", "lung", False, "9.9"),), "L1: non-nodal target"),
        ((_les("N1", "node", True, "14.9"),), "N1: nodal target short axis"),
        ((_les("N2", "node", True, "9"),), "normal"),
    ],
    ids=[
        "RECIST >5 total",
        "RECIST >2 per organ",
        "RECIST non-nodal <10mm",
        "RECIST node 14.9 non-target",
        "RECIST node <10 normal",
    ],
)
def test_target_selection_refusals(lesions: tuple[TargetLesion, ...], fragment: str) -> None:
    with pytest.raises(RecistInputError, match=fragment):
        validate_targets(lesions)


def test_target_selection_valid_edges() -> None:
    """RECIST 1.1: non-nodal 10 mm and node 15 mm are measurable; sum includes node axis."""
    sel = validate_targets((_les("L1", "lung", False, "10"), _les("N1", "node", True, "15")))
    assert sel.baseline_sum_mm == D(25)


def test_float_refused() -> None:
    with pytest.raises(RecistInputError, match="Decimal"):
        target_response(
            baseline_sum_mm=100.0,  # type: ignore[arg-type]
            nadir_sum_mm=D(100),
            measurements_mm=((False, D(1)),),
        )


@pytest.mark.parametrize(
    ("t", "nt", "new", "expected"),
    [
        (T.CR, NT.CR, False, O.CR),
        (T.CR, NT.NON_CR_NON_PD, False, O.PR),
        (T.CR, NT.NOT_EVALUATED, False, O.PR),
        (T.PR, NT.NON_CR_NON_PD, False, O.PR),
        (T.PR, NT.NOT_EVALUATED, False, O.PR),
        (T.SD, NT.NOT_EVALUATED, False, O.SD),
        (None, NT.NON_CR_NON_PD, False, O.NE),
        (T.CR, NT.CR, True, O.PD),
        (T.SD, NT.PD, False, O.PD),
        (T.PD, NT.CR, False, O.PD),
    ],
    ids=[
        "T1 CR",
        "T1 CR+nonCR",
        "T1 CR+NE",
        "T1 PR",
        "T1 PR+NE",
        "T1 SD+NE",
        "T1 NE",
        "T1 new lesion PD",
        "T1 non-target PD",
        "T1 target PD",
    ],
)
def test_overall_response_table1(t: T | None, nt: NT, new: bool, expected: O) -> None:
    assert overall_response(target=t, non_target=nt, new_lesions=new).response is expected


@pytest.mark.parametrize(
    ("seq", "min_sd", "expected"),
    [
        (((42, O.SD), (84, O.PR), (126, O.PD)), None, O.PR),
        (((42, O.PR), (84, O.CR)), None, O.CR),
        (((42, O.PD),), None, O.PD),
        (((42, O.SD), (84, O.PD)), None, O.SD),
        (((42, O.SD), (84, O.PD)), 49, O.PD),
        (((42, O.NE),), None, O.NE),
    ],
    ids=["BOR PR", "BOR CR", "BOR PD", "BOR SD", "BOR SD too early", "BOR NE"],
)
def test_best_overall_response(
    seq: tuple[tuple[int, O], ...], min_sd: int | None, expected: O
) -> None:
    assert best_overall_response(seq, min_sd_days=min_sd).response is expected


_ORDER = {T.CR: 4, T.PR: 3, T.SD: 2, T.PD: 1}
mm = st.decimals(min_value=0, max_value=500, places=1)


@given(base=mm.filter(lambda x: x > 0), f=st.data())
def test_larger_sum_never_better(base: D, f: st.DataObject) -> None:
    """Property: at same baseline/nadir, a larger sum never gives a better target response."""
    nadir = f.draw(st.decimals(min_value=0, max_value=base, places=1))
    a = f.draw(mm)
    b = f.draw(mm)
    small, large = min(a, b), max(a, b)
    rs = target_response(
        baseline_sum_mm=base, nadir_sum_mm=nadir, measurements_mm=((False, small),)
    )
    rl = target_response(
        baseline_sum_mm=base, nadir_sum_mm=nadir, measurements_mm=((False, large),)
    )
    assert _ORDER[rl.response] <= _ORDER[rs.response]


# Series over time (RECIST 1.1, clinical-reference.md section 7) --------------------------------


SER = "Eisenhauer 2009 s4.3 (ref s7)"


def _tp(
    day: int,
    mm: tuple[str, ...] | None,
    nt: NT = NT.NON_CR_NON_PD,
    new: bool = False,
    nodes: tuple[str, ...] = (),
) -> TimePoint:
    meas = None if mm is None else tuple(D(x) for x in mm)
    return TimePoint(day, meas, nt, new, tuple(D(x) for x in nodes))


TWO_LESIONS = validate_targets((_les("L1", "lung", False, "30"), _les("L2", "liver", False, "20")))


def test_series_nadir_and_change_from_nadir() -> None:
    """Given baseline 50 mm, sums 35, 25, 30: nadir falls to 25, then +20 % and +5 mm is PD."""
    series = evaluate_series(
        TWO_LESIONS, (_tp(42, ("20", "15")), _tp(84, ("15", "10")), _tp(126, ("18", "12")))
    )
    rows = [
        (
            a.nadir_before_mm,
            a.target.sum_mm if a.target else None,
            a.target.change_from_baseline_percent if a.target else None,
            a.target.change_from_nadir_percent if a.target else None,
            a.overall.response,
        )
        for a in series.time_points
    ]
    assert rows == [
        (D(50), D(35), D("-30.0"), D("-30.0"), O.PR),  # (35-50)/50 = -30 % -> PR
        (D(35), D(25), D("-50.0"), D("-28.6"), O.PR),  # (25-35)/35 = -28.57 %
        (D(25), D(30), D("-40.0"), D("20.0"), O.PD),  # +20 % and +5 mm over nadir 25
    ]
    assert series.nadir_sum_mm == D(25)
    assert series.first_pd_day == 126
    assert series.best.response is O.PR


@pytest.mark.parametrize(
    ("baseline", "points", "expected"),
    [
        # nadir 10 mm (baseline) -> 12 mm: +20 % but +2 mm -> not PD, SD
        (("10",), [("12",)], [O.SD]),
        # baseline 40, nadir 10 -> 12: +20 %, +2 mm -> not PD; still -70 % vs baseline -> PR
        (("20", "20"), [("5", "5"), ("6", "6")], [O.PR, O.PR]),
        # nadir 10 -> 15: +50 %, +5 mm -> PD (both criteria met)
        (("20", "20"), [("5", "5"), ("8", "7")], [O.PR, O.PD]),
        # nadir 25 -> 29.9: +19.6 %, +4.9 mm -> neither; -40.2 % vs baseline 50 -> PR
        (("30", "20"), [("15", "10"), ("17.9", "12")], [O.PR, O.PR]),
    ],
    ids=[
        f"{SER} nadir 10 to 12 +20% +2mm not PD",
        f"{SER} nadir 10 to 12 after shrink not PD",
        f"{SER} nadir 10 to 15 PD",
        f"{SER} nadir 25 to 29.9 not PD",
    ],
)
def test_series_pd_needs_20_percent_and_5_mm(
    baseline: tuple[str, ...], points: list[tuple[str, ...]], expected: list[O]
) -> None:
    lesions = tuple(_les(f"L{i}", f"o{i}", False, mm) for i, mm in enumerate(baseline))
    series = evaluate_series(
        validate_targets(lesions), tuple(_tp(42 * (i + 1), p) for i, p in enumerate(points))
    )
    assert [a.overall.response for a in series.time_points] == expected


NODE_BASELINE = validate_targets((_les("L1", "lung", False, "20"), _les("N1", "node", True, "15")))


@pytest.mark.parametrize(
    ("nodes", "expected", "nt_effective"),
    [
        (("9.9",), O.CR, NT.CR),
        (("10",), O.PR, NT.NON_CR_NON_PD),  # node 10 mm is pathological: no CR
        (("4", "12"), O.PR, NT.NON_CR_NON_PD),
        ((), O.CR, NT.CR),
    ],
    ids=[
        f"{SER} non-target node 9.9mm CR",
        f"{SER} non-target node 10mm prevents CR",
        f"{SER} one of two nodes 12mm prevents CR",
        f"{SER} no non-target nodes CR",
    ],
)
def test_series_cr_needs_non_target_nodes_below_10mm(
    nodes: tuple[str, ...], expected: O, nt_effective: NT
) -> None:
    """Given target CR (lung 0 mm, target node 8 mm) and the reader's non-target CR."""
    series = evaluate_series(NODE_BASELINE, (_tp(42, ("0", "8"), NT.CR, nodes=nodes),))
    point = series.time_points[0]
    assert point.target is not None and point.target.response is T.CR
    assert point.non_target_given is NT.CR
    assert point.non_target is nt_effective
    assert point.overall.response is expected


def test_target_node_10mm_prevents_cr_in_series() -> None:
    """RECIST 1.1 CR: target node at 10 mm short axis is not normal -> target PR, overall PR."""
    series = evaluate_series(NODE_BASELINE, (_tp(42, ("0", "10"), NT.CR),))
    assert series.time_points[0].overall.response is O.PR


def test_non_target_node_rule_message_names_the_limit() -> None:
    status, rule = non_target_with_nodes(NT.CR, (D("10"),))
    assert status is NT.NON_CR_NON_PD
    assert "10 mm >= 10 mm" in rule
    # Non-CR statuses pass through unchanged.
    assert non_target_with_nodes(NT.PD, (D("10"),))[0] is NT.PD


@pytest.mark.parametrize(
    ("points", "min_sd", "expected", "first_pd"),
    [
        # SD, PD, then a later PR: the PR after progression is not counted
        ([_tp(42, ("30", "20")), _tp(84, ("40", "30")), _tp(126, ("10", "5"))], None, O.SD, 84),
        # PR, CR: best CR
        (
            [_tp(42, ("20", "10")), _tp(84, ("0", "0"), NT.CR)],
            None,
            O.CR,
            None,
        ),
        # SD at day 42 only, SD minimum 49 days, then new lesion -> PD
        ([_tp(42, ("30", "20")), _tp(84, ("30", "20"), new=True)], 49, O.PD, 84),
        # targets not evaluated -> NE; nadir unchanged
        ([_tp(42, None)], None, O.NE, None),
    ],
    ids=[
        f"{SER} BOR SD, PR after PD ignored",
        f"{SER} BOR CR",
        f"{SER} BOR SD too early then PD",
        f"{SER} BOR NE",
    ],
)
def test_series_best_overall_response(
    points: list[TimePoint], min_sd: int | None, expected: O, first_pd: int | None
) -> None:
    series = evaluate_series(TWO_LESIONS, tuple(points), min_sd_days=min_sd)
    assert series.best.response is expected
    assert series.first_pd_day == first_pd


def test_series_not_evaluated_keeps_nadir() -> None:
    series = evaluate_series(TWO_LESIONS, (_tp(42, ("20", "10")), _tp(84, None)))
    assert [a.nadir_before_mm for a in series.time_points] == [D(50), D(30)]
    assert series.time_points[1].target is None
    assert series.nadir_sum_mm == D(30)


@pytest.mark.parametrize(
    ("points", "fragment"),
    [
        (
            (_tp(42, ("1", "1")), _tp(42, ("1", "1"))),
            "days_since_baseline = 42 must be an int > 42",
        ),
        ((_tp(0, ("1", "1")),), "must be an int > 0"),
        ((_tp(42, ("1",)),), "day 42: measurements_mm has 1 values for 2 target lesions"),
        ((_tp(42, ("1", "1"), nodes=("-1",)),), "non_target_nodes_mm = -1 mm is outside"),
    ],
    ids=["repeated day", "day 0", "missing lesion", "negative node"],
)
def test_series_refusals(points: tuple[TimePoint, ...], fragment: str) -> None:
    with pytest.raises(RecistInputError, match=fragment):
        evaluate_series(TWO_LESIONS, points)


def test_series_float_node_refused() -> None:
    point = TimePoint(42, (D(1), D(1)), NT.CR, False, (9.0,))  # type: ignore[arg-type]
    with pytest.raises(RecistInputError, match="non_target_nodes_mm must be a Decimal"):
        evaluate_series(TWO_LESIONS, (point,))


@given(sums=st.lists(st.decimals(min_value=0, max_value=200, places=1), min_size=1, max_size=8))
def test_series_nadir_is_smallest_earlier_sum(sums: list[D]) -> None:
    """Property: nadir before each time point = min(baseline, all earlier sums)."""
    baseline = TargetSelection((_les("L1", "lung", False, "100"),), D(100))
    series = evaluate_series(
        baseline, tuple(_tp(7 * (i + 1), (str(s),)) for i, s in enumerate(sums))
    )
    for i, point in enumerate(series.time_points):
        assert point.nadir_before_mm == min([D(100), *sums[:i]])
    assert series.nadir_sum_mm == min([D(100), *sums])
