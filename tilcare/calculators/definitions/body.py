"""Body size and renal function: BSA, BMI, ideal and adjusted weight, creatinine clearance.

(No `from __future__ import annotations`: ninja and pydantic read these annotations at import.)
"""

from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema

from tilcare.calculators.definitions.center_settings import setting_field
from tilcare.calculators.definitions.limits import checker
from tilcare.calculators.registry import Calculator, Outcome, register
from tilcare.clinical.body_size import (
    HEIGHT_MAX_CM,
    HEIGHT_MIN_CM,
    WEIGHT_MAX_KG,
    WEIGHT_MIN_KG,
    BsaFormula,
    ShortStature,
    adjusted_body_weight,
    body_mass_index,
    body_surface_area,
    ideal_body_weight,
)
from tilcare.clinical.dosing.settings import IDEAL_WEIGHT_BELOW_60_IN
from tilcare.clinical.renal import (
    AGE_MAX_YEARS,
    AGE_MIN_YEARS,
    SCR_MAX_MG_PER_DL,
    SCR_MIN_MG_PER_DL,
    WeightBasis,
    cockcroft_gault,
)
from tilcare.clinical.units import cm, kg, mg_per_dl, years
from tilcare.core.api_support import checked_range

GROUP = "Body size and renal function"
SexChoice = Literal["male", "female"]
# The clinical core refuses a number outside these plausible ranges on its field, naming the limit
# (clinical/body_size.py, clinical/renal.py); the API document declares them.
WEIGHT_RANGE = checked_range(WEIGHT_MIN_KG, WEIGHT_MAX_KG)
HEIGHT_RANGE = checked_range(HEIGHT_MIN_CM, HEIGHT_MAX_CM)


class WeightHeightIn(Schema):
    weight_kg: Decimal = Field(
        ..., title="Weight (kg)", description="kg, 20–350", json_schema_extra=WEIGHT_RANGE
    )
    height_cm: Decimal = Field(
        ..., title="Height (cm)", description="cm, 100–250", json_schema_extra=HEIGHT_RANGE
    )


class BsaIn(WeightHeightIn):
    formula: Literal["mosteller", "dubois"] = Field(
        ..., title="Formula", description="mosteller or dubois, as your center's protocol sets it"
    )


def run_bsa(data: BsaIn) -> Outcome:
    result = body_surface_area(kg(data.weight_kg), cm(data.height_cm), BsaFormula(data.formula))
    name = "Mosteller" if data.formula == "mosteller" else "DuBois"
    return Outcome(f"BSA {result.bsa} ({name})", result)


def run_bmi(data: WeightHeightIn) -> Outcome:
    result = body_mass_index(kg(data.weight_kg), cm(data.height_cm))
    return Outcome(f"BMI {result.bmi_kg_per_m2} kg/m²", result)


# The center's rule below 152.4 cm (60 in): optional, and asked for by name only below it.
_BELOW_60_IN_TYPE = setting_field(IDEAL_WEIGHT_BELOW_60_IN)[0]


def _below_60_in() -> object:
    return setting_field(IDEAL_WEIGHT_BELOW_60_IN)[1]


def _short_stature(value: str | None) -> ShortStature | None:
    return None if value is None else ShortStature(value)


class IdealWeightIn(Schema):
    height_cm: Decimal = Field(
        ..., title="Height (cm)", description="cm, 100–250", json_schema_extra=HEIGHT_RANGE
    )
    sex: SexChoice = Field(..., title="Sex", description="male or female (Devine)")
    ideal_weight_below_152_4_cm: _BELOW_60_IN_TYPE = _below_60_in()  # type: ignore[valid-type]
    # Refused here: the clinical core reads it only below 152.4 cm.
    weight_kg: Annotated[
        Decimal | None, checker("weight_kg", WEIGHT_MIN_KG, WEIGHT_MAX_KG, "kg")
    ] = Field(
        None,
        title="Actual weight (kg)",
        description="kg, 20–350; needed only below 152.4 cm if the center uses the actual weight",
        json_schema_extra=WEIGHT_RANGE,
    )


def run_ideal_weight(data: IdealWeightIn) -> Outcome:
    result = ideal_body_weight(
        cm(data.height_cm),
        data.sex,
        short_stature=_short_stature(data.ideal_weight_below_152_4_cm),
        actual_weight=None if data.weight_kg is None else kg(data.weight_kg),
    )
    name = "Devine" if result.short_stature is None else "below 152.4 cm, the center's rule"
    return Outcome(f"Ideal body weight {result.ideal_weight} ({name})", result)


class AdjustedWeightIn(WeightHeightIn):
    sex: SexChoice = Field(..., title="Sex", description="male or female (Devine)")
    factor: Decimal = Field(
        ...,
        title="Adjustment factor",
        description=(
            "0–1, set by your center's protocol; no default: 0.4 comes from aminoglycoside "
            "dosing and conditioning practice varies"
        ),
        json_schema_extra=checked_range(0, 1),
    )
    ideal_weight_below_152_4_cm: _BELOW_60_IN_TYPE = _below_60_in()  # type: ignore[valid-type]


def run_adjusted_weight(data: AdjustedWeightIn) -> Outcome:
    result = adjusted_body_weight(
        kg(data.weight_kg),
        cm(data.height_cm),
        data.sex,
        factor=data.factor,
        short_stature=_short_stature(data.ideal_weight_below_152_4_cm),
    )
    return Outcome(f"Adjusted body weight {result.adjusted_weight}", result)


class CreatinineClearanceIn(Schema):
    age_years: Decimal = Field(
        ...,
        title="Age (years)",
        description="years, 18–120",
        json_schema_extra=checked_range(AGE_MIN_YEARS, AGE_MAX_YEARS),
    )
    weight_kg: Decimal = Field(
        ...,
        title="Weight (kg)",
        description="kg, the weight the protocol's basis names",
        json_schema_extra=WEIGHT_RANGE,
    )
    weight_basis: Literal["actual", "ideal", "adjusted"] = Field(
        ...,
        title="Weight basis",
        description=(
            "Which weight your center's protocol uses (no default: your center's pharmacist "
            "and treating physician choose it)"
        ),
    )
    serum_creatinine_mg_per_dl: Decimal = Field(
        ...,
        title="Serum creatinine (mg/dL)",
        description="mg/dL, 0.2–20",
        json_schema_extra=checked_range(SCR_MIN_MG_PER_DL, SCR_MAX_MG_PER_DL),
    )
    sex: SexChoice = Field(..., title="Sex")


def run_crcl(data: CreatinineClearanceIn) -> Outcome:
    result = cockcroft_gault(
        age=years(data.age_years),
        weight=kg(data.weight_kg),
        serum_creatinine=mg_per_dl(data.serum_creatinine_mg_per_dl),
        sex=data.sex,
        weight_basis=WeightBasis(data.weight_basis),
    )
    return Outcome(f"Creatinine clearance {result.crcl}", result)


register(
    Calculator(
        slug="bsa",
        title="Body surface area",
        group=GROUP,
        purpose="BSA by Mosteller or DuBois, for mg/m² doses.",
        input_schema=BsaIn,
        run=run_bsa,
        example={"weight_kg": "70", "height_cm": "175", "formula": "mosteller"},
    )
)
register(
    Calculator(
        slug="bmi",
        title="Body-mass index",
        group=GROUP,
        purpose="BMI from weight and height.",
        input_schema=WeightHeightIn,
        run=run_bmi,
        example={"weight_kg": "70", "height_cm": "175"},
    )
)
register(
    Calculator(
        slug="ideal-body-weight",
        title="Ideal body weight (Devine)",
        group=GROUP,
        purpose="Devine ideal body weight for a weight-basis decision.",
        input_schema=IdealWeightIn,
        run=run_ideal_weight,
        example={"height_cm": "175", "sex": "male"},
    )
)
register(
    Calculator(
        slug="adjusted-body-weight",
        title="Adjusted body weight",
        group=GROUP,
        purpose="IBW + factor × (actual − IBW), with the protocol's factor.",
        input_schema=AdjustedWeightIn,
        run=run_adjusted_weight,
        example={"weight_kg": "110", "height_cm": "175", "sex": "male", "factor": "0.4"},
    )
)
register(
    Calculator(
        slug="creatinine-clearance",
        title="Creatinine clearance (Cockcroft–Gault)",
        group=GROUP,
        purpose="Estimated CrCl for renal dose bands and eligibility.",
        input_schema=CreatinineClearanceIn,
        run=run_crcl,
        example={
            "age_years": "55",
            "weight_kg": "80",
            "weight_basis": "actual",
            "serum_creatinine_mg_per_dl": "1.0",
            "sex": "male",
        },
    )
)
