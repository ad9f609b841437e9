"""BSA (Mosteller, DuBois), BMI, Devine ideal and adjusted body weight, with hand-worked cases.

Formulas as given in clinical-reference.md §9; each expected value is worked by hand in its case.
"""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.body_size import (
    BsaFormula,
    Sex,
    ShortStature,
    ShortStatureNotSet,
    adjusted_body_weight,
    body_mass_index,
    body_surface_area,
    ideal_body_weight,
    round_bsa_m2,
)
from tilcare.clinical.units import (
    ImplausibleInput,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
    cm,
    g,
    kg,
    m,
    m2,
)

MOSTELLER = BsaFormula.MOSTELLER
DUBOIS = BsaFormula.DUBOIS


@pytest.mark.parametrize(
    ("weight_kg", "height_cm", "formula", "expected_m2"),
    [
        # Mosteller NEJM 1987;317:1098: √(170 × 70 / 3600) = √(11900/3600) = √3.3055… = 1.8181…
        ("70", "170", MOSTELLER, "1.82"),
        # Mosteller: √(180 × 100 / 3600) = √5 = 2.2360… -> 2.24
        ("100", "180", MOSTELLER, "2.24"),
        # Mosteller: √(150 × 60 / 3600) = √2.5 = 1.5811… -> 1.58
        ("60", "150", MOSTELLER, "1.58"),
        # Mosteller: √(100 × 36 / 3600) = √1 = 1 -> 1.00
        ("36", "100", MOSTELLER, "1.00"),
        # DuBois Arch Intern Med 1916;17:863: ln 170 = 5.13580 × 0.725 = 3.72345;
        # ln 70 = 4.24850 × 0.425 = 1.80561; e^(5.52906) = 251.906; × 0.007184 = 1.8097 -> 1.81
        ("70", "170", DUBOIS, "1.81"),
        # DuBois: ln 150 = 5.01064 × 0.725 = 3.63271; ln 60 = 4.09434 × 0.425 = 1.74010;
        # e^(5.37281) = 215.49; × 0.007184 = 1.5481 -> 1.55
        ("60", "150", DUBOIS, "1.55"),
    ],
    ids=[
        "Mosteller 70kg 170cm",
        "Mosteller 100kg 180cm",
        "Mosteller 60kg 150cm",
        "Mosteller 36kg 100cm",
        "DuBois 70kg 170cm",
        "DuBois 60kg 150cm",
    ],
)
def test_bsa_worked_examples(
    weight_kg: str, height_cm: str, formula: BsaFormula, expected_m2: str
) -> None:
    result = body_surface_area(kg(weight_kg), cm(height_cm), formula)
    assert result.bsa == m2(expected_m2)
    assert result.bsa.unit is Unit.m2
    assert result.weight_kg == Decimal(weight_kg)
    assert result.height_cm == Decimal(height_cm)
    assert result.formula is formula


def test_bsa_result_names_formula_and_source() -> None:
    mosteller = body_surface_area(kg(70), cm(170), MOSTELLER)
    dubois = body_surface_area(kg(70), cm(170), DUBOIS)
    assert "3600" in mosteller.formula_text
    assert "NEJM 1987;317:1098" in mosteller.source
    assert "0.007184" in dubois.formula_text
    assert "Arch Intern Med 1916;17:863" in dubois.source


def test_bsa_keeps_unrounded_value() -> None:
    # Mosteller 70 kg 170 cm: √3.30555… = 1.81811868…
    result = body_surface_area(kg(70), cm(170), MOSTELLER)
    assert str(result.unrounded_m2).startswith("1.818118")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.814999", "1.81"), ("1.815", "1.82"), ("1.825", "1.83")],
    ids=["below half", "exact half rounds up", "half up not half even"],
)
def test_round_bsa_m2_half_up_to_two_places(value: str, expected: str) -> None:
    assert round_bsa_m2(Decimal(value)) == Decimal(expected)


@pytest.mark.parametrize(
    ("weight", "height", "message"),
    [
        (kg("19.99"), cm(170), "below the plausible minimum 20 kg"),
        (kg("350.01"), cm(170), "above the plausible maximum 350 kg"),
        (kg(70), cm("99.9"), "below the plausible minimum 100 cm"),
        (kg(70), cm("250.1"), "above the plausible maximum 250 cm"),
    ],
    ids=["weight below 20", "weight above 350", "height below 100", "height above 250"],
)
def test_implausible_inputs_are_refused_naming_the_limit(
    weight: Quantity, height: Quantity, message: str
) -> None:
    # Limits from the clinical-core brief: weight 20–350 kg, height 100–250 cm, inclusive.
    for formula in BsaFormula:
        with pytest.raises(ImplausibleInput, match=message):
            body_surface_area(weight, height, formula)
    with pytest.raises(ImplausibleInput, match=message):
        body_mass_index(weight, height)


@pytest.mark.parametrize(
    ("weight", "height"),
    [(kg(20), cm(170)), (kg(350), cm(170)), (kg(70), cm(100)), (kg(70), cm(250))],
    ids=["weight 20", "weight 350", "height 100", "height 250"],
)
def test_limits_themselves_are_accepted(weight: Quantity, height: Quantity) -> None:
    for formula in BsaFormula:
        assert body_surface_area(weight, height, formula).bsa > m2(0)


@pytest.mark.parametrize(
    ("weight", "height"),
    [(g(70000), cm(170)), (kg(70), m("1.7"))],
    ids=["weight in g", "height in m"],
)
def test_wrong_units_are_refused_not_converted(weight: Quantity, height: Quantity) -> None:
    with pytest.raises(UnitMismatch):
        body_surface_area(weight, height, MOSTELLER)


@given(
    weight=st.decimals(min_value=20, max_value=349, places=2),
    extra=st.decimals(min_value=Decimal("0.01"), max_value=1, places=2),
    height=st.decimals(min_value=100, max_value=250, places=1),
    formula=st.sampled_from(list(BsaFormula)),
)
def test_bsa_increases_with_weight(
    weight: Decimal, extra: Decimal, height: Decimal, formula: BsaFormula
) -> None:
    lighter = body_surface_area(Quantity(weight, Unit.kg), Quantity(height, Unit.cm), formula)
    heavier = body_surface_area(
        Quantity(weight + extra, Unit.kg), Quantity(height, Unit.cm), formula
    )
    assert heavier.unrounded_m2 > lighter.unrounded_m2
    assert heavier.bsa >= lighter.bsa


@pytest.mark.parametrize(
    ("weight_kg", "height_cm", "expected"),
    [
        # 70 / 1.7² = 70 / 2.89 = 24.221… -> 24.2
        ("70", "170", "24.2"),
        # 100 / 1.8² = 100 / 3.24 = 30.864… -> 30.9
        ("100", "180", "30.9"),
        # 25 / 1.0² = 25.0
        ("25", "100", "25.0"),
    ],
    ids=["BMI 70kg 170cm", "BMI 100kg 180cm", "BMI 25kg 100cm"],
)
def test_bmi_worked_examples(weight_kg: str, height_cm: str, expected: str) -> None:
    result = body_mass_index(kg(weight_kg), cm(height_cm))
    assert result.bmi_kg_per_m2 == Decimal(expected)
    assert "weight_kg" in result.formula


@pytest.mark.parametrize(
    ("height_cm", "sex", "expected_kg"),
    [
        # Devine (clinical-reference.md §9): 170 / 2.54 = 66.929 in; 50 + 2.3 × 6.929 = 65.937
        ("170", "male", "65.9"),
        # 45.5 + 2.3 × 6.929 = 61.437
        ("170", "female", "61.4"),
        # 152.4 cm = 60 in exactly: the base weight
        ("152.4", "male", "50.0"),
        ("152.4", "female", "45.5"),
        # 180 / 2.54 = 70.866 in; 50 + 2.3 × 10.866 = 74.992 -> 75.0
        ("180", "MALE", "75.0"),
        # 250 / 2.54 = 98.425 in; 45.5 + 2.3 × 38.425 = 133.878 -> 133.9
        ("250", "Female", "133.9"),
    ],
    ids=[
        "Devine male 170",
        "Devine female 170",
        "Devine male 60in",
        "Devine female 60in",
        "Devine male 180 upper case",
        "Devine female 250 mixed case",
    ],
)
def test_devine_ideal_body_weight(height_cm: str, sex: str, expected_kg: str) -> None:
    result = ideal_body_weight(cm(height_cm), sex)
    assert result.ideal_weight == kg(expected_kg)
    assert result.height_in == Decimal(height_cm) / Decimal("2.54")


def test_devine_accepts_sex_enum() -> None:
    assert ideal_body_weight(cm(170), Sex.FEMALE).sex is Sex.FEMALE


@pytest.mark.parametrize(
    "sex", ["other", "unknown", "", "M"], ids=["other", "unknown", "empty", "M"]
)
def test_devine_refuses_sex_other_than_male_or_female(sex: str) -> None:
    with pytest.raises(InvalidQuantity, match="defined only for male and female"):
        ideal_body_weight(cm(170), sex)


# Below 60 in the review of the clinical core (December 2026) found: "practice varies (subtract
# 2.3 kg per inch below 60, or use actual weight): a center setting, not a refusal".
SHORT = "clinical-reference.md section 12, Devine IBW below 152.4 cm (60 in)"


def test_devine_below_60_inches_without_the_center_setting_names_the_setting() -> None:
    # Given 152.3 cm = 59.96 in and no center rule. Source: SHORT: a setting with no default.
    with pytest.raises(ShortStatureNotSet) as refused:
        ideal_body_weight(cm("152.3"), "male")
    assert str(refused.value) == (
        "Set 'Ideal body weight below 152.4 cm (60 in)' (ideal_weight_below_152_4_cm) in the "
        "center's protocol settings: the Devine formula starts at 60 inches (152.4 cm) and "
        "practice varies below it: subtract 2.3 kg per inch below 60 in, or use the actual body "
        "weight; or refuse, so that the prescriber sets the weight for each such patient. The "
        "center's pharmacists and physicians choose one; there is no default."
    )


@pytest.mark.parametrize(
    ("sex", "expected_kg"),
    [
        # 150 / 2.54 = 59.055 in; 2.3 × 0.9449 = 2.1732 kg below the base: 50 − 2.1732 = 47.827
        ("male", "47.8"),
        # 45.5 − 2.1732 = 43.327
        ("female", "43.3"),
    ],
)
def test_devine_150_cm_subtracting_2_3_kg_per_inch(sex: str, expected_kg: str) -> None:
    # Source: SHORT, "subtract 2.3 kg per inch below 60".
    result = ideal_body_weight(cm(150), sex, short_stature=ShortStature.SUBTRACT_2_3_KG_PER_INCH)
    assert result.ideal_weight == kg(expected_kg)
    assert result.short_stature is ShortStature.SUBTRACT_2_3_KG_PER_INCH
    assert result.formula == (
        "height below 60 in: IBW (kg) = 50 (men) or 45.5 (women) − 2.3 × (60 − height_cm / 2.54)"
    )


def test_devine_150_cm_using_the_actual_weight() -> None:
    # Source: SHORT, "or use actual weight".
    result = ideal_body_weight(
        cm(150), "female", short_stature=ShortStature.USE_ACTUAL_WEIGHT, actual_weight=kg("51.2")
    )
    assert result.ideal_weight == kg("51.2")
    assert result.formula == "height below 60 in: IBW taken as the actual body weight"


@pytest.mark.parametrize(
    ("height_cm", "sex", "short_stature", "message"),
    [
        pytest.param(
            # Source: SHORT, "or use actual weight": without a weight there is nothing to use.
            150,
            "female",
            ShortStature.USE_ACTUAL_WEIGHT,
            "weight_kg is needed: height_cm 150 is below 152.4 cm (60 in), where the center's "
            "setting (ideal_weight_below_152_4_cm) uses the actual body weight.",
            id="using the actual weight needs the weight",
        ),
        pytest.param(
            # Source: SHORT: a center may keep the prescriber's own weight for each such patient.
            150,
            "male",
            ShortStature.REFUSE,
            "height_cm 150 is below 152.4 cm (60 in), and the center's setting 'Ideal body weight "
            "below 152.4 cm (60 in)' (ideal_weight_below_152_4_cm) is to refuse: the prescribing "
            "physician and pharmacist set this patient's weight.",
            id="a center that refuses",
        ),
        pytest.param(
            # Source: SHORT; 120 / 2.54 = 47.244 in, 2.3 × 12.756 = 29.339 kg below 45.5 =
            # 16.161 kg, below the plausible minimum weight of 20 kg.
            120,
            "female",
            ShortStature.SUBTRACT_2_3_KG_PER_INCH,
            "height_cm 120: subtracting 2.3 kg per inch below 60 in gives 16.2 kg, "
            "below the plausible minimum 20 kg.",
            id="subtracting below the plausible minimum weight",
        ),
    ],
)
def test_devine_below_60_in_is_refused_naming_why(
    height_cm: int, sex: str, short_stature: ShortStature, message: str
) -> None:
    with pytest.raises(ImplausibleInput) as refused:
        ideal_body_weight(cm(height_cm), sex, short_stature=short_stature)
    assert str(refused.value) == message


def test_the_short_stature_rule_is_not_used_from_60_inches() -> None:
    # Source: Devine: 152.4 cm is the formula's base; the center's rule applies only below it.
    result = ideal_body_weight(cm("152.4"), "male", short_stature=ShortStature.REFUSE)
    assert (result.ideal_weight, result.short_stature) == (kg("50.0"), None)


def test_adjusted_weight_at_150_cm_with_the_actual_weight_rule_is_the_actual_weight() -> None:
    # Source: SHORT; IBW = actual 70 kg, so 70 + 0.4 × (70 − 70) = 70.
    result = adjusted_body_weight(
        kg(70), cm(150), "male", factor="0.4", short_stature=ShortStature.USE_ACTUAL_WEIGHT
    )
    assert result.adjusted_weight == kg("70.0")


@pytest.mark.parametrize(
    ("factor", "expected_kg"),
    [
        # IBW (male 170 cm) 65.937; 65.937 + 0.4 × (120 − 65.937) = 65.937 + 21.625 = 87.562
        ("0.4", "87.6"),
        # factor 0 gives IBW; factor 1 gives actual weight
        ("0", "65.9"),
        ("1", "120.0"),
        # 65.937 + 0.25 × 54.063 = 79.453
        (Decimal("0.25"), "79.5"),
    ],
    ids=["factor 0.4", "factor 0", "factor 1", "factor 0.25"],
)
def test_adjusted_body_weight(factor: str | Decimal, expected_kg: str) -> None:
    result = adjusted_body_weight(kg(120), cm(170), "male", factor=factor)
    assert result.adjusted_weight == kg(expected_kg)
    assert result.factor == Decimal(factor)
    assert result.source == (
        "Pharmacy convention IBW + factor × (actual − IBW); the factor is set by the center's "
        "protocol (0.4 comes from aminoglycoside dosing, Traynor 1995; "
        "conditioning practice varies)"
    )


def test_adjusted_body_weight_factor_is_required() -> None:
    # clinical-reference.md §9 marks the 0.4 factor NOT CONFIRMED: no default.
    with pytest.raises(TypeError, match="factor"):
        adjusted_body_weight(kg(120), cm(170), "male")  # type: ignore[call-arg]


@pytest.mark.parametrize("factor", ["-0.01", "1.01"], ids=["below 0", "above 1"])
def test_adjusted_body_weight_factor_outside_0_to_1_is_refused(factor: str) -> None:
    with pytest.raises(ImplausibleInput, match="between 0 and 1"):
        adjusted_body_weight(kg(120), cm(170), "male", factor=factor)


def test_adjusted_body_weight_refuses_float_factor() -> None:
    with pytest.raises(TypeError, match="float"):
        adjusted_body_weight(kg(120), cm(170), "male", factor=0.4)  # type: ignore[arg-type]
