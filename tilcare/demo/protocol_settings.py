"""The demo center's protocol settings, entered and signed through the real services.

Lifileucel's settings are in force as version 2: version 1 was signed by the pharmacist and the
treating physician, then the pharmacy and therapeutics committee capped the BSA and version 2
replaced it. The NKI protocol's version 1 carries the pharmacist's signature and awaits the
physician's, so the Protocols page shows a version waiting for its second signature.

The values are the invented center's choices, not recommendations: the protocol sources settle
none of them, which is why each center sets them. Signatures are dated when they are signed, so
these are dated the day the demo is built.
"""

from __future__ import annotations

from collections.abc import Mapping

from tilcare.accounts.choices import Role
from tilcare.accounts.models import Organization, User
from tilcare.demo.people import DEMO_PASSWORD
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.services.activation import enter_protocol_settings, sign_protocol_settings

LIFILEUCEL = ("lifileucel_us", "2024")
NKI = ("nki_phase3", "2022")

# Fludarabine by creatinine clearance (mL/min), in the protocol's dose unit (mg/m²); a clearance
# below 40 mL/min is outside both bands, so the calculation refuses and the physician decides.
FLUDARABINE_RENAL_BANDS = [
    {"crcl_from_ml_per_min": "40", "crcl_to_ml_per_min": "49", "dose": "15"},
    {"crcl_from_ml_per_min": "50", "crcl_to_ml_per_min": "79", "dose": "20"},
]

# Actual weights throughout (no adjusted-weight factor, no ideal-weight rule to share); the IL-2
# ranges the protocol gives are kept (no narrowing setting).
LIFILEUCEL_V1: dict[str, object] = {
    "cyclophosphamide_weight_basis": "actual",
    "cyclophosphamide_rounding_increment_mg": "10",
    "fludarabine_rounding_increment_mg": "1",
    "bsa_formula": "mosteller",
    "bsa_cap_m2": "no cap",
    "fludarabine_renal_bands": FLUDARABINE_RENAL_BANDS,
    "crcl_weight_basis": "actual",
    "mesna_dose": "60",
    "il2_weight_basis": "actual",
    "thaw_to_infusion_limit_minutes": "90",
    "filgrastim_dose_ug_per_kg": "5",
}
LIFILEUCEL_V2: dict[str, object] = {**LIFILEUCEL_V1, "bsa_cap_m2": "2.2"}
LIFILEUCEL_V2_REASON = (
    "BSA cap set to 2.2 m² by the pharmacy and therapeutics committee: fludarabine for patients "
    "above 2.2 m² is dosed at 2.2 m²."
)

# The NKI sources give no filgrastim regimen, so its protocol has no filgrastim dose to set.
NKI_V1: dict[str, object] = {
    **{key: value for key, value in LIFILEUCEL_V1.items() if key != "filgrastim_dose_ug_per_kg"},
    "infusion_earliest_hours": "24",
    "infusion_latest_hours": "96",
    "il2_interval_max_hours": "8",
    "il2_start_min_hours": "0",
    "il2_start_max_hours": "24",
}


def _enter(
    center: Organization,
    protocol: tuple[str, str],
    values: Mapping[str, object],
    pharmacist: User,
    reason: str = "",
) -> ProtocolActivation:
    """The pharmacist enters the settings and signs them first."""
    activation = enter_protocol_settings(
        center,
        protocol_id=protocol[0],
        protocol_version=protocol[1],
        values=values,
        reason=reason,
        actor=pharmacist,
    )
    sign_protocol_settings(activation, actor=pharmacist, password=DEMO_PASSWORD)
    return activation


def activate_protocols(center: Organization, cast: Mapping[Role, User]) -> None:
    """Lifileucel in force as version 2 (version 1 superseded); NKI awaiting the physician."""
    pharmacist, physician = cast[Role.PHARMACIST], cast[Role.PHYSICIAN]
    for values, reason in ((LIFILEUCEL_V1, ""), (LIFILEUCEL_V2, LIFILEUCEL_V2_REASON)):
        version = _enter(center, LIFILEUCEL, values, pharmacist, reason)
        sign_protocol_settings(version, actor=physician, password=DEMO_PASSWORD)
    _enter(center, NKI, NKI_V1, pharmacist)
