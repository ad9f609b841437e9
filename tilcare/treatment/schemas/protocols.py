"""API shapes for a center's protocol settings: what is entered, and each version as stored.

A setting's value travels as text exactly as the center writes it ("60", "actual", "no cap"),
never as a JSON number: the stored value is that text, and `true` or 0.1 as a float could not be
told from what was meant. Fludarabine renal bands are a list of objects with exactly
`crcl_from_ml_per_min`, `crcl_to_ml_per_min` and `dose`, each as text too. Whether a value fits
its setting (known key, option, range, bands without a gap) is the service's check against the
protocol file, named by key.

Each answer is built field by field from the version (`version_out`), never by letting a schema
read attributes off the model.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from ninja import Field, Schema
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from tilcare.audit.models import Signature
from tilcare.audit.services import signature_is_valid
from tilcare.clinical.dosing.protocol_settings import BAND_FIELDS
from tilcare.core.api_support import InputSchema, UtcDateTime
from tilcare.protocols.schema import Protocol
from tilcare.treatment.choices import REASON_MAX, SIGNING_ROLES
from tilcare.treatment.models import ProtocolActivation

# Generous bounds on the shape only: the protocol file declares far fewer settings and bands,
# and its own limits are checked by the service.
SETTING_TEXT_MAX = 100
MAX_SETTINGS = 100
MAX_BANDS = 20

SETTING_AS_TEXT = (
    'Send the setting as text, e.g. "60" or "actual" (not a JSON number or true/false), or '
    "renal bands as a list of objects with crcl_from_ml_per_min, crcl_to_ml_per_min and dose."
)
BAND_SHAPE = "a band has exactly crcl_from_ml_per_min, crcl_to_ml_per_min and dose"


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("setting_value", message)


def _band_problem(band: object) -> str | None:
    if not isinstance(band, dict) or set(band) != set(BAND_FIELDS):
        return BAND_SHAPE
    for field in BAND_FIELDS:
        text = band[field]
        if not isinstance(text, str):
            return f'send {field} as text, e.g. "15" (not a JSON number or true/false)'
        if len(text) > SETTING_TEXT_MAX:
            return f"{field} has at most {SETTING_TEXT_MAX} characters"
    return None


def _setting_value(value: Any) -> Any:
    """Refuse, in words, what is neither text, a list of bands nor null (left blank).

    Checked before pydantic's own validation so that a wrong type gets one message naming the
    setting, instead of one per shape the value could have had.
    """
    if value is None:
        return value
    if isinstance(value, str):
        if len(value) > SETTING_TEXT_MAX:
            raise _refuse(f"At most {SETTING_TEXT_MAX} characters.")
        return value
    if not isinstance(value, list):
        raise _refuse(SETTING_AS_TEXT)
    if len(value) > MAX_BANDS:
        raise _refuse(f"At most {MAX_BANDS} renal bands.")
    for number, band in enumerate(value, start=1):
        problem = _band_problem(band)
        if problem:
            raise _refuse(f"Band {number}: {problem}.")
    return value


# --- in -------------------------------------------------------------------------------------


class ProtocolSettingsBandIn(InputSchema):
    """One fludarabine renal band: CrCl from and to (mL/min, inclusive) and the dose (mg/m²)."""

    crcl_from_ml_per_min: str = Field(..., max_length=SETTING_TEXT_MAX, examples=["50"])
    crcl_to_ml_per_min: str = Field(..., max_length=SETTING_TEXT_MAX, examples=["79"])
    dose: str = Field(..., max_length=SETTING_TEXT_MAX, examples=["20"])


SettingValueIn = Annotated[
    Annotated[str, Field(max_length=SETTING_TEXT_MAX)]
    | Annotated[list[ProtocolSettingsBandIn], Field(max_length=MAX_BANDS)]
    | None,
    BeforeValidator(_setting_value),
]


class ProtocolSettingsIn(InputSchema):
    protocol_id: str = Field(..., max_length=40, examples=["lifileucel_us"])
    protocol_version: str = Field(..., max_length=20, examples=["2024"])
    values: dict[str, SettingValueIn] = Field(
        ...,
        max_length=MAX_SETTINGS,
        description=(
            "Each center setting by its key in the protocol file, as text (decimal text or an "
            "option), or a list of renal bands; an empty text or null leaves it blank. Unknown "
            "keys, values outside the setting's range and bands with a gap are refused by key."
        ),
    )
    reason: str = Field(
        "",
        max_length=REASON_MAX,
        description="What changes from the version in force and why (required once one is).",
    )


class SignIn(InputSchema):
    password: str = Field(..., max_length=200, description="The signer's own password, again.")


class DiscardIn(InputSchema):
    reason: str = Field(..., max_length=REASON_MAX, description="Why the version is discarded.")


# --- out ------------------------------------------------------------------------------------


class ProtocolSettingsBandOut(Schema):
    crcl_from_ml_per_min: str
    crcl_to_ml_per_min: str
    dose: str


class ProtocolSettingsSignatureOut(Schema):
    role: str = Field(..., description="pharmacist or physician")
    printed_name: str
    meaning: str
    signed_at: UtcDateTime
    valid: bool = Field(..., description="False if the version changed after it was signed.")


class ProtocolSettingsSummaryOut(Schema):
    public_id: UUID
    number: int
    status: str
    entered_by: str
    entered_at: UtcDateTime
    activated_at: UtcDateTime | None
    signed_by: list[str] = Field(..., description="Roles that have signed: pharmacist, physician")


class ProtocolStandingOut(Schema):
    protocol_id: str
    protocol_version: str
    title: str
    in_force: ProtocolSettingsSummaryOut | None
    awaiting_signatures: ProtocolSettingsSummaryOut | None


class ProtocolSettingsVersionOut(Schema):
    public_id: UUID
    protocol_id: str
    protocol_version: str
    number: int
    status: str
    values: dict[str, str | list[ProtocolSettingsBandOut]]
    reason: str
    entered_by: str
    entered_at: UtcDateTime
    signatures: list[ProtocolSettingsSignatureOut]
    activated_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    end_reason: str


class ProtocolSettingsSignedOut(Schema):
    signature: ProtocolSettingsSignatureOut
    status: str = Field(..., description="The version's status after this signature.")
    version: ProtocolSettingsVersionOut


# --- builders -------------------------------------------------------------------------------


def _signatures(activation: ProtocolActivation) -> list[tuple[str, Signature]]:
    """(role, signature) of each signature the version carries, in the order they are asked."""
    found = []
    for role, (_meaning, field) in SIGNING_ROLES.items():
        signature = getattr(activation, field)
        if signature is not None:
            found.append((str(role), signature))
    return found


def signature_out(
    role: str, signature: Signature, activation: ProtocolActivation
) -> ProtocolSettingsSignatureOut:
    return ProtocolSettingsSignatureOut(
        role=role,
        printed_name=signature.printed_name,
        meaning=signature.meaning,
        signed_at=signature.signed_at,
        valid=signature_is_valid(signature, activation),
    )


def _value_out(value: Any) -> str | list[ProtocolSettingsBandOut]:
    if isinstance(value, list):
        return [
            ProtocolSettingsBandOut(**{field: str(band[field]) for field in BAND_FIELDS})
            for band in value
        ]
    return str(value)


def version_out(activation: ProtocolActivation) -> ProtocolSettingsVersionOut:
    return ProtocolSettingsVersionOut(
        public_id=activation.public_id,
        protocol_id=activation.protocol_id,
        protocol_version=activation.protocol_version,
        number=activation.number,
        status=activation.status,
        values={key: _value_out(value) for key, value in activation.values.items()},
        reason=activation.reason,
        entered_by=activation.entered_by.printed_name,
        entered_at=activation.created_at,
        signatures=[signature_out(r, s, activation) for r, s in _signatures(activation)],
        activated_at=activation.activated_at,
        ended_at=activation.ended_at,
        end_reason=activation.end_reason,
    )


def summary_out(activation: ProtocolActivation | None) -> ProtocolSettingsSummaryOut | None:
    if activation is None:
        return None
    return ProtocolSettingsSummaryOut(
        public_id=activation.public_id,
        number=activation.number,
        status=activation.status,
        entered_by=activation.entered_by.printed_name,
        entered_at=activation.created_at,
        activated_at=activation.activated_at,
        signed_by=[role for role, _signature in _signatures(activation)],
    )


def standing_out(
    protocol: Protocol, active: ProtocolActivation | None, pending: ProtocolActivation | None
) -> ProtocolStandingOut:
    return ProtocolStandingOut(
        protocol_id=protocol.protocol_id,
        protocol_version=protocol.version,
        title=protocol.title,
        in_force=summary_out(active),
        awaiting_signatures=summary_out(pending),
    )
