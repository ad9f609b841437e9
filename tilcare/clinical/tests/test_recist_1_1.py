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
# The protocol's minimum interval for SD ("in general not less than 6-8 weeks"); 6 weeks here.
MIN_SD = 42


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
        (((42, O.SD), (84, O.PR), (126, O.PD)), MIN_SD, O.PR),
        (((42, O.PR), (84, O.CR)), MIN_SD, O.CR),
        (((42, O.PD),), MIN_SD, O.PD),
        (((42, O.SD), (84, O.PD)), MIN_SD, O.SD),
        (((42, O.SD), (84, O.PD)), 49, O.PD),
        (((42, O.SD),), 56, O.NE),
        (((42, O.NE),), MIN_SD, O.NE),
    ],
    ids=[
        "BOR PR",
        "BOR CR",
        "BOR PD",
        "BOR SD",
        "BOR SD too early",
        "BOR SD too early only NE",
        "BOR NE",
    ],
)
def test_best_overall_response(seq: tuple[tuple[int, O], ...], min_sd: int, expected: O) -> None:
    # Source: Eisenhauer 2009, best overall response: SD must be met "at least once after study
    # entry at a minimum interval ... defined in the study protocol"; otherwise NE (or PD after).
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
        TWO_LESIONS,
        (_tp(42, ("20", "15")), _tp(84, ("15", "10")), _tp(126, ("18", "12"))),
        min_sd_days=MIN_SD,
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
        validate_targets(lesions),
        tuple(_tp(42 * (i + 1), p) for i, p in enumerate(points)),
        min_sd_days=MIN_SD,
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
    series = evaluate_series(
        NODE_BASELINE, (_tp(42, ("0", "8"), NT.CR, nodes=nodes),), min_sd_days=MIN_SD
    )
    point = series.time_points[0]
    assert point.target is not None and point.target.response is T.CR
    assert point.non_target_given is NT.CR
    assert point.non_target is nt_effective
    assert point.overall.response is expected


def test_target_node_10mm_prevents_cr_in_series() -> None:
    """RECIST 1.1 CR: target node at 10 mm short axis is not normal -> target PR, overall PR."""
    series = evaluate_series(NODE_BASELINE, (_tp(42, ("0", "10"), NT.CR),), min_sd_days=MIN_SD)
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
        ([_tp(42, ("30", "20")), _tp(84, ("40", "30")), _tp(126, ("10", "5"))], MIN_SD, O.SD, 84),
        # PR, CR: best CR
        (
            [_tp(42, ("20", "10")), _tp(84, ("0", "0"), NT.CR)],
            MIN_SD,
            O.CR,
            None,
        ),
        # SD at day 42 only, SD minimum 49 days, then new lesion -> PD
        ([_tp(42, ("30", "20")), _tp(84, ("30", "20"), new=True)], 49, O.PD, 84),
        # targets not evaluated -> NE; nadir unchanged
        ([_tp(42, None)], MIN_SD, O.NE, None),
    ],
    ids=[
        f"{SER} BOR SD, PR after PD ignored",
        f"{SER} BOR CR",
        f"{SER} BOR SD too early then PD",
        f"{SER} BOR NE",
    ],
)
def test_series_best_overall_response(
    points: list[TimePoint], min_sd: int, expected: O, first_pd: int | None
) -> None:
    series = evaluate_series(TWO_LESIONS, tuple(points), min_sd_days=min_sd)
    assert series.best.response is expected
    assert series.first_pd_day == first_pd


def test_series_not_evaluated_keeps_nadir() -> None:
    series = evaluate_series(
        TWO_LESIONS, (_tp(42, ("20", "10")), _tp(84, None)), min_sd_days=MIN_SD
    )
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
        evaluate_series(TWO_LESIONS, points, min_sd_days=MIN_SD)


def test_series_float_node_refused() -> None:
    point = TimePoint(42, (D(1), D(1)), NT.CR, False, (9.0,))  # type: ignore[arg-type]
    with pytest.raises(RecistInputError, match="non_target_nodes_mm must be a Decimal"):
        evaluate_series(TWO_LESIONS, (point,), min_sd_days=MIN_SD)


@given(sums=st.lists(st.decimals(min_value=0, max_value=200, places=1), min_size=1, max_size=8))
def test_series_nadir_is_smallest_earlier_sum(sums: list[D]) -> None:
    """Property: nadir before each time point = min(baseline, all earlier sums)."""
    baseline = TargetSelection((_les("L1", "lung", False, "100"),), D(100))
    series = evaluate_series(
        baseline,
        tuple(_tp(7 * (i + 1), (str(s),)) for i, s in enumerate(sums)),
        min_sd_days=MIN_SD,
    )
    for i, point in enumerate(series.time_points):
        assert point.nadir_before_mm == min([D(100), *sums[:i]])
    assert series.nadir_sum_mm == min([D(100), *sums])


# Corrections of the December 2026 review (clinical-reference.md section 12) ---------------------

NODES_ONE_ORGAN = (
    "EORTC RECIST 1.1 questions and clarifications: 'Nodes are considered to be one organ'"
)


def test_three_nodes_in_different_stations_exceed_two_per_organ() -> None:
    # Given three target nodes the reader placed in three stations.
    # Source: NODES_ONE_ORGAN, with "2 per organ" (Eisenhauer 2009, target lesions).
    lesions = (
        _les("N1", "axilla", True, "20"),
        _les("N2", "groin", True, "18"),
        _les("N3", "neck", True, "16"),
    )
    # Then the set is refused: all nodes are one organ.
    with pytest.raises(RecistInputError) as refused:
        validate_targets(lesions)
    assert str(refused.value) == (
        "max 2 target lesions per organ; organ lymph nodes has 3 (N1, N2, N3) "
        "(all lymph nodes count as one organ)"
    )


def test_two_nodes_and_two_liver_lesions_are_a_valid_selection() -> None:
    # Source: NODES_ONE_ORGAN: two nodes fill the nodes' organ, liver is another organ.
    lesions = (
        _les("N1", "axilla", True, "20"),
        _les("N2", "groin", True, "18"),
        _les("L1", "liver", False, "30"),
        _les("L2", "liver", False, "25"),
    )
    assert validate_targets(lesions).baseline_sum_mm == D(93)


def test_best_response_without_the_minimum_sd_interval_is_refused() -> None:
    # Source: Eisenhauer 2009, best overall response: the minimum interval for SD "is defined in
    # the study protocol"; no default is assumed.
    with pytest.raises(RecistInputError) as refused:
        evaluate_series(TWO_LESIONS, (_tp(42, ("30", "20")),), min_sd_days=None)
    assert str(refused.value) == (
        "Set min_sd_days, the minimum number of days after study entry at which stable disease "
        "must be met to count as the best overall response. RECIST 1.1 leaves it to the study "
        "protocol (in general not less than 6-8 weeks, 42-56 days); outside a trial the "
        "center's treating physicians decide it for their program."
    )


def test_sd_before_the_minimum_interval_gives_ne() -> None:
    # Given SD at day 35 only and a protocol minimum of 6 weeks (42 days).
    # Source: Eisenhauer 2009: SD must be met "at a minimum interval (in general not less than
    # 6-8 weeks)"; when not, the best overall response is NE (no PD followed).
    series = evaluate_series(TWO_LESIONS, (_tp(35, ("30", "20")),), min_sd_days=42)
    assert series.time_points[0].overall.response is O.SD
    assert series.best.response is O.NE
    assert series.best.rule == (
        "best of CR > PR > SD > PD over 1 time points; SD counted only at day >= 42"
    )


@pytest.mark.parametrize("days", [0, 366])
def test_minimum_sd_interval_outside_the_plausible_range_is_refused(days: int) -> None:
    # Source: Eisenhauer 2009: "in general not less than 6-8 weeks"; 0 would remove the rule.
    with pytest.raises(RecistInputError) as refused:
        best_overall_response(((42, O.SD),), min_sd_days=days)
    assert str(refused.value) == (
        f"min_sd_days {days} is outside 1 to 365 days "
        "(in general not less than 6-8 weeks, 42-56 days)"
    )
