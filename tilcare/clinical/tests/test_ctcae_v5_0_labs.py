"""CTCAE v5.0 value-based grades against the NCI CTEP workbook CTCAE_v5.0.xlsx (Clean Copy).

Band edges follow clinical-reference.md §4 implementation notes: "<1500 - 1000/mm3" is below 1500
down to and including 1000. Each case id names "CTCAE v5.0 workbook", the source of its band.
"""

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.grading.ctcae_v5_0 import CtcaeGrade, CtcaeUnitError, MissingInput
from tilcare.clinical.grading.ctcae_v5_0_labs import (
    grade_anemia,
    grade_creatinine_increased,
    grade_febrile_neutropenia,
    grade_fever,
    grade_lymphocyte_count_decreased,
    grade_neutrophil_count_decreased,
    grade_platelet_count_decreased,
    grade_weight_gain,
    grade_white_blood_cell_decreased,
)
from tilcare.clinical.units import (
    FloatNotAllowed,
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
)

SRC = "CTCAE v5.0 workbook"
PER_MM3, E9 = Unit.per_mm3, Unit.e9_per_l


def q(value: str | int, unit: Unit) -> Quantity:
    return Quantity.of(value, unit)


def band(result: CtcaeGrade) -> str:
    return result.rule.rsplit(": grade ", 1)[0]


# Blood counts: (grader, LLN /mm³, [(value /mm³, grade)]) --------------------------------------

CountGrader = Callable[..., CtcaeGrade]
COUNT_TABLES: list[tuple[str, CountGrader, int, list[tuple[int, int]]]] = [
    (
        "Neutrophil count decreased",
        grade_neutrophil_count_decreased,
        2000,
        [(2000, 0), (1999, 1), (1500, 1), (1499, 2), (1000, 2), (999, 3), (500, 3), (499, 4)],
    ),
    (
        "Platelet count decreased",
        grade_platelet_count_decreased,
        150_000,
        [
            (150_000, 0),
            (149_999, 1),
            (75_000, 1),
            (74_999, 2),
            (50_000, 2),
            (49_999, 3),
            (25_000, 3),
            (24_999, 4),
        ],
    ),
    (
        "Lymphocyte count decreased",
        grade_lymphocyte_count_decreased,
        1000,
        [(1000, 0), (999, 1), (800, 1), (799, 2), (500, 2), (499, 3), (200, 3), (199, 4), (0, 4)],
    ),
    (
        "White blood cell decreased",
        grade_white_blood_cell_decreased,
        4000,
        [(4000, 0), (3999, 1), (3000, 1), (2999, 2), (2000, 2), (1999, 3), (1000, 3), (999, 4)],
    ),
]
COUNT_CASES = [
    pytest.param(
        grader,
        value,
        lln,
        unit,
        grade,
        id=f"{name}-{value}{unit.value}-grade{grade}-{SRC}",
    )
    for name, grader, lln_mm3, rows in COUNT_TABLES
    for value_mm3, grade in rows
    for unit, value, lln in (
        (PER_MM3, Decimal(value_mm3), Decimal(lln_mm3)),
        (E9, Decimal(value_mm3) / 1000, Decimal(lln_mm3) / 1000),
    )
]


@pytest.mark.parametrize(("grader", "value", "lln", "unit", "expected"), COUNT_CASES)
def test_count_band_edges_both_units(
    grader: CountGrader, value: Decimal, lln: Decimal, unit: Unit, expected: int
) -> None:
    # Given a count and the lab's LLN in the same unit; when graded; then the workbook band.
    result = grader(count=Quantity(value, unit), lln=Quantity(lln, unit))
    assert result.grade == expected
    assert result.source.startswith("NCI CTEP") and result.version == "CTCAE v5.0"
    if expected == 0:
        assert result.grade_text is None
        assert result.rule.startswith("not below LLN")
    else:
        assert result.grade_text == result.term.grade_text(expected)
        # The rule quotes the workbook band in the unit given, verbatim.
        part = 1 if unit is E9 else 0
        assert band(result) == result.grade_text.split("; ")[part]
    if unit is E9:
        assert any(".to(Unit.per_mm3)" in note for note in result.notes)


def test_neutrophil_rule_and_values_worked_example() -> None:
    # CTCAE v5.0 workbook: "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L" is grade 3.
    result = grade_neutrophil_count_decreased(count=q("0.8", E9), lln=q(1800, PER_MM3))
    assert result.rule == "<1.0 - 0.5 x 10e9 /L: grade 3"
    assert result.values["neutrophil count"] == Quantity(Decimal("800.0"), PER_MM3)
    assert result.values["neutrophil count lower limit of normal (LLN)"] == q(1800, PER_MM3)
    assert result.notes == (
        "neutrophil count 0.8 ×10⁹/L converted to 800.0 /mm³ with .to(Unit.per_mm3)",
    )


def test_lymphocytes_note_the_separate_increased_term() -> None:
    result = grade_lymphocyte_count_decreased(count=q(900, PER_MM3), lln=q(1000, PER_MM3))
    assert result.term.term == "Lymphocyte count decreased"
    assert "'Lymphocyte count increased' is a separate CTCAE v5.0 term" in result.notes[0]


@pytest.mark.parametrize(
    ("grader", "lln", "message"),
    [
        (
            grade_neutrophil_count_decreased,
            q(999, PER_MM3),
            "neutrophil count lower limit of normal (LLN) 999 /mm³ must be at least 1000 /mm³.",
        ),
        (
            grade_neutrophil_count_decreased,
            q("0.9", E9),
            "neutrophil count lower limit of normal (LLN) 0.9 ×10⁹/L must be at least 1 ×10⁹/L.",
        ),
        (
            grade_platelet_count_decreased,
            q(99_999, PER_MM3),
            "platelet count lower limit of normal (LLN) 99999 /mm³ must be at least 100000 /mm³.",
        ),
        (
            grade_lymphocyte_count_decreased,
            q(499, PER_MM3),
            "lymphocyte count lower limit of normal (LLN) 499 /mm³ must be at least 500 /mm³.",
        ),
        (
            grade_white_blood_cell_decreased,
            q(1999, PER_MM3),
            "white blood cell count lower limit of normal (LLN) 1999 /mm³ must be at least "
            "2000 /mm³.",
        ),
        (
            grade_neutrophil_count_decreased,
            q(10_001, PER_MM3),
            "neutrophil count lower limit of normal (LLN) 10001 /mm³ is above the plausible "
            "maximum 10000 /mm³.",
        ),
        (
            grade_neutrophil_count_decreased,
            q("10.001", E9),
            "neutrophil count lower limit of normal (LLN) 10.001 ×10⁹/L is above the plausible "
            "maximum 10 ×10⁹/L.",
        ),
    ],
    ids=[f"LLN-plausibility-{i}" for i in range(7)],
)
def test_implausible_lln_is_refused_in_the_unit_given(
    grader: CountGrader, lln: Quantity, message: str
) -> None:
    # Entry-slip limits (not CTCAE facts), stated in the unit the LLN was typed in.
    with pytest.raises(ImplausibleInput) as error:
        grader(count=q(1000, PER_MM3), lln=lln)
    assert str(error.value) == message


# A laboratory LLN below the grade 1 lower edge. CTCAE v5.0 workbook, Neutrophil count
# decreased: grade 1 "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L", grade 2 "<1500 - 1000/mm3; <1.5 -
# 1.0 x 10e9 /L", grade 3 "<1000 - 500/mm3". With LLN 1400/mm3 no count is both below the LLN
# and at least 1500, so grade 1 is empty; grade 2 is every count below 1500 down to 1000,
# including 1400-1499, which the laboratory calls normal.
LOW_LLN_NOTE = (
    "The laboratory's LLN ({lln}) is below {edge}, where CTCAE v5.0 grade 2 begins ('{band}'): "
    "grade 1 cannot occur, and a value from the LLN up to below {edge} is within the "
    "laboratory's range yet grade 2 by the CTCAE v5.0 text. Whether such a value is reported as "
    "an adverse event is for the center's principal investigator to decide."
)
LOW_LLN_CASES = [
    pytest.param(grader, lln, value, grade, id=f"{name}-LLN-{lln}-value-{value}-{SRC}")
    for name, grader, lln, rows in (
        (
            "Neutrophil count decreased",
            grade_neutrophil_count_decreased,
            q(1400, PER_MM3),
            [(1500, 0), (1499, 2), (1400, 2), (1399, 2), (1000, 2), (999, 3), (499, 4)],
        ),
        (
            "Neutrophil count decreased",
            grade_neutrophil_count_decreased,
            q("1.4", E9),
            [("1.5", 0), ("1.499", 2), ("1.4", 2), ("1.0", 2), ("0.999", 3)],
        ),
        (
            "Lymphocyte count decreased",
            grade_lymphocyte_count_decreased,
            q(700, PER_MM3),
            [(800, 0), (799, 2), (700, 2), (500, 2), (499, 3)],
        ),
        (
            "White blood cell decreased",
            grade_white_blood_cell_decreased,
            q(2500, PER_MM3),
            [(3000, 0), (2999, 2), (2500, 2), (2000, 2), (1999, 3)],
        ),
    )
    for value, grade in rows
]


@pytest.mark.parametrize(("grader", "lln", "value", "expected"), LOW_LLN_CASES)
def test_lln_below_the_grade_1_edge_is_graded(
    grader: CountGrader, lln: Quantity, value: str | int, expected: int
) -> None:
    # Given a laboratory LLN below the grade 1 lower edge; when a count is graded; then the
    # workbook's fixed bands decide below the edge, grade 0 at or above it, and the result
    # names the overlap and who decides on reporting it.
    result = grader(count=q(value, lln.unit), lln=lln)
    assert result.grade == expected
    part = 1 if lln.unit is E9 else 0
    if expected:
        assert band(result) == result.term.grade_text(expected).split("; ")[part]
    else:
        assert result.rule == f"not below LLN ({lln.to(PER_MM3)}): grade 0"
    edge_mm3 = {"Neutrophil count decreased": 1500, "Lymphocyte count decreased": 800}.get(
        result.term.term, 3000
    )
    edge = Quantity(Decimal(edge_mm3), PER_MM3).to(lln.unit)
    grade_2_band = result.term.grade_text(2).split("; ")[0]
    expected_note = LOW_LLN_NOTE.format(lln=lln, edge=edge, band=grade_2_band)
    assert expected_note in result.notes


def test_neutrophils_with_lln_1400_worked_example() -> None:
    # CTCAE v5.0 workbook, Neutrophil count decreased grade 2 "<1500 - 1000/mm3": a count of
    # 1450/mm3 against a laboratory LLN of 1400/mm3 is grade 2, not refused.
    result = grade_neutrophil_count_decreased(count=q(1450, PER_MM3), lln=q(1400, PER_MM3))
    assert (result.grade, result.rule) == (2, "<1500 - 1000/mm3: grade 2")
    assert result.notes == (
        "The laboratory's LLN (1400 /mm³) is below 1500 /mm³, where CTCAE v5.0 grade 2 begins "
        "('<1500 - 1000/mm3'): grade 1 cannot occur, and a value from the LLN up to below "
        "1500 /mm³ is within the laboratory's range yet grade 2 by the CTCAE v5.0 text. Whether "
        "such a value is reported as an adverse event is for the center's principal "
        "investigator to decide.",
    )
    assert result.at_least is None


@pytest.mark.parametrize(
    ("grader", "count", "message"),
    [
        (grade_neutrophil_count_decreased, -1, "neutrophil count -1 /mm³ must be at least 0"),
        (grade_neutrophil_count_decreased, 200_001, "plausible maximum 200000 /mm³"),
        (grade_platelet_count_decreased, 5_000_001, "plausible maximum 5000000 /mm³"),
        (grade_lymphocyte_count_decreased, 1_000_001, "plausible maximum 1000000 /mm³"),
        (grade_white_blood_cell_decreased, -5, "white blood cell count -5 /mm³"),
    ],
    ids=[f"count-refusal-{i}-{SRC}" for i in range(5)],
)
def test_implausible_counts_are_refused(grader: CountGrader, count: int, message: str) -> None:
    lln = {grade_platelet_count_decreased: 150_000}.get(grader, 4000)
    with pytest.raises(ImplausibleInput, match=message):
        grader(count=q(count, PER_MM3), lln=q(lln, PER_MM3))


def test_platelets_in_g_per_dl_are_refused_naming_the_field() -> None:
    with pytest.raises(CtcaeUnitError) as error:
        grade_platelet_count_decreased(count=q(150, Unit.g_per_dl), lln=q(150, E9))
    assert str(error.value) == (
        "platelet count is given in g/dL; CTCAE v5.0 grades it in /mm³ or ×10⁹/L."
    )
    assert isinstance(error.value, UnitMismatch)


def test_bare_numbers_are_refused() -> None:
    with pytest.raises(InvalidQuantity, match="neutrophil count 1500 must be a Quantity"):
        grade_neutrophil_count_decreased(count=1500, lln=q(2000, PER_MM3))  # type: ignore[arg-type]


# Properties -----------------------------------------------------------------------------------

PROPERTY_IDS = [f"ANC-{SRC}", f"platelets-{SRC}"]
COUNT_GRADERS = [
    (grade_neutrophil_count_decreased, 200_000, st.integers(1000, 10_000)),
    (grade_platelet_count_decreased, 5_000_000, st.integers(100_000, 500_000)),
]


@pytest.mark.parametrize(("grader", "high", "llns"), COUNT_GRADERS, ids=PROPERTY_IDS)
@given(data=st.data())
def test_lower_count_never_gives_lower_grade(
    grader: CountGrader, high: int, llns: st.SearchStrategy[int], data: st.DataObject
) -> None:
    # CTCAE v5.0 workbook bands are ordered: a lower count is never a milder grade.
    lln = q(data.draw(llns), PER_MM3)
    low = data.draw(st.integers(0, high))
    higher = data.draw(st.integers(low, high))
    assert (
        grader(count=q(low, PER_MM3), lln=lln).grade
        >= grader(count=q(higher, PER_MM3), lln=lln).grade
    )


@pytest.mark.parametrize(("grader", "high", "llns"), COUNT_GRADERS, ids=PROPERTY_IDS)
@given(data=st.data())
def test_both_units_give_the_same_grade(
    grader: CountGrader, high: int, llns: st.SearchStrategy[int], data: st.DataObject
) -> None:
    lln = q(data.draw(llns), PER_MM3)
    count = data.draw(st.integers(0, high))
    in_e9 = Quantity(Decimal(count) / 1000, E9)
    assert grader(count=q(count, PER_MM3), lln=lln).grade == grader(count=in_e9, lln=lln).grade


ALL_COUNT_GRADERS = [grader for _, grader, _, _ in COUNT_TABLES]
GRADER_IDS = [f"{name}-{SRC}" for name, *_ in COUNT_TABLES]


@pytest.mark.parametrize("grader", ALL_COUNT_GRADERS, ids=GRADER_IDS)
@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_always_refused(grader: CountGrader, value: float) -> None:
    with pytest.raises(FloatNotAllowed, match="is a float"):
        grader(count=value, lln=q(150_000, PER_MM3))
    with pytest.raises(FloatNotAllowed):
        grader(count=q(100, PER_MM3), lln=value)
    with pytest.raises(FloatNotAllowed):
        Quantity.of(value, PER_MM3)  # type: ignore[arg-type]


@pytest.mark.parametrize("grader", ALL_COUNT_GRADERS, ids=GRADER_IDS)
@given(unit=st.sampled_from([u for u in Unit if u not in (PER_MM3, E9)]))
def test_wrong_units_are_always_refused(grader: CountGrader, unit: Unit) -> None:
    with pytest.raises(CtcaeUnitError, match=r"count is given in .*; CTCAE v5.0 grades it in"):
        grader(count=q(100, unit), lln=q(150_000, PER_MM3))
    with pytest.raises(CtcaeUnitError, match=r"lower limit of normal \(LLN\) is given in"):
        grader(count=q(100, PER_MM3), lln=q(150_000, unit))


# Anemia ---------------------------------------------------------------------------------------

ANEMIA_CASES = [
    pytest.param(value, lln, unit, grade, expected_band, id=f"Anemia-{value}{unit.value}-{SRC}")
    for unit, lln, rows in (
        (
            Unit.g_per_dl,
            "12.0",
            [
                ("12.0", 0, None),
                ("11.9", 1, "Hemoglobin (Hgb) <LLN - 10.0 g/dL"),
                ("10.0", 1, "Hemoglobin (Hgb) <LLN - 10.0 g/dL"),
                ("9.9", 2, "Hgb <10.0 - 8.0 g/dL"),
                ("8.0", 2, "Hgb <10.0 - 8.0 g/dL"),
                ("7.9", 3, "Hgb <8.0 g/dL"),
            ],
        ),
        (
            Unit.g_per_l,
            "120",
            [
                ("120", 0, None),
                ("119", 1, "<LLN - 100 g/L"),
                ("100", 1, "<LLN - 100 g/L"),
                ("99", 2, "<100 - 80g/L"),
                ("80", 2, "<100 - 80g/L"),
                ("79", 3, "<80 g/L"),
            ],
        ),
    )
    for value, grade, expected_band in rows
]


@pytest.mark.parametrize(("value", "lln", "unit", "expected", "expected_band"), ANEMIA_CASES)
def test_anemia_band_edges_both_units(
    value: str, lln: str, unit: Unit, expected: int, expected_band: str | None
) -> None:
    result = grade_anemia(hemoglobin=q(value, unit), lln=q(lln, unit))
    assert result.grade == expected
    if expected_band is not None:
        assert band(result) == expected_band
        assert expected_band in (result.grade_text or "")
    # Grade 4 is never derived from the value: the result says so.
    assert any("grade 4" in note and "clinical context" in note for note in result.notes)


def test_anemia_g_per_l_is_converted_and_recorded() -> None:
    result = grade_anemia(hemoglobin=q("75", Unit.g_per_l), lln=q("13.5", Unit.g_per_dl))
    assert result.grade == 3
    assert result.values["hemoglobin"] == Quantity(Decimal("7.5"), Unit.g_per_dl)
    assert result.notes[0] == "hemoglobin 75 g/L converted to 7.5 g/dL with .to(Unit.g_per_dl)"


@pytest.mark.parametrize(
    ("hemoglobin", "lln", "error", "message"),
    [
        (q("0", Unit.g_per_dl), q("12", Unit.g_per_dl), ImplausibleInput, "greater than 0 g/dL"),
        (q("25.1", Unit.g_per_dl), q("12", Unit.g_per_dl), ImplausibleInput, "maximum 25.0"),
        (q("9", Unit.g_per_dl), q("9.9", Unit.g_per_dl), ImplausibleInput, "at least 10.0 g/dL"),
        (q("9", Unit.mg_per_dl), q("12", Unit.g_per_dl), CtcaeUnitError, "hemoglobin is given"),
    ],
    ids=[f"anemia-refusal-{i}-{SRC}" for i in range(4)],
)
def test_anemia_refusals(
    hemoglobin: Quantity, lln: Quantity, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        grade_anemia(hemoglobin=hemoglobin, lln=lln)


# CTCAE v5.0 workbook, Anemia grade 3: "Hgb <8.0 g/dL; <4.9 mmol/L; <80 g/L; transfusion
# indicated"; front matter: "A Semi-colon indicates 'or' within the description of the grade."
@pytest.mark.parametrize(
    ("hemoglobin", "transfusion", "grade", "rule", "at_least"),
    [
        pytest.param(
            "11.0",
            True,
            3,
            "Hemoglobin (Hgb) <LLN - 10.0 g/dL: grade 1; 'transfusion indicated': grade 3; "
            "grade 3 set by 'transfusion indicated'",
            None,
            id=f"grade-1-value-transfusion-indicated-grade-3-{SRC}",
        ),
        pytest.param(
            "12.5",
            True,
            3,
            "not below LLN (12.0 g/dL): grade 0; 'transfusion indicated': grade 3; "
            "grade 3 set by 'transfusion indicated'",
            None,
            id=f"normal-value-transfusion-indicated-grade-3-{SRC}",
        ),
        pytest.param(
            "7.9",
            True,
            3,
            "Hgb <8.0 g/dL: grade 3; 'transfusion indicated': grade 3",
            None,
            id=f"grade-3-value-and-transfusion-{SRC}",
        ),
        pytest.param(
            "9.0",
            False,
            2,
            "Hgb <10.0 - 8.0 g/dL: grade 2",
            None,
            id=f"no-transfusion-grade-2-final-{SRC}",
        ),
        pytest.param(
            "9.0",
            None,
            2,
            "Hgb <10.0 - 8.0 g/dL: grade 2; transfusion indicated not answered: at least grade 2",
            "Whether a transfusion is indicated was not answered: a transfusion indication makes "
            "this grade 3 (CTCAE v5.0 Anemia grade 3: 'transfusion indicated'). Answer it to "
            "settle the grade.",
            id=f"not-answered-at-least-2-{SRC}",
        ),
        pytest.param(
            "7.5",
            None,
            3,
            "Hgb <8.0 g/dL: grade 3",
            None,
            id=f"not-answered-grade-3-already-{SRC}",
        ),
    ],
)
def test_anemia_transfusion_indicated_is_grade_3(
    hemoglobin: str, transfusion: bool | None, grade: int, rule: str, at_least: str | None
) -> None:
    result = grade_anemia(
        hemoglobin=q(hemoglobin, Unit.g_per_dl),
        lln=q("12.0", Unit.g_per_dl),
        transfusion_indicated=transfusion,
    )
    assert (result.grade, result.rule, result.at_least) == (grade, rule, at_least)
    assert result.grade_text == result.term.grade_text(grade)
    assert (
        result.values["transfusion indicated"]
        == {True: "yes", False: "no", None: "not answered"}[transfusion]
    )
    assert result.notes[-2] == (
        "CTCAE v5.0 Anemia grade 3 reads 'Hgb <8.0 g/dL; <4.9 mmol/L; <80 g/L; transfusion "
        "indicated', and a semicolon there means 'or': a transfusion indication alone makes it "
        "grade 3, whatever the hemoglobin."
    )


@pytest.mark.parametrize("answer", [1, 0, "yes"], ids=lambda a: f"transfusion-{a!r}")
def test_anemia_transfusion_answer_must_be_true_or_false(answer: object) -> None:
    with pytest.raises(TypeError) as error:
        grade_anemia(
            hemoglobin=q("9", Unit.g_per_dl),
            lln=q("12", Unit.g_per_dl),
            transfusion_indicated=answer,  # type: ignore[arg-type]
        )
    assert str(error.value) == f"transfusion indicated {answer!r} must be yes or no."


def test_anemia_limits_are_stated_in_the_unit_given() -> None:
    with pytest.raises(ImplausibleInput) as error:
        grade_anemia(hemoglobin=q("251", Unit.g_per_l), lln=q("120", Unit.g_per_l))
    assert str(error.value) == "hemoglobin 251 g/L is above the plausible maximum 250.0 g/L."


# Creatinine -----------------------------------------------------------------------------------

CREATININE_ULN_CASES = [
    pytest.param(value, uln, unit, grade, id=f"Creatinine-{value}{unit.value}-{SRC}")
    for unit, uln, rows in (
        (
            Unit.mg_per_dl,
            "1.0",
            [
                ("1.0", 0),
                ("1.01", 1),
                ("1.5", 1),
                ("1.51", 2),
                ("3.0", 2),
                ("3.01", 3),
                ("6.0", 3),
                ("6.01", 4),
            ],
        ),
        (
            Unit.umol_per_l,
            "100",
            [
                ("100", 0),
                ("101", 1),
                ("150", 1),
                ("151", 2),
                ("300", 2),
                ("301", 3),
                ("600", 3),
                ("601", 4),
            ],
        ),
    )
    for value, grade in rows
]


@pytest.mark.parametrize(("value", "uln", "unit", "expected"), CREATININE_ULN_CASES)
def test_creatinine_uln_band_edges_both_units(
    value: str, uln: str, unit: Unit, expected: int
) -> None:
    # Without a baseline, grade 2 ">1.5 - 3.0 x baseline" and grade 3 ">3.0 x baseline" cannot
    # be ruled out: below grade 3 the ULN grade is only the lowest grade (CTCAE v5.0 workbook).
    result = grade_creatinine_increased(creatinine=q(value, unit), uln=q(uln, unit))
    assert result.grade == expected
    if expected < 3:
        assert result.rule.endswith(
            f"no baseline given; at least grade {expected} set by the ULN comparison"
        )
        assert result.at_least is not None
        assert f"this is at least grade {expected}." in result.at_least
    else:
        assert result.rule.endswith(
            "no baseline given (a baseline gives at most grade 3); "
            f"grade {expected} set by the ULN comparison"
        )
        assert result.at_least is None


@pytest.mark.parametrize(
    ("value", "grade", "at_least"),
    [
        pytest.param(
            "1.0",
            0,
            "No baseline creatinine given: against the patient's baseline CTCAE v5.0 also grades "
            "'>1.5 - 3.0 x baseline' (grade 2) or '>3.0 x baseline' (grade 3), so this is at "
            "least grade 0. Give the baseline creatinine to settle the grade.",
            id=f"at-ULN-at-least-0-{SRC}",
        ),
        pytest.param(
            "2.0",
            2,
            "No baseline creatinine given: against the patient's baseline CTCAE v5.0 also grades "
            "'>3.0 x baseline' (grade 3), so this is at least grade 2. Give the baseline "
            "creatinine to settle the grade.",
            id=f"2x-ULN-at-least-2-{SRC}",
        ),
    ],
)
def test_creatinine_without_baseline_says_at_least(value: str, grade: int, at_least: str) -> None:
    # CTCAE v5.0 workbook, Creatinine increased: grade 2 ">1.5 - 3.0 x baseline; >1.5 - 3.0 x
    # ULN", grade 3 ">3.0 x baseline; >3.0 - 6.0 x ULN". Given no baseline; then the ULN grade
    # is presented as the lowest grade, with what could raise it.
    mg = Unit.mg_per_dl
    result = grade_creatinine_increased(creatinine=q(value, mg), uln=q("1.0", mg))
    assert (result.grade, result.at_least) == (grade, at_least)


def test_creatinine_with_baseline_is_final() -> None:
    mg = Unit.mg_per_dl
    result = grade_creatinine_increased(
        creatinine=q("1.0", mg), uln=q("1.0", mg), baseline=q("0.9", mg)
    )
    assert (result.grade, result.at_least) == (0, None)


@pytest.mark.parametrize(
    ("value", "uln", "baseline", "expected", "rule"),
    [
        pytest.param(
            "0.75",
            "1.2",
            "0.5",
            0,
            "ULN comparison <=ULN: grade 0; baseline comparison <=1.5 x baseline: grade 0; "
            "grade 0 set by the ULN and baseline comparisons",
            id=f"exactly-1.5x-baseline-{SRC}",
        ),
        pytest.param(
            "0.76",
            "1.2",
            "0.5",
            2,
            "ULN comparison <=ULN: grade 0; baseline comparison >1.5 - 3.0 x baseline: "
            "grade 2; grade 2 set by the baseline comparison",
            id=f"above-1.5x-baseline-{SRC}",
        ),
        pytest.param(
            "1.5",
            "1.2",
            "0.5",
            2,
            "ULN comparison >ULN - 1.5 x ULN: grade 1; baseline comparison >1.5 - 3.0 x "
            "baseline: grade 2; grade 2 set by the baseline comparison",
            id=f"exactly-3x-baseline-{SRC}",
        ),
        pytest.param(
            "1.51",
            "1.2",
            "0.5",
            3,
            "ULN comparison >ULN - 1.5 x ULN: grade 1; baseline comparison >3.0 x baseline: "
            "grade 3; grade 3 set by the baseline comparison",
            id=f"above-3x-baseline-{SRC}",
        ),
        pytest.param(
            "2.0",
            "1.0",
            "1.0",
            2,
            "ULN comparison >1.5 - 3.0 x ULN: grade 2; baseline comparison >1.5 - 3.0 x "
            "baseline: grade 2; grade 2 set by the ULN and baseline comparisons",
            id=f"tie-{SRC}",
        ),
        pytest.param(
            "7.0",
            "1.0",
            "1.0",
            4,
            "ULN comparison >6.0 x ULN: grade 4; baseline comparison >3.0 x baseline: "
            "grade 3; grade 4 set by the ULN comparison",
            id=f"ULN-higher-{SRC}",
        ),
    ],
)
def test_creatinine_takes_the_higher_of_uln_and_baseline(
    value: str, uln: str, baseline: str, expected: int, rule: str
) -> None:
    mg = Unit.mg_per_dl
    result = grade_creatinine_increased(
        creatinine=q(value, mg), uln=q(uln, mg), baseline=q(baseline, mg)
    )
    assert (result.grade, result.rule) == (expected, rule)
    assert result.values["baseline creatinine"] == q(baseline, mg)


def test_creatinine_baseline_in_umol_per_l_with_ratios_rounded() -> None:
    # 160 / 50 = 3.2 × baseline -> grade 3 (CTCAE v5.0 workbook ">3.0 x baseline").
    um = Unit.umol_per_l
    result = grade_creatinine_increased(creatinine=q(160, um), uln=q(110, um), baseline=q(50, um))
    assert result.grade == 3
    assert result.values["creatinine / ULN"] == "1.45"  # 1.4545... half up
    assert result.values["creatinine / baseline"] == "3.20"
    assert result.rounding.startswith("round_ratio")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"creatinine": q("1.0", Unit.mg_per_dl), "uln": q(100, Unit.umol_per_l)},
            CtcaeUnitError,
            r"creatinine upper limit of normal \(ULN\) is given in µmol/L; CTCAE v5.0 grades "
            "it in mg/dL",
        ),
        (
            {
                "creatinine": q("1.0", Unit.mg_per_dl),
                "uln": q("1.0", Unit.mg_per_dl),
                "baseline": q(80, Unit.umol_per_l),
            },
            CtcaeUnitError,
            "baseline creatinine is given in µmol/L",
        ),
        (
            {"creatinine": q("1.0", Unit.g_per_dl), "uln": q("1.0", Unit.g_per_dl)},
            CtcaeUnitError,
            "creatinine is given in g/dL",
        ),
        (
            {"creatinine": q("0", Unit.mg_per_dl), "uln": q("1.0", Unit.mg_per_dl)},
            ImplausibleInput,
            "creatinine 0 mg/dL must be at least 0.2 mg/dL",
        ),
        (
            {"creatinine": q("0.01", Unit.mg_per_dl), "uln": q("1.2", Unit.mg_per_dl)},
            ImplausibleInput,
            "creatinine 0.01 mg/dL must be at least 0.2 mg/dL",
        ),
        (
            # 2.1 typed as mg/dL but sent as µmol/L: 2.1 µmol/L is 0.024 mg/dL.
            {"creatinine": q("2.1", Unit.umol_per_l), "uln": q(110, Unit.umol_per_l)},
            ImplausibleInput,
            "creatinine 2.1 µmol/L must be at least 17.68 µmol/L",
        ),
        (
            {
                "creatinine": q("1.0", Unit.mg_per_dl),
                "uln": q("1.0", Unit.mg_per_dl),
                "baseline": q("0.15", Unit.mg_per_dl),
            },
            ImplausibleInput,
            "baseline creatinine 0.15 mg/dL must be at least 0.2 mg/dL",
        ),
        (
            {"creatinine": q("31", Unit.mg_per_dl), "uln": q("1.0", Unit.mg_per_dl)},
            ImplausibleInput,
            "plausible maximum 30 mg/dL",
        ),
        (
            {"creatinine": q("100", Unit.umol_per_l), "uln": q("266", Unit.umol_per_l)},
            ImplausibleInput,
            r"ULN\) 266 µmol/L is above the plausible maximum 265.20 µmol/L",
        ),
    ],
    ids=[f"creatinine-refusal-{i}-{SRC}" for i in range(9)],
)
def test_creatinine_refusals(
    kwargs: dict[str, Quantity], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        grade_creatinine_increased(**kwargs)


# Fever ----------------------------------------------------------------------------------------

H, C = Unit.hours, Unit.celsius


FEVER_G1 = "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F): grade 1"
FEVER_G2 = ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F): grade 2"
FEVER_G3 = ">40.0 degrees C (>104.0 degrees F) for <=24 hrs: grade 3"
FEVER_G4 = ">40.0 degrees C (>104.0 degrees F) for >24 hrs: grade 4"


@pytest.mark.parametrize(
    ("temperature", "hours", "expected", "rule"),
    [
        pytest.param(t, h, g, r, id=f"Fever-{t}°C-{h}h-grade{g}-{SRC}")
        for t, h, g, r in [
            ("37.9", None, 0, "<38.0 degrees C: grade 0"),
            ("38.0", None, 1, FEVER_G1),
            ("39.0", None, 1, FEVER_G1),
            ("39.1", None, 2, FEVER_G2),
            ("40.0", None, 2, FEVER_G2),
            ("40.1", "0", 3, FEVER_G3),
            ("40.1", "24", 3, FEVER_G3),
            ("40.1", "24.1", 4, FEVER_G4),
        ]
    ],
)
def test_fever_band_edges(temperature: str, hours: str | None, expected: int, rule: str) -> None:
    duration = q(hours, H) if hours is not None else None
    result = grade_fever(temperature=q(temperature, C), duration_above_40_c=duration)
    assert (result.grade, result.rule) == (expected, rule)
    assert result.notes[0] == "Grade 5 (Death) is not derived from values."


def test_fever_duration_below_40_is_recorded_but_not_used() -> None:
    result = grade_fever(temperature=q("39.5", C), duration_above_40_c=q(30, H))
    assert result.grade == 2
    assert result.values["duration above 40.0 °C"] == q(30, H)
    assert result.notes[-1] == "'duration above 40.0 °C' is used only above 40.0 °C; not used here."


def test_fever_above_40_without_duration_is_refused_naming_it() -> None:
    with pytest.raises(MissingInput, match=r"'duration above 40\.0 °C'"):
        grade_fever(temperature=q("40.1", C))


@pytest.mark.parametrize(
    ("temperature", "duration", "error", "message"),
    [
        (q("29.9", C), None, ImplausibleInput, "temperature 29.9 °C must be at least 30.0 °C"),
        (q("45.1", C), None, ImplausibleInput, "plausible maximum 45.0 °C"),
        (q("40.5", C), q("-1", H), ImplausibleInput, "duration above 40.0 °C -1 h must be"),
        (q("40.5", C), q("721", H), ImplausibleInput, "plausible maximum 720 h"),
        (q("40.5", C), q("2", Unit.days), CtcaeUnitError, "is given in days"),
        (q("100", Unit.percent), None, CtcaeUnitError, "temperature is given in %"),
    ],
    ids=[f"fever-refusal-{i}-{SRC}" for i in range(6)],
)
def test_fever_refusals(
    temperature: Quantity, duration: Quantity | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        grade_fever(temperature=temperature, duration_above_40_c=duration)


@given(value=st.floats())
def test_fever_floats_are_always_refused(value: float) -> None:
    with pytest.raises(FloatNotAllowed, match="temperature"):
        grade_fever(temperature=value)  # type: ignore[arg-type]
    with pytest.raises(FloatNotAllowed, match=r"duration above 40\.0 °C"):
        grade_fever(temperature=q("38.5", C), duration_above_40_c=value)  # type: ignore[arg-type]


# Weight gain ----------------------------------------------------------------------------------

KG = Unit.kg


@pytest.mark.parametrize(
    ("weight", "baseline", "expected", "percent"),
    [
        pytest.param(*row, id=f"Weight gain-{row[0]}kg-from-{row[1]}kg-{SRC}")
        for row in [
            ("104.9", "100", 0, "4.9"),
            ("105", "100", 1, "5.0"),
            ("109.9", "100", 1, "9.9"),
            ("110", "100", 2, "10.0"),
            ("119.9", "100", 2, "19.9"),
            ("120", "100", 3, "20.0"),
            ("73.49", "70", 0, "5.0"),  # 4.99 %: below 5 % although shown rounded to 5.0
            ("73.5", "70", 1, "5.0"),
            ("76.99", "70", 1, "10.0"),  # 9.99 %
            ("77", "70", 2, "10.0"),
            ("83.99", "70", 2, "20.0"),  # 19.99 %
            ("84", "70", 3, "20.0"),
        ]
    ],
)
def test_weight_gain_band_edges(weight: str, baseline: str, expected: int, percent: str) -> None:
    # Source: CTCAE v5.0 workbook, Weight gain; grades from exact, unrounded comparisons.
    result = grade_weight_gain(weight=q(weight, KG), baseline_weight=q(baseline, KG))
    assert result.grade == expected
    assert result.values["change from baseline"] == q(percent, Unit.percent)
    if expected:
        assert band(result) == result.grade_text


@pytest.mark.parametrize(("weight", "grade"), [("108", 3), ("36", 0)], ids=["+50%", "-50%"])
def test_weight_change_of_exactly_50_percent_is_graded(weight: str, grade: int) -> None:
    # The plausibility limit (not a CTCAE fact) refuses only a change of more than 50 %.
    result = grade_weight_gain(weight=q(weight, KG), baseline_weight=q(72, KG))
    assert result.grade == grade


def test_weight_loss_is_grade_0_with_a_pointer() -> None:
    result = grade_weight_gain(weight=q(65, KG), baseline_weight=q(70, KG))
    assert result.grade == 0
    assert result.notes == ("Weight is below baseline: see the CTCAE v5.0 term 'Weight loss'.",)


@pytest.mark.parametrize(
    ("weight", "baseline", "error", "message"),
    [
        (q("19.9", KG), q(70, KG), ImplausibleInput, "weight 19.9 kg must be at least 20 kg"),
        (q(70, KG), q(351, KG), ImplausibleInput, "baseline weight 351 kg is above the"),
        (q(70000, Unit.g), q(70, KG), CtcaeUnitError, "weight is given in g"),
        (
            q("110", KG),
            q(72, KG),
            ImplausibleInput,
            r"^weight 110 kg is 52.8 % above the baseline weight 72 kg; a change of more than "
            r"50 % from baseline is implausible: check both weights and their unit \(kg\).$",
        ),
        (
            q("35.9", KG),
            q(72, KG),
            ImplausibleInput,
            "^weight 35.9 kg is 50.1 % below the baseline weight 72 kg; a change of more than 50 %",
        ),
    ],
    ids=[f"weight-refusal-{i}-{SRC}" for i in range(5)],
)
def test_weight_gain_refusals(
    weight: Quantity, baseline: Quantity, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        grade_weight_gain(weight=weight, baseline_weight=baseline)


# Febrile neutropenia --------------------------------------------------------------------------

FN_SINGLE = "ANC <1000/mm3 with a single temperature of >38.3 degrees C: grade 3"
FN_SUSTAINED = (
    "ANC <1000/mm3 with a sustained temperature of >=38 degrees C for more than one hour: grade 3"
)


@pytest.mark.parametrize(
    ("anc", "single", "sustained", "duration", "expected", "rule"),
    [
        pytest.param(*row, id=f"Febrile neutropenia-{i}-{SRC}")
        for i, row in enumerate(
            [
                (q(999, PER_MM3), "38.4", None, None, 3, FN_SINGLE),
                (q("0.999", E9), "38.4", None, None, 3, FN_SINGLE),
                (q(1000, PER_MM3), "38.4", None, None, 0, "ANC not <1000/mm3: grade 0"),
                (q("1.0", E9), "39.5", None, None, 0, "ANC not <1000/mm3: grade 0"),
                (q(999, PER_MM3), "38.3", None, None, 0, None),
                (q(999, PER_MM3), None, "38.0", q(61, Unit.minutes), 3, FN_SUSTAINED),
                (q(999, PER_MM3), None, "38.0", q("1.5", H), 3, FN_SUSTAINED),
                (q(999, PER_MM3), None, "38.0", q(60, Unit.minutes), 0, None),
                (q(999, PER_MM3), None, "38.0", q(1, H), 0, None),
                (q(999, PER_MM3), None, "37.9", q(3, H), 0, None),
                (q(999, PER_MM3), "38.3", "38.0", q(2, H), 3, FN_SUSTAINED),
                (q(0, PER_MM3), "38.4", "38.0", q(2, H), 3, FN_SINGLE),
            ]
        )
    ],
)
def test_febrile_neutropenia_edges(
    anc: Quantity,
    single: str | None,
    sustained: str | None,
    duration: Quantity | None,
    expected: int,
    rule: str | None,
) -> None:
    # Source: CTCAE v5.0 workbook, Febrile neutropenia grade 3 text.
    result = grade_febrile_neutropenia(
        anc=anc,
        single_temperature=q(single, C) if single else None,
        sustained_temperature=q(sustained, C) if sustained else None,
        sustained_duration=duration,
    )
    assert result.grade == expected
    if rule is not None:
        assert result.rule.startswith(rule)
    else:
        assert result.rule.startswith("ANC <1000/mm3 without a single temperature")
    assert result.notes[-1].startswith("From values the grade is 0 or 3: grade 4")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"anc": q(500, PER_MM3)}, MissingInput, "'single temperature' or a 'sustained"),
        (
            {"anc": q(500, PER_MM3), "sustained_temperature": q(38, C)},
            MissingInput,
            "'sustained temperature duration'",
        ),
        (
            {"anc": q(500, PER_MM3), "sustained_duration": q(2, H)},
            MissingInput,
            "go together",
        ),
        (
            {"anc": q(-1, PER_MM3), "single_temperature": q(39, C)},
            ImplausibleInput,
            "ANC -1 /mm³ must be at least 0",
        ),
        (
            {"anc": q(5, Unit.g_per_dl), "single_temperature": q(39, C)},
            CtcaeUnitError,
            "ANC is given in g/dL",
        ),
        (
            {
                "anc": q(500, PER_MM3),
                "sustained_temperature": q(38, C),
                "sustained_duration": q(1, Unit.days),
            },
            CtcaeUnitError,
            "sustained temperature duration is given in days",
        ),
        (
            {
                "anc": q(500, PER_MM3),
                "sustained_temperature": q(38, C),
                "sustained_duration": q(721, H),
            },
            ImplausibleInput,
            r"^sustained temperature duration 721 h is above the plausible maximum 720 h\.$",
        ),
        (
            {
                "anc": q(500, PER_MM3),
                "sustained_temperature": q(38, C),
                "sustained_duration": q(43201, Unit.minutes),
            },
            ImplausibleInput,
            r"^sustained temperature duration 43201 min is above the plausible maximum 43200 min",
        ),
    ],
    ids=[f"febrile-neutropenia-refusal-{i}-{SRC}" for i in range(8)],
)
def test_febrile_neutropenia_refusals(
    kwargs: dict[str, Quantity], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        grade_febrile_neutropenia(**kwargs)


# Every grader, every input: floats and wrong units refused, naming the field -----------------

MG = Unit.mg_per_dl
GRADER_INPUTS: list[tuple[Callable[..., CtcaeGrade], dict[str, Quantity], dict[str, str]]] = [
    (
        grade_anemia,
        {"hemoglobin": q("9", Unit.g_per_dl), "lln": q("12", Unit.g_per_dl)},
        {"hemoglobin": "hemoglobin", "lln": "hemoglobin lower limit of normal"},
    ),
    (
        grade_creatinine_increased,
        {"creatinine": q("2", MG), "uln": q("1", MG), "baseline": q("1", MG)},
        {"creatinine": "creatinine", "uln": "creatinine upper", "baseline": "baseline creat"},
    ),
    (
        grade_fever,
        {"temperature": q("40.5", C), "duration_above_40_c": q(2, H)},
        {"temperature": "temperature", "duration_above_40_c": "duration above 40"},
    ),
    (
        grade_weight_gain,
        {"weight": q(80, KG), "baseline_weight": q(70, KG)},
        {"weight": "weight", "baseline_weight": "baseline weight"},
    ),
    (
        grade_febrile_neutropenia,
        {
            "anc": q(500, PER_MM3),
            "single_temperature": q("38.5", C),
            "sustained_temperature": q(38, C),
            "sustained_duration": q(2, H),
        },
        {
            "anc": "ANC",
            "single_temperature": "single temperature",
            "sustained_temperature": "sustained temperature",
            "sustained_duration": "sustained temperature duration",
        },
    ),
]
ARGUMENT_CASES = [
    pytest.param(grader, kwargs, name, field, id=f"{grader.__name__}-{name}-{SRC}")
    for grader, kwargs, fields in GRADER_INPUTS
    for name, field in fields.items()
]


@pytest.mark.parametrize(("grader", "kwargs", "name", "field"), ARGUMENT_CASES)
@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_every_input_refuses_floats(
    grader: Callable[..., CtcaeGrade],
    kwargs: dict[str, Quantity],
    name: str,
    field: str,
    value: float,
) -> None:
    with pytest.raises(FloatNotAllowed, match=f"^{field}.* is a float"):
        grader(**{**kwargs, name: value})


@pytest.mark.parametrize(("grader", "kwargs", "name", "field"), ARGUMENT_CASES)
@given(unit=st.sampled_from(list(Unit)))
def test_every_input_refuses_wrong_units(
    grader: Callable[..., CtcaeGrade],
    kwargs: dict[str, Quantity],
    name: str,
    field: str,
    unit: Unit,
) -> None:
    accepted = {
        Unit.g_per_dl: {Unit.g_per_dl, Unit.g_per_l},
        MG: {MG},  # creatinine ULN and baseline must be in the creatinine's unit
        H: {H, Unit.minutes} if name == "sustained_duration" else {H},
        PER_MM3: {PER_MM3, E9},
    }.get(kwargs[name].unit, {kwargs[name].unit})
    if name == "creatinine":
        accepted = {MG, Unit.umol_per_l}
    if unit in accepted:
        return
    with pytest.raises(CtcaeUnitError, match=f"^{field}.* is given in {unit.value};"):
        grader(**{**kwargs, name: Quantity.of(1, unit)})
