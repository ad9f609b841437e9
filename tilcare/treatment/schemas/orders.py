"""API shapes for treatment orders: what a pharmacist and a physician send to verify, cancel or
write an order again, and each order as stored.

A serum creatinine travels as text ("0.8"), as the center writes it, never as a JSON number:
`true` or the float 0.8 could not be told from what was meant. Whether it fits (range, decimal
places, the date it was drawn) is the service's check, named by field.

Each answer is built field by field from the order (`order_out`), never by letting a schema read
attributes off the model. Every caller here is the center's own staff (the operations refuse
anyone else first), so an order names its patient.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from tilcare.audit.models import Signature
from tilcare.audit.services import signature_is_valid
from tilcare.clinical.renal import SCR_MAX_MG_PER_DL, SCR_MIN_MG_PER_DL
from tilcare.core.api_support import DecimalText, InputSchema, IsoDate, UtcDateTime
from tilcare.treatment.choices import REASON_MAX
from tilcare.treatment.models import Administration, Order

CREATININE_TEXT_MAX = 20
CREATININE_AS_TEXT = (
    'Send the serum creatinine as text in mg/dL, e.g. "0.8" (not a JSON number or true/false).'
)


def _creatinine_text(value: Any) -> Any:
    """Refuse a JSON number or true/false in words, before pydantic's own "valid string"."""
    if value is None or isinstance(value, str):
        return value
    raise PydanticCustomError("creatinine_text", CREATININE_AS_TEXT)


CreatinineText = Annotated[
    Annotated[str, Field(max_length=CREATININE_TEXT_MAX)] | None,
    BeforeValidator(_creatinine_text),
]


ANC_TEXT_MAX = 8
ANC_AS_TEXT = 'Send the ANC as text in /mm³, e.g. "1200" (not a JSON number or true/false).'


def _anc_text(value: Any) -> Any:
    """Refuse a JSON number or true/false in words, before pydantic's own "valid string"."""
    if isinstance(value, str):
        return value
    raise PydanticCustomError("anc_text", ANC_AS_TEXT)


AncText = Annotated[Annotated[str, Field(max_length=ANC_TEXT_MAX)], BeforeValidator(_anc_text)]


# --- in -------------------------------------------------------------------------------------


class OrderCancelIn(InputSchema):
    reason: str = Field(
        ..., max_length=REASON_MAX, description="Why the order is cancelled (required)."
    )


class FilgrastimStopIn(InputSchema):
    anc: dict[str, AncText] = Field(
        default_factory=dict,
        max_length=31,
        description=(
            "The absolute neutrophil count of each study day after the infusion, keyed by the "
            'day number ("9" for Day +9), as text in cells/mm³ (= cells/µL), a whole number '
            "from 0 to 100000. The protocol's rule (for lifileucel: above 1000/mm³ on 3 "
            "consecutive days) is applied to them; a missing day breaks the run."
        ),
        json_schema_extra={
            "propertyNames": {"pattern": "^[0-9]{1,3}$"},
            "additionalProperties": {"type": "string", "maxLength": ANC_TEXT_MAX},
        },
    )
    reason: str = Field(
        "",
        max_length=REASON_MAX,
        description=(
            "To stop on the institution's standard before the protocol's rule is met, why. Blank "
            "to stop on the rule."
        ),
    )


class OrderReorderIn(InputSchema):
    reason: str = Field(
        ..., max_length=REASON_MAX, description="Why the order is written again (required)."
    )
    serum_creatinine_mg_per_dl: CreatinineText = Field(
        None,
        description=(
            f"Serum creatinine in mg/dL, as text ({SCR_MIN_MG_PER_DL} to {SCR_MAX_MG_PER_DL}, "
            "at most 2 decimal places)."
        ),
        examples=["0.8"],
    )
    creatinine_drawn_on: IsoDate | None = Field(
        None,
        description=(
            "The date the creatinine was drawn. Lymphodepletion only: give a new creatinine with "
            "its date, or neither to keep the order's own. An IL-2 order takes neither."
        ),
    )


# --- out ------------------------------------------------------------------------------------


class AdministrationIn(InputSchema):
    outcome: Literal["given", "held", "not_given"] = Field(
        ..., description="What happened to the dose."
    )
    at: UtcDateTime = Field(
        ...,
        description="When it was given (or the decision taken), with its UTC offset; not ahead "
        "of the clock, not before the order was verified.",
    )
    reason: str = Field(
        "",
        max_length=REASON_MAX,
        description="Why the dose was held or not given (required then).",
    )


class AdministrationOut(Schema):
    outcome: str = Field(..., description="given, held or not_given")
    at: datetime
    reason: str
    recorded_by: str = Field(..., description="The printed name of who recorded it.")


class OrderDoseOut(Schema):
    sequence: int
    day: int | None = Field(
        ...,
        description="Study day relative to infusion (lymphodepletion); null for an IL-2 dose, "
        "whose time follows the schedule.",
    )
    agent: str
    route: str
    dose: DecimalText
    dose_unit: str = Field(..., description="mg or IU")
    administration: AdministrationOut | None = Field(
        ..., description="What happened to this dose, once recorded."
    )


class OrderActivationOut(Schema):
    """The version of the center's protocol settings the doses were computed on."""

    public_id: UUID
    protocol_id: str
    protocol_version: str
    number: int


class OrderPatientOut(Schema):
    public_id: UUID
    given_name: str
    family_name: str
    mrn: str


class OrderSummaryOut(Schema):
    public_id: UUID
    coi: str = Field(..., description="The course's COI identifier with its check character.")
    manufacture_attempt: int
    kind: str = Field(..., description="lymphodepletion or il2")
    status: str = Field(..., description="awaiting_verification, verified or cancelled")
    needs_new_order: str | None = Field(
        ...,
        description="Why the open order must be written and verified again (newer settings, "
        "a newer height and weight), or null.",
    )
    patient: OrderPatientOut
    activation: OrderActivationOut
    ordered_by: str
    created_at: UtcDateTime
    doses: list[OrderDoseOut]


class OrderVerificationOut(Schema):
    printed_name: str
    meaning: str
    signed_at: UtcDateTime
    valid: bool = Field(..., description="False if the order changed after it was signed.")


class OrderOut(OrderSummaryOut):
    inputs: dict[str, Any] = Field(
        ..., description="What the calculation read: height, weight, creatinine, age, sex, dates."
    )
    calculation: dict[str, Any] = Field(
        ..., description="The clinical core's whole result: formula, working and sources."
    )
    verification: OrderVerificationOut | None
    cancelled_at: UtcDateTime | None
    cancel_reason: str


class OrderVerifiedOut(Schema):
    signature: OrderVerificationOut
    status: str = Field(..., description="The order's status after the verification.")
    order: OrderOut


class OrderRefusedOut(Schema):
    """The record's state refuses the request: the doses no longer follow the latest inputs, or
    the center's settings are not in force."""

    detail: str
    errors: dict[str, list[str]]


# --- builders -------------------------------------------------------------------------------


def verification_out(signature: Signature, order: Order) -> OrderVerificationOut:
    return OrderVerificationOut(
        printed_name=signature.printed_name,
        meaning=signature.meaning,
        signed_at=signature.signed_at,
        valid=signature_is_valid(signature, order),
    )


def _summary_fields(order: Order, needs_new_order: str | None) -> dict[str, Any]:
    patient, activation = order.patient, order.activation
    return {
        "public_id": order.public_id,
        "coi": order.coi_din + order.coi_check,
        "manufacture_attempt": order.manufacture_attempt,
        "kind": order.kind,
        "status": order.status,
        "needs_new_order": needs_new_order,
        "patient": OrderPatientOut(
            public_id=patient.public_id,
            given_name=patient.given_name,
            family_name=patient.family_name,
            mrn=patient.mrn,
        ),
        "activation": OrderActivationOut(
            public_id=activation.public_id,
            protocol_id=activation.protocol_id,
            protocol_version=activation.protocol_version,
            number=activation.number,
        ),
        "ordered_by": order.ordered_by.printed_name,
        "created_at": order.created_at,
        "doses": [
            OrderDoseOut(
                sequence=dose.sequence,
                day=dose.day,
                agent=dose.agent,
                route=dose.route,
                dose=dose.dose,
                dose_unit=dose.dose_unit,
                administration=administration_out(getattr(dose, "administration", None)),
            )
            for dose in order.doses.all()
        ],
    }


def administration_out(administration: Administration | None) -> AdministrationOut | None:
    if administration is None:
        return None
    return AdministrationOut(
        outcome=administration.outcome,
        at=administration.at,
        reason=administration.reason,
        recorded_by=administration.recorded_by.printed_name,
    )


def summary_out(order: Order, needs_new_order: str | None) -> OrderSummaryOut:
    return OrderSummaryOut(**_summary_fields(order, needs_new_order))


def order_out(order: Order, needs_new_order: str | None) -> OrderOut:
    signature = order.verification_signature
    return OrderOut(
        **_summary_fields(order, needs_new_order),
        inputs=order.inputs,
        calculation=order.calculation,
        verification=None if signature is None else verification_out(signature, order),
        cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
    )
