"""Creatinine clearance by Cockcroft–Gault.

Formula: CrCl (mL/min) = (140 − age_years) × weight_kg / (72 × SCr_mg_per_dl), × 0.85 if female.
Source: Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine.
Nephron 1976;16:31–41. The project's reference notes (clinical-reference.md §9) mark this formula
NOT CONFIRMED in retrieved text (standard formula, given from memory): each center must validate
it against the primary paper before relying on it.

Weight basis: which weight to use (actual, ideal or adjusted) is set by protocol and has no
default. The caller chooses the weight (for example with `tilcare.clinical.body_size`) and passes
it with the `WeightBasis` it represents; the result records that basis.

Units: age as a `Quantity` in years, weight in kg, serum creatinine in mg/dL exactly (a value in
µmol/L is refused, not converted: convert explicitly with `.to(Unit.mg_per_dl)`).
Limits (refused with `ImplausibleInput` naming the limit): age 18–120 years inclusive (the
formula was derived in adults), weight 20–350 kg inclusive, serum creatinine 0.2–20 mg/dL
inclusive (17.7–1768 µmol/L). Below 0.2 mg/dL a value is taken for a unit error rather than a
measurement: 0.01 mg/dL would give a clearance of thousands of mL/min, and 2.1 µmol/L (0.024
mg/dL) is a value in the wrong unit; both are refused naming the limit.
Sex: defined only for male and female.
Rounding: to a whole mL/min, half up, only through `round_crcl_ml_per_min`; the unrounded value
is kept in the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from tilcare.clinical.body_size import Sex, checked_weight_kg, parse_sex
from tilcare.clinical.units import (
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    check_plausible,
)

SOURCE = (
    "Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. "
    "Nephron 1976;16:31–41"
)
FORMULA = "CrCl (mL/min) = (140 − age_years) × weight_kg / (72 × SCr_mg_per_dl) × 0.85 if female"

AGE_MIN_YEARS = Decimal(18)
AGE_MAX_YEARS = Decimal(120)
SCR_MIN_MG_PER_DL = Decimal("0.2")
SCR_MAX_MG_PER_DL = Decimal(20)
FEMALE_FACTOR = Decimal("0.85")


class WeightBasis(Enum):
    """Which body weight the protocol uses in Cockcroft–Gault. No default: the protocol sets it."""

    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"


def round_crcl_ml_per_min(value: Decimal) -> Decimal:
    """Creatinine clearance to a whole mL/min, half up."""
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CreatinineClearanceResult:
    age_years: Decimal
    weight_kg: Decimal
    weight_basis: WeightBasis
    serum_creatinine_mg_per_dl: Decimal
    sex: Sex
    female_factor_applied: bool
    unrounded_ml_per_min: Decimal
    crcl: Quantity  # in mL/min, rounded by round_crcl_ml_per_min
    formula: str = FORMULA
    source: str = SOURCE
    rounding: str = "round_crcl_ml_per_min: whole mL/min, half up"


def cockcroft_gault(
    *,
    age: Quantity,
    weight: Quantity,
    serum_creatinine: Quantity,
    sex: str | Sex,
    weight_basis: WeightBasis,
) -> CreatinineClearanceResult:
    """Cockcroft–Gault CrCl; `weight` must already be the weight `weight_basis` names."""
    if not isinstance(weight_basis, WeightBasis):
        raise InvalidQuantity(
            f"weight_basis {weight_basis!r} must be a WeightBasis (actual, ideal or adjusted), "
            "as set by the protocol."
        )
    age_years = age.require(Unit.years, "age")
    if age_years < AGE_MIN_YEARS:
        raise ImplausibleInput(
            f"age_years {age_years} is below the minimum {AGE_MIN_YEARS} years "
            "(Cockcroft–Gault is an adult formula)."
        )
    check_plausible(age_years, "age_years", "years", maximum=AGE_MAX_YEARS)
    weight_kg = checked_weight_kg(weight)
    scr = serum_creatinine.require(Unit.mg_per_dl, "serum creatinine")
    if scr <= 0:
        raise ImplausibleInput(f"serum_creatinine_mg_per_dl {scr} must be greater than 0 mg/dL.")
    if scr < SCR_MIN_MG_PER_DL:
        raise ImplausibleInput(
            f"serum_creatinine_mg_per_dl {scr} is below the plausible minimum "
            f"{SCR_MIN_MG_PER_DL} mg/dL; check the unit (mg/dL, not µmol/L or mg/L)."
        )
    check_plausible(scr, "serum_creatinine_mg_per_dl", "mg/dL", maximum=SCR_MAX_MG_PER_DL)
    parsed_sex = parse_sex(sex, "Cockcroft–Gault")
    unrounded = (Decimal(140) - age_years) * weight_kg / (Decimal(72) * scr)
    female = parsed_sex is Sex.FEMALE
    if female:
        unrounded = unrounded * FEMALE_FACTOR
    return CreatinineClearanceResult(
        age_years=age_years,
        weight_kg=weight_kg,
        weight_basis=weight_basis,
        serum_creatinine_mg_per_dl=scr,
        sex=parsed_sex,
        female_factor_applied=female,
        unrounded_ml_per_min=unrounded,
        crcl=Quantity(round_crcl_ml_per_min(unrounded), Unit.ml_per_min),
    )
