"""The body weight a dose or a creatinine clearance uses, on the basis the center set.

Bases (clinical-reference.md section 9; which one a protocol uses is NOT CONFIRMED, so it is
always a center setting with no default):
  * actual: the patient's measured weight in kg;
  * ideal: Devine ideal body weight (`tilcare.clinical.body_size.ideal_body_weight`);
  * adjusted: IBW + factor × (actual − IBW) with the factor the center set
    (`tilcare.clinical.body_size.adjusted_body_weight`).
The ideal and adjusted weights are used as body_size rounds them (`round_weight_kg`, 0.1 kg,
half up), the value a pharmacist sees and checks; no other rounding happens here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tilcare.clinical.body_size import (
    AdjustedBodyWeightResult,
    IdealBodyWeightResult,
    Sex,
    adjusted_body_weight,
    checked_weight_kg,
    ideal_body_weight,
)
from tilcare.clinical.dosing.regimens import WeightBasisSettings
from tilcare.clinical.dosing.settings import CenterSettings, center_source
from tilcare.clinical.renal import WeightBasis
from tilcare.clinical.units import Quantity, Unit

_FORMULA = {
    WeightBasis.ACTUAL: "dosing weight = actual weight",
    WeightBasis.IDEAL: "dosing weight = Devine ideal body weight",
    WeightBasis.ADJUSTED: "dosing weight = IBW + factor × (actual − IBW)",
}


@dataclass(frozen=True)
class DosingWeight:
    basis: WeightBasis
    basis_setting_key: str
    actual_weight_kg: Decimal
    weight: Quantity  # in kg, the weight used
    formula: str
    source: str
    adjusted_factor: Decimal | None = None
    ideal: IdealBodyWeightResult | None = None
    adjusted: AdjustedBodyWeightResult | None = None

    @property
    def weight_kg(self) -> Decimal:
        return self.weight.require(Unit.kg, "dosing weight")

    def describe(self) -> str:
        return f"{self.weight} ({self.basis.value} weight)"


def dosing_weight(
    spec: WeightBasisSettings,
    settings: CenterSettings,
    *,
    weight: Quantity,
    height: Quantity,
    sex: str | Sex,
) -> DosingWeight:
    """The weight on the center's basis; refuses while the basis (or its factor) is unset."""
    actual_kg = checked_weight_kg(weight)
    basis = WeightBasis(settings.choice(spec.basis))
    source = center_source(spec.basis)
    if basis is WeightBasis.ACTUAL:
        return DosingWeight(
            basis=basis,
            basis_setting_key=spec.basis.key,
            actual_weight_kg=actual_kg,
            weight=Quantity(actual_kg, Unit.kg),
            formula=_FORMULA[basis],
            source=source,
        )
    if basis is WeightBasis.IDEAL:
        ideal = ideal_body_weight(height, sex)
        return DosingWeight(
            basis=basis,
            basis_setting_key=spec.basis.key,
            actual_weight_kg=actual_kg,
            weight=ideal.ideal_weight,
            formula=_FORMULA[basis],
            source=f"{source}; {ideal.source}",
            ideal=ideal,
        )
    assert spec.adjusted_factor is not None  # WeightBasisSettings requires it with "adjusted"
    factor = settings.number(spec.adjusted_factor)
    adjusted = adjusted_body_weight(weight, height, sex, factor=factor)
    return DosingWeight(
        basis=basis,
        basis_setting_key=spec.basis.key,
        actual_weight_kg=actual_kg,
        weight=adjusted.adjusted_weight,
        formula=_FORMULA[basis],
        source=f"{source}; {center_source(spec.adjusted_factor)}; {adjusted.source}",
        adjusted_factor=factor,
        ideal=adjusted.ideal,
        adjusted=adjusted,
    )
