"""High-dose IL-2 dose per administration: IU/kg × dosing weight, reported in IU.

600,000 IU/kg per dose: Medina et al., JITC 2023 (lifileucel, up to 6 doses); ESMO 2018 NKI design
(every 8 hours, up to 15 doses); clinical-reference.md §1.2, §2 and §3.1. The weight basis is a
center setting (clinical-reference.md §9).
"""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.dosing.il2 import Il2Dose, check_ordered_dose, il2_dose, round_dose_iu
from tilcare.clinical.dosing.regimens import Il2Regimen
from tilcare.clinical.dosing.settings import CenterSettings, MissingCenterSetting, SettingSpec
from tilcare.clinical.renal import WeightBasis
from tilcare.clinical.tests.dosing_regimens import (
    IL2_BASIS,
    IL2_FACTOR,
    LIFILEUCEL,
    LIFILEUCEL_IL2,
    NKI_IL2,
    center,
    missing_message,
)
from tilcare.clinical.units import (
    FloatNotAllowed,
    InvalidQuantity,
    Quantity,
    Unit,
    UnitMismatch,
    cm,
    iu,
    kg,
    miu,
)


def dose(
    settings: CenterSettings,
    weight_kg: str = "80",
    height_cm: str = "180",
    sex: str = "male",
    regimen: Il2Regimen = LIFILEUCEL_IL2,
) -> Il2Dose:
    return il2_dose(regimen, settings, weight=kg(weight_kg), height=cm(height_cm), sex=sex)


@pytest.mark.parametrize(
    ("basis", "weight_kg", "height_cm", "sex", "expected_iu"),
    [
        # Medina JITC 2023: 600,000 IU/kg × 80 kg = 48,000,000 IU
        pytest.param("actual", "80", "180", "male", "48000000", id="Medina: 600000 x 80 kg"),
        # 600,000 × 72.5 kg = 43,500,000 IU
        pytest.param("actual", "72.5", "180", "male", "43500000", id="Medina: 600000 x 72.5 kg"),
        # 600,000 × 50.05 kg = 30,030,000 IU
        pytest.param("actual", "50.05", "160", "female", "30030000", id="Medina: x 50.05 kg"),
        # Devine IBW male 180 cm = 75.0 kg: 45,000,000 IU
        pytest.param("ideal", "120", "180", "male", "45000000", id="Devine ideal 75.0 kg"),
        # Adjusted (0.4) male 180 cm 120 kg = 93.0 kg: 55,800,000 IU
        pytest.param("adjusted", "120", "180", "male", "55800000", id="adjusted 0.4: 93.0 kg"),
    ],
)
def test_il2_worked_examples(
    basis: str, weight_kg: str, height_cm: str, sex: str, expected_iu: str
) -> None:
    result = dose(center(il2_weight_basis=basis), weight_kg=weight_kg, height_cm=height_cm, sex=sex)
    assert result.dose == iu(expected_iu)
    assert result.dose.unit is Unit.iu
    assert result.weight.basis is WeightBasis(basis)
    assert result.protocol == LIFILEUCEL
    assert result.max_doses == 6
    assert "Medina" in result.source
    assert "il2_weight_basis" in result.source
    assert result.formula == "dose (IU) = dose per kg (IU/kg) × dosing weight (kg)"
    assert result.rounding == "round_dose_iu: whole IU, half up"


def test_nki_dose_and_maximum() -> None:
    # ESMO 2018 NKI design: 600,000 IU/kg, at most 15 doses
    result = dose(center(), weight_kg="70", regimen=NKI_IL2)
    assert result.dose == iu(42000000)
    assert result.max_doses == 15
    assert result.protocol.protocol_id == "nki_phase3"


def test_miu_only_by_explicit_conversion() -> None:
    result = dose(center(), weight_kg="80")
    assert result.dose != miu(48)  # different units are never equal
    assert result.dose.to(Unit.miu) == miu(48)
    assert result.working == "600000 IU/kg × 80 kg (actual weight) = 48000000 IU"


def test_ordered_dose_in_iu_is_compared() -> None:
    calculated = dose(center(), weight_kg="80")
    same = check_ordered_dose(calculated, iu(48000000))
    other = check_ordered_dose(calculated, iu(47000000))
    assert same.matches is True and same.difference == iu(0)
    assert other.matches is False and other.difference == iu(-1000000)


def test_ordered_dose_in_miu_is_refused() -> None:
    calculated = dose(center(), weight_kg="80")
    with pytest.raises(UnitMismatch) as refused:
        check_ordered_dose(calculated, miu(48))
    assert "MIU" in str(refused.value) and "IU" in str(refused.value)
    assert "write it in IU" in str(refused.value)


def test_regimen_dose_in_miu_is_refused() -> None:
    with pytest.raises(InvalidQuantity, match="IL-2 dose must be in IU/kg, not MIU"):
        Il2Regimen(
            protocol=LIFILEUCEL,
            dose_per_kg=miu("0.6"),
            max_doses=6,
            source="test",
            weight=LIFILEUCEL_IL2.weight,
            interval_min_hours=LIFILEUCEL_IL2.interval_min_hours,
            interval_max_hours=LIFILEUCEL_IL2.interval_max_hours,
            start_min_hours=LIFILEUCEL_IL2.start_min_hours,
            start_max_hours=LIFILEUCEL_IL2.start_max_hours,
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.5", "1"), ("0.49", "0"), ("48000000", "48000000")],
    ids=["half up", "below half", "whole"],
)
def test_round_dose_iu(value: str, expected: str) -> None:
    assert round_dose_iu(Decimal(value)) == Decimal(expected)


UNSET_CASES: list[tuple[SettingSpec, dict[str, object]]] = [
    (IL2_BASIS, {}),
    (IL2_FACTOR, {"il2_weight_basis": "adjusted"}),
]


@pytest.mark.parametrize(("spec", "needed"), UNSET_CASES, ids=[spec.key for spec, _ in UNSET_CASES])
def test_each_unset_setting_is_refused_by_name(
    spec: SettingSpec, needed: dict[str, object]
) -> None:
    with pytest.raises(MissingCenterSetting) as refused:
        dose(center(**{**needed, spec.key: None}))
    assert refused.value.key == spec.key
    assert str(refused.value) == missing_message(spec)


@given(unit=st.sampled_from([u for u in Unit if u is not Unit.iu]))
def test_an_ordered_dose_in_any_other_unit_is_always_refused(unit: Unit) -> None:
    calculated = dose(center(), weight_kg="80")
    with pytest.raises(UnitMismatch):
        check_ordered_dose(calculated, Quantity.of(48, unit))


@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_weight_is_always_refused(value: float) -> None:
    with pytest.raises(FloatNotAllowed):
        kg(value)  # type: ignore[arg-type]


@given(
    weight_kg=st.decimals(min_value=20, max_value=150, places=2),
    factor=st.decimals(min_value=1, max_value="2.3", places=2),
)
def test_dose_scales_exactly_with_weight(weight_kg: Decimal, factor: Decimal) -> None:
    base = dose(center(), weight_kg=str(weight_kg))
    scaled = dose(center(), weight_kg=str(weight_kg * factor))
    assert scaled.unrounded_iu == base.unrounded_iu * factor
    assert base.unrounded_iu == Decimal(600000) * weight_kg
