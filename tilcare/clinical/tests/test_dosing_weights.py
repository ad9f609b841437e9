"""The dosing weight's two shared center settings: a height below 152.4 cm and a dosing weight
above the actual weight (clinical-reference.md section 12, December 2026 review).

Devine ideal body weight and the adjusted weight as in clinical-reference.md section 9; the
cyclophosphamide weight basis is the example regimen's (tests/dosing_regimens.py).
"""

from decimal import Decimal

import pytest

from tilcare.clinical.dosing.settings import (
    DOSING_WEIGHT_ABOVE_ACTUAL,
    IDEAL_WEIGHT_BELOW_60_IN,
    AboveActual,
    CenterSettings,
    InvalidCenterSetting,
    MissingCenterSetting,
)
from tilcare.clinical.dosing.weights import DosingWeight, dosing_weight
from tilcare.clinical.tests.dosing_regimens import (
    CYCLOPHOSPHAMIDE,
    center,
    missing_message,
    plan,
)
from tilcare.clinical.units import cm, kg, ml_per_min

SHORT = (
    "clinical-reference.md section 12: Devine IBW below 152.4 cm (60 in): 'practice varies "
    "(subtract 2.3 kg per inch below 60, or use actual weight): a center setting, not a refusal'"
)
ABOVE = (
    "Issue of the December 2026 review: an ideal or adjusted weight above the actual weight of "
    "an underweight patient is refused unless the center's setting says otherwise"
)


def weight(
    settings: CenterSettings, weight_kg: str, height_cm: str, sex: str = "male"
) -> DosingWeight:
    assert CYCLOPHOSPHAMIDE.weight is not None
    return dosing_weight(
        CYCLOPHOSPHAMIDE.weight, settings, weight=kg(weight_kg), height=cm(height_cm), sex=sex
    )


# A height below 152.4 cm -----------------------------------------------------------------------


def test_150_cm_on_the_ideal_basis_without_the_setting_names_it() -> None:
    # Given the ideal basis, a 150 cm patient and no short-stature rule. Source: SHORT.
    settings = center(cyclophosphamide_weight_basis="ideal")
    with pytest.raises(MissingCenterSetting) as refused:
        weight(settings, "60", "150")
    assert refused.value.key == "ideal_weight_below_152_4_cm"
    assert str(refused.value) == missing_message(IDEAL_WEIGHT_BELOW_60_IN)


def test_150_cm_on_the_ideal_basis_subtracting_2_3_kg_per_inch() -> None:
    # Source: SHORT. 150 / 2.54 = 59.055 in; 50 − 2.3 × 0.9449 = 47.827 -> 47.8 kg, below the
    # actual 60 kg, so the above-actual rule is not needed.
    settings = center(
        cyclophosphamide_weight_basis="ideal",
        ideal_weight_below_152_4_cm="subtract_2_3_kg_per_inch",
    )
    result = weight(settings, "60", "150")
    assert result.weight == kg("47.8")
    assert "ideal_weight_below_152_4_cm" in result.source


def test_150_cm_on_the_adjusted_basis_using_the_actual_weight() -> None:
    # Source: SHORT, "or use actual weight": IBW = 60 kg, so 60 + 0.4 × (60 − 60) = 60 kg.
    settings = center(
        cyclophosphamide_weight_basis="adjusted", ideal_weight_below_152_4_cm="use_actual_weight"
    )
    assert weight(settings, "60", "150").weight == kg("60.0")


def test_the_short_stature_setting_is_not_asked_for_from_152_4_cm() -> None:
    # Source: Devine: 60 in (152.4 cm) is the formula's base. 50.0 kg IBW, actual 60 kg.
    settings = center(cyclophosphamide_weight_basis="ideal")
    assert weight(settings, "60", "152.4").weight == kg("50.0")


def test_the_short_stature_setting_is_not_asked_for_on_the_actual_basis() -> None:
    # Source: SHORT concerns the ideal weight only; the actual weight needs no formula.
    assert weight(center(), "60", "150").weight == kg(60)


# A dosing weight above the actual weight -------------------------------------------------------


def test_ideal_weight_above_the_actual_weight_without_the_setting_is_refused() -> None:
    # Given 180 cm, 45 kg on the ideal basis: Devine 50 + 2.3 × 10.866 = 75.0 kg > 45 kg.
    # Source: ABOVE; no default.
    settings = center(cyclophosphamide_weight_basis="ideal")
    with pytest.raises(MissingCenterSetting) as refused:
        weight(settings, "45", "180")
    assert refused.value.key == "dosing_weight_above_actual"
    assert str(refused.value) == (
        f"{missing_message(DOSING_WEIGHT_ABOVE_ACTUAL)} This patient's ideal weight 75.0 kg is "
        "above the actual weight 45 kg."
    )


def test_adjusted_weight_above_the_actual_weight_uses_the_actual_weight_when_set() -> None:
    # Given 180 cm, 45 kg, factor 0.4: 74.992 + 0.4 × (45 − 74.992) = 62.995 -> 63.0 kg > 45 kg.
    # Source: ABOVE, "use the lower of actual and dosing weight".
    settings = center(
        cyclophosphamide_weight_basis="adjusted", dosing_weight_above_actual="use_actual_weight"
    )
    result = weight(settings, "45", "180")
    assert result.weight == kg(45)
    assert result.basis_weight_above_actual == kg("63.0")
    assert result.above_actual is AboveActual.USE_ACTUAL_WEIGHT
    assert result.formula == (
        "dosing weight = IBW + factor × (actual − IBW); above the actual weight, so the actual "
        "weight is used"
    )
    assert result.describe() == "45 kg (actual weight, below the adjusted weight)"


def test_ideal_weight_above_the_actual_weight_is_used_when_the_center_allows_it() -> None:
    # Source: ABOVE, "allow".
    settings = center(
        cyclophosphamide_weight_basis="ideal", dosing_weight_above_actual="use_dosing_weight"
    )
    result = weight(settings, "45", "180")
    assert (result.weight, result.above_actual) == (kg("75.0"), AboveActual.USE_DOSING_WEIGHT)


def test_ideal_weight_above_the_actual_weight_with_a_center_that_refuses() -> None:
    # Source: ABOVE: the prescriber decides each such patient.
    settings = center(cyclophosphamide_weight_basis="ideal", dosing_weight_above_actual="refuse")
    with pytest.raises(InvalidCenterSetting) as refused:
        weight(settings, "45", "180")
    assert str(refused.value) == (
        "Center setting 'Dosing weight above the actual weight (ideal or adjusted weight of an "
        "underweight patient)' (dosing_weight_above_actual): set to refuse a dosing weight above "
        "the actual weight. This patient's ideal weight 75.0 kg is above the actual weight 45 kg. "
        "The prescribing physician and pharmacist decide this patient's dose."
    )


def test_an_ideal_weight_below_the_actual_weight_needs_no_setting() -> None:
    # Source: ABOVE applies only above the actual weight: 75.0 kg IBW, actual 80 kg.
    result = weight(center(cyclophosphamide_weight_basis="ideal"), "80", "180")
    assert (result.weight, result.above_actual) == (kg("75.0"), None)


def test_an_ideal_weight_equal_to_the_actual_weight_needs_no_setting() -> None:
    # Source: ABOVE: "above" is strict; 152.4 cm male IBW 50.0 kg, actual 50 kg.
    result = weight(center(cyclophosphamide_weight_basis="ideal"), "50", "152.4")
    assert result.weight_kg == Decimal("50.0")


def test_the_crcl_weight_follows_the_same_rule() -> None:
    # Given CrCl on the ideal weight, 180 cm, 45 kg, age 50, SCr 1.0 mg/dL, and a center using
    # the lower of the actual and the dosing weight. Source: ABOVE; Cockcroft & Gault (Nephron
    # 1976): (140 − 50) × 45 / (72 × 1.0) = 56.25 -> 56 mL/min (on 75.0 kg it would be 94).
    settings = center(crcl_weight_basis="ideal", dosing_weight_above_actual="use_actual_weight")
    result = plan(settings, weight_kg="45")
    renal = result.agents[1].renal
    assert renal is not None
    assert renal.crcl_weight.weight == kg(45)
    assert renal.crcl.crcl == ml_per_min(56)
