"""RECIST 1.1 tests; worked examples computed by hand from Eisenhauer 2009 section 4.3."""

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
    best_overall_response,
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
