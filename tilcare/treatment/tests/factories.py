"""A center's protocol settings for tests: complete values for each shipped protocol, and a
helper that enters and signs them through the real services.

The values are a test center's choices, not recommendations: the sources settle none of them
(that is why they are center settings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from tilcare.accounts.models import Organization, User
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.patients.models import Patient
from tilcare.patients.services import record_measurement
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.services.activation import enter_protocol_settings, sign_protocol_settings
from tilcare.treatment.services.orders import Course

LIFILEUCEL = ("lifileucel_us", "2024")
NKI = ("nki_phase3", "2022")

RENAL_BANDS = [
    {"crcl_from_ml_per_min": "40", "crcl_to_ml_per_min": "49", "dose": "15"},
    {"crcl_from_ml_per_min": "50", "crcl_to_ml_per_min": "79", "dose": "20"},
]

# Every setting lifileucel_us 2024 needs with these choices (actual weights throughout, so no
# adjusted-weight factor and no shared ideal-weight rule); the IL-2 narrowing settings are left
# blank, so the protocol's own ranges apply.
LIFILEUCEL_VALUES: dict[str, object] = {
    "cyclophosphamide_weight_basis": "actual",
    "cyclophosphamide_rounding_increment_mg": "10",
    "fludarabine_rounding_increment_mg": "1",
    "bsa_formula": "mosteller",
    "bsa_cap_m2": "no cap",
    "fludarabine_renal_bands": RENAL_BANDS,
    "crcl_weight_basis": "actual",
    "mesna_dose": "60",
    "il2_weight_basis": "actual",
    "thaw_to_infusion_limit_minutes": "60",
}

NKI_VALUES: dict[str, object] = {
    **LIFILEUCEL_VALUES,
    "infusion_earliest_hours": "24",
    "infusion_latest_hours": "96",
    "il2_interval_max_hours": "8",
    "il2_start_min_hours": "0",
    "il2_start_max_hours": "24",
}


def activate(
    center: Organization,
    *,
    pharmacist: User,
    physician: User,
    protocol: tuple[str, str] = LIFILEUCEL,
    values: Mapping[str, object] | None = None,
    reason: str = "",
) -> ProtocolActivation:
    """Enter `values` (the protocol's complete test values by default) and sign them twice."""
    if values is None:
        values = LIFILEUCEL_VALUES if protocol == LIFILEUCEL else NKI_VALUES
    activation = enter_protocol_settings(
        center,
        protocol_id=protocol[0],
        protocol_version=protocol[1],
        values=values,
        reason=reason,
        actor=pharmacist,
    )
    sign_protocol_settings(activation, actor=pharmacist, password=TEST_PASSWORD)
    sign_protocol_settings(activation, actor=physician, password=TEST_PASSWORD)
    activation.refresh_from_db()
    return activation


# The course the orders of these tests are for: its chain-of-identity number and check character.
COI_DIN, COI_CHECK = "W123426000042", "K"


def course_for(
    patient: Patient,
    protocol: tuple[str, str] = LIFILEUCEL,
    *,
    din: str = COI_DIN,
    check: str = COI_CHECK,
) -> Course:
    """The first manufacturing attempt's course of `patient` at their center, as a journey names
    it when it orders."""
    return Course(
        center=patient.center,
        patient=patient,
        coi_din=din,
        coi_check=check,
        manufacture_attempt=1,
        protocol=ProtocolRef(*protocol),
    )


def measure(
    patient: Patient, nurse: User, weight_kg: str, on: dt.date, *, height_cm: str = "180"
) -> None:
    """Record the patient's weight (and height, 180 cm unless given) measured on `on`."""
    record_measurement(
        patient, actor=nurse, measured_on=on, weight_kg=weight_kg, height_cm=height_cm
    )
