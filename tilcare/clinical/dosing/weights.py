"""The body weight a dose or a creatinine clearance uses, on the basis the center set.

Bases (Devine 1974; Cockcroft & Gault 1976; which one a protocol uses is not settled by the sources,
so it is always a center setting with no default):
  * actual: the patient's measured weight in kg;
  * ideal: Devine ideal body weight (`tilcare.clinical.body_size.ideal_body_weight`);
  * adjusted: IBW + factor × (actual − IBW) with the factor the center set
    (`tilcare.clinical.body_size.adjusted_body_weight`).
The ideal and adjusted weights are used as body_size rounds them (`round_weight_kg`, 0.1 kg,
half up), the value a pharmacist sees and checks; no other rounding happens here.

Two center settings every ideal or adjusted weight shares (`settings.SHARED_WEIGHT_SETTINGS`),
read only when the patient needs them and refused by name while unset:
  * below 152.4 cm (60 in), the Devine formula has no base: the center's rule
    (`IDEAL_WEIGHT_BELOW_60_IN`: subtract 2.3 kg per inch, use the actual weight, or refuse);
  * an ideal or adjusted weight above the actual weight (an underweight patient) would dose more
    per kg of the patient than the basis intends: the center's rule (`DOSING_WEIGHT_ABOVE_ACTUAL`:
    use the lower, the actual weight; use the dosing weight anyway; or refuse).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from tilcare.clinical.body_size import (
    AdjustedBodyWeightResult,
    IdealBodyWeightResult,
    Sex,
    ShortStature,
    adjusted_body_weight,
    below_devine_base,
    checked_weight_kg,
    ideal_body_weight,
)
from tilcare.clinical.dosing.regimens import WeightBasisSettings
from tilcare.clinical.dosing.settings import (
    DOSING_WEIGHT_ABOVE_ACTUAL,
    IDEAL_WEIGHT_BELOW_60_IN,
    AboveActual,
    CenterSettings,
    InvalidCenterSetting,
    MissingCenterSetting,
    center_source,
)
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
    # Set when the basis gave a weight above the actual weight: that weight, and the rule used.
    basis_weight_above_actual: Quantity | None = None
    above_actual: AboveActual | None = None

    @property
    def weight_kg(self) -> Decimal:
        return self.weight.require(Unit.kg, "dosing weight")

    def describe(self) -> str:
        if self.above_actual is AboveActual.USE_ACTUAL_WEIGHT:
            return f"{self.weight} (actual weight, below the {self.basis.value} weight)"
        return f"{self.weight} ({self.basis.value} weight)"


def _short_stature(settings: CenterSettings, height: Quantity) -> ShortStature | None:
    """The center's rule below 152.4 cm, read only for such a height (refused while unset)."""
    if not below_devine_base(height):
        return None
    return ShortStature(settings.choice(IDEAL_WEIGHT_BELOW_60_IN))


def _not_above_actual(settings: CenterSettings, found: DosingWeight) -> DosingWeight:
    """Apply the center's rule when the ideal or adjusted weight is above the actual weight."""
    actual = Quantity(found.actual_weight_kg, Unit.kg)
    if found.weight_kg <= found.actual_weight_kg:
        return found
    case = (
        f"This patient's {found.basis.value} weight {found.weight} is above the actual "
        f"weight {actual}."
    )
    if DOSING_WEIGHT_ABOVE_ACTUAL.key not in settings:
        raise MissingCenterSetting(DOSING_WEIGHT_ABOVE_ACTUAL, case)
    rule = AboveActual(settings.choice(DOSING_WEIGHT_ABOVE_ACTUAL))
    if rule is AboveActual.REFUSE:
        raise InvalidCenterSetting(
            DOSING_WEIGHT_ABOVE_ACTUAL,
            DOSING_WEIGHT_ABOVE_ACTUAL.key,
            f"set to refuse a dosing weight above the actual weight. {case} The prescribing "
            "physician and pharmacist decide this patient's dose.",
        )
    source = f"{found.source}; {center_source(DOSING_WEIGHT_ABOVE_ACTUAL)}"
    if rule is AboveActual.USE_DOSING_WEIGHT:
        formula = f"{found.formula}; above the actual weight, used as the center set"
        weight = found.weight
    else:
        formula = f"{found.formula}; above the actual weight, so the actual weight is used"
        weight = actual
    return replace(
        found,
        weight=weight,
        formula=formula,
        source=source,
        basis_weight_above_actual=found.weight,
        above_actual=rule,
    )


def dosing_weight(
    spec: WeightBasisSettings,
    settings: CenterSettings,
    *,
    weight: Quantity,
    height: Quantity,
    sex: str | Sex,
) -> DosingWeight:
    """The weight on the center's basis; refuses while a setting this patient needs is unset."""
    actual_kg = checked_weight_kg(weight)
    basis = WeightBasis(settings.choice(spec.basis))
    source = center_source(spec.basis)
    # On the actual basis this is the result; the ideal and adjusted bases replace the weight.
    on_basis = DosingWeight(
        basis=basis,
        basis_setting_key=spec.basis.key,
        actual_weight_kg=actual_kg,
        weight=Quantity(actual_kg, Unit.kg),
        formula=_FORMULA[basis],
        source=source,
    )
    if basis is WeightBasis.ACTUAL:
        return on_basis
    short_stature = _short_stature(settings, height)
    if short_stature is not None:
        source = f"{source}; {center_source(IDEAL_WEIGHT_BELOW_60_IN)}"
    if basis is WeightBasis.IDEAL:
        ideal = ideal_body_weight(height, sex, short_stature=short_stature, actual_weight=weight)
        found = replace(
            on_basis, weight=ideal.ideal_weight, source=f"{source}; {ideal.source}", ideal=ideal
        )
    else:
        assert spec.adjusted_factor is not None  # WeightBasisSettings requires it with "adjusted"
        factor = settings.number(spec.adjusted_factor)
        adjusted = adjusted_body_weight(
            weight, height, sex, factor=factor, short_stature=short_stature
        )
        found = replace(
            on_basis,
            weight=adjusted.adjusted_weight,
            source=f"{source}; {center_source(spec.adjusted_factor)}; {adjusted.source}",
            adjusted_factor=factor,
            ideal=adjusted.ideal,
            adjusted=adjusted,
        )
    return _not_above_actual(settings, found)
