"""Body size: body surface area, body-mass index, ideal and adjusted body weight.

Inputs are `Quantity` values in kg and cm exactly (a weight in g or a height in m is refused, not
converted: convert explicitly with `.to(Unit.kg)` first). Plausibility limits, inclusive:
weight 20–350 kg, height 100–250 cm; values outside are refused with `ImplausibleInput` naming
the limit.

Formulas, each with its published source:
  * Mosteller BSA (m²) = √(height_cm × weight_kg / 3600) — Mosteller RD, N Engl J Med
    1987;317:1098. Computed with Decimal.sqrt().
  * DuBois BSA (m²) = 0.007184 × height_cm^0.725 × weight_kg^0.425 — DuBois D, DuBois EF, Arch
    Intern Med 1916;17:863. Powers computed as exp(p × ln x) on Decimal under a local context of
    50 significant digits.
  * BMI (kg/m²) = weight_kg / (height_cm / 100)².
  * Ideal body weight, Devine: men 50 kg + 2.3 kg × (height_in − 60), women 45.5 kg + 2.3 kg ×
    (height_in − 60), height_in = height_cm / 2.54 (exact, by definition of the inch). Defined
    only for male and female. Below 60 inches (152.4 cm) the formula has no base and practice
    varies ("subtract 2.3 kg per inch below 60, or use actual weight", review of the clinical
    core, December 2026), so the center sets what to do (`ShortStature`, no default): subtract
    2.3 kg per inch below 60 in, use the actual body weight, or refuse. Unset, a height below
    152.4 cm is refused with a message naming the setting; an extrapolated weight below the
    plausible minimum 20 kg is refused.
  * Adjusted body weight = IBW + factor × (actual − IBW). The common factor 0.4 is an
    aminoglycoside convention (Traynor 1995) and conditioning practice varies from 25 % to 50 %
    of the excess weight, so `factor` is a required keyword with no default.

Rounding (only through the named functions below, ROUND_HALF_UP): BSA to 2 decimal places in m²
(`round_bsa_m2`), BMI to 1 decimal place (`round_bmi`), IBW and adjusted weight to 1 decimal place
in kg (`round_weight_kg`). Results carry the unrounded value too.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from tilcare.clinical.units import (
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    check_plausible,
    to_decimal,
)

WEIGHT_MIN_KG = Decimal(20)
WEIGHT_MAX_KG = Decimal(350)
HEIGHT_MIN_CM = Decimal(100)
HEIGHT_MAX_CM = Decimal(250)
CM_PER_INCH = Decimal("2.54")
DEVINE_MIN_HEIGHT_IN = Decimal(60)

MOSTELLER_SOURCE = "Mosteller RD. Simplified calculation of body-surface area. NEJM 1987;317:1098"
DUBOIS_SOURCE = "DuBois D, DuBois EF. Arch Intern Med 1916;17:863"
DEVINE_SOURCE = "Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650–655"
ADJUSTED_SOURCE = (
    "Pharmacy convention IBW + factor × (actual − IBW); the factor is set by the center's "
    "protocol (0.4 comes from aminoglycoside dosing, Traynor 1995; conditioning practice varies)"
)
BMI_SOURCE = "Body-mass index (Quetelet): weight_kg / height_m²"

_DUBOIS_PRECISION = 50


class ShortStature(Enum):
    """What the center does below 60 in (152.4 cm), where the Devine formula has no base."""

    SUBTRACT_2_3_KG_PER_INCH = "subtract_2_3_kg_per_inch"
    USE_ACTUAL_WEIGHT = "use_actual_weight"
    REFUSE = "refuse"


SHORT_STATURE_KEY = "ideal_weight_below_152_4_cm"
SHORT_STATURE_LABEL = "Ideal body weight below 152.4 cm (60 in)"
SHORT_STATURE_WHY = (
    "the Devine formula starts at 60 inches (152.4 cm) and practice varies below it: subtract "
    "2.3 kg per inch below 60 in, or use the actual body weight; or refuse, so that the "
    "prescriber sets the weight for each such patient. The center's pharmacists and physicians "
    "choose one; there is no default."
)
SHORT_STATURE_SOURCE = (
    "Center setting for heights below 60 in: practice varies (subtract 2.3 kg per inch below "
    "60, or use actual weight)"
)


class ShortStatureNotSet(ImplausibleInput):
    """A height below 152.4 cm with no center setting for it."""

    def __init__(self) -> None:
        super().__init__(
            f"Set '{SHORT_STATURE_LABEL}' ({SHORT_STATURE_KEY}) in the center's protocol "
            f"settings: {SHORT_STATURE_WHY}"
        )


class BsaFormula(Enum):
    MOSTELLER = "mosteller"
    DUBOIS = "dubois"


_BSA_FORMULA_TEXT = {
    BsaFormula.MOSTELLER: "BSA (m²) = √(height_cm × weight_kg / 3600)",
    BsaFormula.DUBOIS: "BSA (m²) = 0.007184 × height_cm^0.725 × weight_kg^0.425",
}
_BSA_SOURCE = {BsaFormula.MOSTELLER: MOSTELLER_SOURCE, BsaFormula.DUBOIS: DUBOIS_SOURCE}


class Sex(Enum):
    """The two sexes for which the Devine and Cockcroft–Gault formulas are defined."""

    MALE = "male"
    FEMALE = "female"


def parse_sex(sex: str | Sex, formula: str) -> Sex:
    """Accept "male"/"female" (any case) or a Sex; refuse anything else, naming the formula."""
    if isinstance(sex, Sex):
        return sex
    text = sex.strip().lower() if isinstance(sex, str) else ""
    for member in Sex:
        if text == member.value:
            return member
    raise InvalidQuantity(
        f"Sex {sex!r}: the {formula} formula is defined only for male and female; "
        "it cannot be applied here — use a weight the protocol specifies instead."
    )


# Rounding --------------------------------------------------------------------------------------


def round_bsa_m2(value: Decimal) -> Decimal:
    """BSA in m² to 2 decimal places, half up."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def round_bmi(value: Decimal) -> Decimal:
    """BMI in kg/m² to 1 decimal place, half up."""
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def round_weight_kg(value: Decimal) -> Decimal:
    """A derived body weight in kg to 1 decimal place, half up."""
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# Input checks ----------------------------------------------------------------------------------


def checked_weight_kg(weight: Quantity) -> Decimal:
    value = weight.require(Unit.kg, "weight")
    return check_plausible(value, "weight_kg", "kg", minimum=WEIGHT_MIN_KG, maximum=WEIGHT_MAX_KG)


def checked_height_cm(height: Quantity) -> Decimal:
    value = height.require(Unit.cm, "height")
    return check_plausible(value, "height_cm", "cm", minimum=HEIGHT_MIN_CM, maximum=HEIGHT_MAX_CM)


# Body surface area -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BsaResult:
    weight_kg: Decimal
    height_cm: Decimal
    formula: BsaFormula
    formula_text: str
    source: str
    unrounded_m2: Decimal
    bsa: Quantity  # in m², rounded by round_bsa_m2
    rounding: str = "round_bsa_m2: 2 decimal places, half up"


def _power(base: Decimal, exponent: Decimal) -> Decimal:
    return (exponent * base.ln()).exp()


def body_surface_area(weight: Quantity, height: Quantity, formula: BsaFormula) -> BsaResult:
    """BSA by the chosen formula; weight in kg and height in cm, within plausibility limits."""
    weight_kg = checked_weight_kg(weight)
    height_cm = checked_height_cm(height)
    if not isinstance(formula, BsaFormula):
        raise InvalidQuantity(f"formula {formula!r} must be a BsaFormula.")
    with decimal.localcontext() as ctx:
        ctx.prec = _DUBOIS_PRECISION
        if formula is BsaFormula.MOSTELLER:
            unrounded = (height_cm * weight_kg / Decimal(3600)).sqrt()
        else:
            unrounded = (
                Decimal("0.007184")
                * _power(height_cm, Decimal("0.725"))
                * _power(weight_kg, Decimal("0.425"))
            )
    return BsaResult(
        weight_kg=weight_kg,
        height_cm=height_cm,
        formula=formula,
        formula_text=_BSA_FORMULA_TEXT[formula],
        source=_BSA_SOURCE[formula],
        unrounded_m2=unrounded,
        bsa=Quantity(round_bsa_m2(unrounded), Unit.m2),
    )


# Body-mass index -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BmiResult:
    weight_kg: Decimal
    height_cm: Decimal
    unrounded_kg_per_m2: Decimal
    bmi_kg_per_m2: Decimal  # rounded by round_bmi
    formula: str = "BMI (kg/m²) = weight_kg / (height_cm / 100)²"
    source: str = BMI_SOURCE
    rounding: str = "round_bmi: 1 decimal place, half up"


def body_mass_index(weight: Quantity, height: Quantity) -> BmiResult:
    weight_kg = checked_weight_kg(weight)
    height_cm = checked_height_cm(height)
    height_m = height_cm / Decimal(100)
    unrounded = weight_kg / (height_m * height_m)
    return BmiResult(
        weight_kg=weight_kg,
        height_cm=height_cm,
        unrounded_kg_per_m2=unrounded,
        bmi_kg_per_m2=round_bmi(unrounded),
    )


# Ideal and adjusted body weight ----------------------------------------------------------------

_DEVINE_BASE_KG = {Sex.MALE: Decimal(50), Sex.FEMALE: Decimal("45.5")}


_DEVINE_FORMULA = (
    "IBW (kg) = 50 (men) or 45.5 (women) + 2.3 × (height_cm / 2.54 − 60); "
    "defined for height ≥ 60 in (152.4 cm)"
)
_SHORT_STATURE_FORMULA = {
    ShortStature.SUBTRACT_2_3_KG_PER_INCH: (
        "height below 60 in: IBW (kg) = 50 (men) or 45.5 (women) − 2.3 × (60 − height_cm / 2.54)"
    ),
    ShortStature.USE_ACTUAL_WEIGHT: "height below 60 in: IBW taken as the actual body weight",
}


@dataclass(frozen=True)
class IdealBodyWeightResult:
    height_cm: Decimal
    sex: Sex
    height_in: Decimal
    unrounded_kg: Decimal
    ideal_weight: Quantity  # in kg, rounded by round_weight_kg
    formula: str = _DEVINE_FORMULA
    source: str = DEVINE_SOURCE
    rounding: str = "round_weight_kg: 1 decimal place, half up"
    short_stature: ShortStature | None = None  # the center's rule, when it was applied


def below_devine_base(height: Quantity) -> bool:
    """Whether a (plausible) height is below 60 in (152.4 cm), where the center's rule applies."""
    return checked_height_cm(height) / CM_PER_INCH < DEVINE_MIN_HEIGHT_IN


def ideal_body_weight(
    height: Quantity,
    sex: str | Sex,
    *,
    short_stature: ShortStature | None = None,
    actual_weight: Quantity | None = None,
) -> IdealBodyWeightResult:
    """Devine ideal body weight; refuses sexes other than male/female.

    Below 152.4 cm `short_stature` is the center's rule (None: not set, refused with the
    setting's name); `actual_weight` is needed when that rule uses the actual body weight.
    """
    height_cm = checked_height_cm(height)
    parsed = parse_sex(sex, "Devine ideal body weight")
    height_in = height_cm / CM_PER_INCH
    base_kg = _DEVINE_BASE_KG[parsed]
    unrounded = base_kg + Decimal("2.3") * (height_in - DEVINE_MIN_HEIGHT_IN)
    applied: ShortStature | None = None  # the center's rule, below 60 in only
    formula, source = _DEVINE_FORMULA, DEVINE_SOURCE
    if height_in < DEVINE_MIN_HEIGHT_IN:
        if short_stature is None:
            raise ShortStatureNotSet()
        if not isinstance(short_stature, ShortStature):
            raise InvalidQuantity(f"{SHORT_STATURE_KEY} {short_stature!r} must be a ShortStature.")
        if short_stature is ShortStature.REFUSE:
            raise ImplausibleInput(
                f"height_cm {height_cm} is below 152.4 cm (60 in), and the center's setting "
                f"'{SHORT_STATURE_LABEL}' ({SHORT_STATURE_KEY}) is to refuse: the prescribing "
                "physician and pharmacist set this patient's weight."
            )
        if short_stature is ShortStature.USE_ACTUAL_WEIGHT:
            if actual_weight is None:
                raise ImplausibleInput(
                    f"weight_kg is needed: height_cm {height_cm} is below 152.4 cm (60 in), "
                    f"where the center's setting ({SHORT_STATURE_KEY}) uses the actual body "
                    "weight."
                )
            unrounded = checked_weight_kg(actual_weight)
        elif unrounded < WEIGHT_MIN_KG:
            raise ImplausibleInput(
                f"height_cm {height_cm}: subtracting 2.3 kg per inch below 60 in gives "
                f"{round_weight_kg(unrounded)} kg, below the plausible minimum {WEIGHT_MIN_KG} kg."
            )
        applied = short_stature
        formula = _SHORT_STATURE_FORMULA[short_stature]
        source = f"{DEVINE_SOURCE}; {SHORT_STATURE_SOURCE} ({SHORT_STATURE_KEY})"
    return IdealBodyWeightResult(
        height_cm=height_cm,
        sex=parsed,
        height_in=height_in,
        unrounded_kg=unrounded,
        ideal_weight=Quantity(round_weight_kg(unrounded), Unit.kg),
        formula=formula,
        source=source,
        short_stature=applied,
    )


@dataclass(frozen=True)
class AdjustedBodyWeightResult:
    weight_kg: Decimal
    height_cm: Decimal
    sex: Sex
    factor: Decimal
    ideal: IdealBodyWeightResult
    unrounded_kg: Decimal
    adjusted_weight: Quantity  # in kg, rounded by round_weight_kg
    formula: str = "AdjBW (kg) = IBW + factor × (actual_kg − IBW), IBW unrounded (Devine)"
    source: str = ADJUSTED_SOURCE
    rounding: str = "round_weight_kg: 1 decimal place, half up"


def adjusted_body_weight(
    weight: Quantity,
    height: Quantity,
    sex: str | Sex,
    *,
    factor: Decimal | str | int,
    short_stature: ShortStature | None = None,
) -> AdjustedBodyWeightResult:
    """Adjusted body weight with a protocol-set `factor` (0 to 1; no default, see docstring).

    `short_stature` is the center's rule for the ideal weight below 152.4 cm (see
    `ideal_body_weight`).
    """
    weight_kg = checked_weight_kg(weight)
    factor_value = to_decimal(factor, "factor")
    if not Decimal(0) <= factor_value <= Decimal(1):
        raise ImplausibleInput(f"factor {factor_value} must lie between 0 and 1.")
    ideal = ideal_body_weight(height, sex, short_stature=short_stature, actual_weight=weight)
    unrounded = ideal.unrounded_kg + factor_value * (weight_kg - ideal.unrounded_kg)
    return AdjustedBodyWeightResult(
        weight_kg=weight_kg,
        height_cm=ideal.height_cm,
        sex=ideal.sex,
        factor=factor_value,
        ideal=ideal,
        unrounded_kg=unrounded,
        adjusted_weight=Quantity(round_weight_kg(unrounded), Unit.kg),
    )
