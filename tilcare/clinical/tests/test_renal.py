"""Cockcroft–Gault creatinine clearance, with hand-worked cases.

Formula (Cockcroft DW, Gault MH. Nephron 1976;16:31–41; NOT CONFIRMED in clinical-reference.md §9):
CrCl = (140 − age) × weight_kg / (72 × SCr mg/dL), × 0.85 if female.
"""

from decimal import Decimal

import pytest

from tilcare.clinical.renal import (
    WeightBasis,
    cockcroft_gault,
    round_crcl_ml_per_min,
)
from tilcare.clinical.units import (
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
    g,
    kg,
    mg_per_dl,
    ml_per_min,
    umol_per_l,
    years,
)


def crcl(
    age: str,
    weight_kg: str,
    scr_mg_per_dl: str,
    sex: str,
    basis: WeightBasis = WeightBasis.ACTUAL,
) -> Quantity:
    return cockcroft_gault(
        age=years(age),
        weight=kg(weight_kg),
        serum_creatinine=mg_per_dl(scr_mg_per_dl),
        sex=sex,
        weight_basis=basis,
    ).crcl


@pytest.mark.parametrize(
    ("age", "weight_kg", "scr", "sex", "expected"),
    [
        # Cockcroft–Gault: (140 − 60) × 70 / (72 × 1.0) = 5600 / 72 = 77.78 -> 78
        ("60", "70", "1.0", "male", 78),
        # 77.78 × 0.85 = 66.11 -> 66
        ("60", "70", "1.0", "female", 66),
        # (140 − 40) × 80 / (72 × 1.2) = 8000 / 86.4 = 92.59 -> 93
        ("40", "80", "1.2", "male", 93),
        # (140 − 104) × 74 / (72 × 2.0) = 2664 / 144 = 18.5 exactly -> 19 (half up)
        ("104", "74", "2.0", "male", 19),
        # (140 − 18) × 50 / (72 × 0.6) = 6100 / 43.2 = 141.20; × 0.85 = 120.02 -> 120
        ("18", "50", "0.6", "female", 120),
        # (140 − 120) × 20 / (72 × 20) = 400 / 1440 = 0.28 -> 0
        ("120", "20", "20", "male", 0),
    ],
    ids=[
        "CG male 60y 70kg 1.0",
        "CG female 60y 70kg 1.0",
        "CG male 40y 80kg 1.2",
        "CG exact half rounds up",
        "CG female 18y 50kg 0.6",
        "CG all limits",
    ],
)
def test_cockcroft_gault_worked_examples(
    age: str, weight_kg: str, scr: str, sex: str, expected: int
) -> None:
    assert crcl(age, weight_kg, scr, sex) == ml_per_min(expected)


def test_result_records_inputs_basis_formula_and_source() -> None:
    result = cockcroft_gault(
        age=years(60),
        weight=kg("65.9"),
        serum_creatinine=mg_per_dl("1.0"),
        sex="female",
        weight_basis=WeightBasis.IDEAL,
    )
    assert result.weight_basis is WeightBasis.IDEAL
    assert result.weight_kg == Decimal("65.9")
    assert result.age_years == Decimal(60)
    assert result.serum_creatinine_mg_per_dl == Decimal("1.0")
    assert result.female_factor_applied
    assert result.crcl.unit is Unit.ml_per_min
    assert "72" in result.formula and "0.85" in result.formula
    assert result.source == (
        "Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. "
        "Nephron 1976;16:31–41"
    )
    # (140 − 60) × 65.9 / 72 × 0.85 = 5272 / 72 × 0.85 = 73.222… × 0.85 = 62.24 -> 62
    assert result.crcl == ml_per_min(62)


@pytest.mark.parametrize("basis", list(WeightBasis), ids=[b.value for b in WeightBasis])
def test_every_weight_basis_is_recorded(basis: WeightBasis) -> None:
    result = cockcroft_gault(
        age=years(60),
        weight=kg(70),
        serum_creatinine=mg_per_dl(1),
        sex="male",
        weight_basis=basis,
    )
    assert result.weight_basis is basis


def test_weight_basis_is_required() -> None:
    with pytest.raises(TypeError, match="weight_basis"):
        cockcroft_gault(  # type: ignore[call-arg]
            age=years(60), weight=kg(70), serum_creatinine=mg_per_dl(1), sex="male"
        )


def test_weight_basis_must_be_the_enum() -> None:
    with pytest.raises(InvalidQuantity, match="WeightBasis"):
        crcl("60", "70", "1", "male", "actual")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("age", "scr", "message"),
    [
        ("17.9", "1", "below the minimum 18 years"),
        ("120.1", "1", "above the plausible maximum 120 years"),
        ("60", "0", "greater than 0 mg/dL"),
        ("60", "-0.5", "greater than 0 mg/dL"),
        ("60", "20.01", "above the plausible maximum 20 mg/dL"),
        ("60", "0.19", "below the plausible minimum 0.2 mg/dL"),
    ],
    ids=["age 17.9", "age 120.1", "SCr 0", "SCr negative", "SCr 20.01", "SCr 0.19"],
)
def test_out_of_range_inputs_are_refused_naming_the_limit(age: str, scr: str, message: str) -> None:
    # Limits from the clinical-core brief: age 18–120 years, SCr 0.2–20 mg/dL.
    with pytest.raises(ImplausibleInput, match=message):
        crcl(age, "70", scr, "male")


@pytest.mark.parametrize(
    ("age", "scr"),
    [("18", "1"), ("120", "1"), ("60", "0.2"), ("60", "20")],
    ids=["age 18", "age 120", "SCr 0.2", "SCr 20"],
)
def test_limits_themselves_are_accepted(age: str, scr: str) -> None:
    assert crcl(age, "70", scr, "male") >= ml_per_min(0)


def test_weight_plausibility_applies() -> None:
    with pytest.raises(ImplausibleInput, match="350 kg"):
        crcl("60", "351", "1", "male")


@pytest.mark.parametrize(
    ("age", "weight", "scr"),
    [
        (years(60), kg(70), umol_per_l("88.4")),
        (years(60), g(70000), mg_per_dl(1)),
        (Quantity(Decimal(60), Unit.kg), kg(70), mg_per_dl(1)),
    ],
    ids=["SCr in umol/L", "weight in g", "age not in years"],
)
def test_wrong_units_are_refused_not_converted(
    age: Quantity, weight: Quantity, scr: Quantity
) -> None:
    with pytest.raises(UnitMismatch):
        cockcroft_gault(
            age=age,
            weight=weight,
            serum_creatinine=scr,
            sex="male",
            weight_basis=WeightBasis.ACTUAL,
        )


def test_explicit_conversion_from_umol_per_l_gives_same_result() -> None:
    # 88.4 µmol/L = 1.0 mg/dL (conventional creatinine factor) -> 77.78 -> 78, as above.
    result = cockcroft_gault(
        age=years(60),
        weight=kg(70),
        serum_creatinine=umol_per_l("88.4").to(Unit.mg_per_dl),
        sex="male",
        weight_basis=WeightBasis.ACTUAL,
    )
    assert result.crcl == ml_per_min(78)


@pytest.mark.parametrize("sex", ["other", "unknown"], ids=["other", "unknown"])
def test_sex_other_than_male_or_female_is_refused(sex: str) -> None:
    with pytest.raises(InvalidQuantity, match="defined only for male and female"):
        crcl("60", "70", "1", sex)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("77.49", "77"), ("77.5", "78"), ("78.5", "79")],
    ids=["below half", "half rounds up", "half up not half even"],
)
def test_round_crcl_whole_ml_per_min_half_up(value: str, expected: str) -> None:
    assert round_crcl_ml_per_min(Decimal(value)) == Decimal(expected)


def test_creatinine_0_01_mg_per_dl_is_refused_not_turned_into_8889_ml_per_min() -> None:
    # Given SCr 0.01 mg/dL, age 60, 80 kg: Cockcroft & Gault (Nephron 1976) would give
    # (140 − 60) × 80 / (72 × 0.01) = 8,889 mL/min, no human clearance.
    with pytest.raises(ImplausibleInput) as refused:
        crcl("60", "80", "0.01", "male")
    assert str(refused.value) == (
        "serum_creatinine_mg_per_dl 0.01 is below the plausible minimum 0.2 mg/dL; "
        "check the unit (mg/dL, not µmol/L or mg/L)."
    )


def test_creatinine_2_1_umol_per_l_is_refused_after_explicit_conversion() -> None:
    # Given 2.1 µmol/L (a value typed in the wrong unit): 2.1 / 88.4 = 0.0238 mg/dL, below the
    # plausible minimum (creatinine 88.4 µmol/L per mg/dL, molar mass 113.12 g/mol).
    with pytest.raises(ImplausibleInput, match=r"below the plausible minimum 0\.2 mg/dL"):
        cockcroft_gault(
            age=years(60),
            weight=kg(80),
            serum_creatinine=umol_per_l("2.1").to(Unit.mg_per_dl),
            sex="male",
            weight_basis=WeightBasis.ACTUAL,
        )
