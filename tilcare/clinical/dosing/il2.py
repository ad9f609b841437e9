"""High-dose IL-2 (aldesleukin) dose per administration.

dose_IU = dose_IU_per_kg × dosing weight (kg), the weight on the basis the center set (actual;
Devine ideal; adjusted with the center's factor). Dose per kg from the protocol: 600,000 IU/kg
after lifileucel (Medina et al., JITC 2023;11(Suppl 1):A873) and in the NKI phase 3 protocol
(ESMO 2018 trial design); the Proleukin label gives the same per-dose amount for monotherapy
(Proleukin US prescribing information). The label modifies IL-2 by withholding doses, never by
reducing them, so there is no reduced dose here.

Units: the dose is reported in IU. MIU appear only through an explicit `.to(Unit.miu)` on the
result's `dose`; a dose given in MIU where IU is expected (`check_ordered_dose`) is refused, not
converted — IU vs MIU is a 10⁶× error.

Rounding: only `round_dose_iu`, to a whole IU, half up (IU is the smallest unit a dose is written
in; with weights to 0.1 kg the product is already whole). The unrounded value is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tilcare.clinical.body_size import Sex
from tilcare.clinical.dosing.regimens import Il2Regimen, ProtocolRef
from tilcare.clinical.dosing.settings import CenterSettings
from tilcare.clinical.dosing.weights import DosingWeight, dosing_weight
from tilcare.clinical.units import Quantity, Unit

FORMULA = "dose (IU) = dose per kg (IU/kg) × dosing weight (kg)"
ROUNDING = "round_dose_iu: whole IU, half up"


def round_dose_iu(value: Decimal) -> Decimal:
    """An IL-2 dose to a whole IU, half up."""
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Il2Dose:
    protocol: ProtocolRef
    dose_per_kg: Quantity  # IU/kg
    weight: DosingWeight
    unrounded_iu: Decimal
    dose: Quantity  # in IU, rounded by round_dose_iu; `.to(Unit.miu)` for MIU
    max_doses: int
    working: str
    source: str
    formula: str = FORMULA
    rounding: str = ROUNDING


def il2_dose(
    regimen: Il2Regimen,
    settings: CenterSettings,
    *,
    weight: Quantity,
    height: Quantity,
    sex: str | Sex,
) -> Il2Dose:
    """One IL-2 dose in IU; refuses while the weight basis (or its factor) is unset."""
    used = dosing_weight(regimen.weight, settings, weight=weight, height=height, sex=sex)
    per_kg = regimen.dose_per_kg.require(Unit.iu_per_kg, "IL-2 dose per kg")
    unrounded = per_kg * used.weight_kg
    rounded = round_dose_iu(unrounded)
    return Il2Dose(
        protocol=regimen.protocol,
        dose_per_kg=regimen.dose_per_kg,
        weight=used,
        unrounded_iu=unrounded,
        dose=Quantity(rounded, Unit.iu),
        max_doses=regimen.max_doses,
        working=f"{regimen.dose_per_kg} × {used.describe()} = {rounded} IU",
        source=f"{regimen.source}; {used.source}",
    )


@dataclass(frozen=True)
class OrderedDoseCheck:
    calculated: Quantity  # IU
    ordered: Quantity  # IU
    matches: bool
    difference: Quantity  # ordered − calculated, IU
    protocol: ProtocolRef


def check_ordered_dose(calculated: Il2Dose, ordered: Quantity) -> OrderedDoseCheck:
    """Compare an ordered dose with the calculated one; the order must be written in IU."""
    ordered.require(Unit.iu, "the ordered IL-2 dose (write it in IU)")
    return OrderedDoseCheck(
        calculated=calculated.dose,
        ordered=ordered,
        matches=ordered == calculated.dose,
        difference=ordered - calculated.dose,
        protocol=calculated.protocol,
    )
