"""API shapes for the person: registration, changes, measurements and consents.

Inputs refuse unknown fields (a misspelt field must not be dropped silently) and check what can
be checked without the database with the same messages as the forms; the services check the rest
(a date of birth in the future is judged against the center's own "today").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from ninja import Field, Schema
from pydantic import BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

from tilcare.core.api_support import InputSchema, IsoDate, UtcDateTime, checked_range
from tilcare.core.validation import Errors, check_decimal_range
from tilcare.patients.choices import BrafStatus, CancerType, ConsentKind, DiseaseStage, Sex
from tilcare.patients.models import (
    HEIGHT_CM_MAX,
    HEIGHT_CM_MIN,
    WEIGHT_KG_MAX,
    WEIGHT_KG_MIN,
    BodyMeasurement,
    Consent,
)

_STRICT_INPUT = ConfigDict(extra="forbid", use_enum_values=True)


def _exact_decimal(field: str, label: str, low: Decimal, high: Decimal, unit: str) -> Any:
    """A before-validator: JSON text or number -> Decimal via str(), range and one decimal place.

    The API's JSON parser already reads fractional numbers as Decimal; a float reaching this
    point is refused by the shared check rather than converted.
    """

    def check(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise ValueError(f'{label} must be a number in {unit}, e.g. "68.4".')
        errors: Errors = {}
        number = check_decimal_range(errors, field, label, value, low, high, unit)
        if number is None:
            raise ValueError(errors[field][0])
        return number

    return BeforeValidator(check)


WeightKg = Annotated[
    Decimal, _exact_decimal("weight_kg", "Weight", WEIGHT_KG_MIN, WEIGHT_KG_MAX, "kg")
]
HeightCm = Annotated[
    Decimal, _exact_decimal("height_cm", "Height", HEIGHT_CM_MIN, HEIGHT_CM_MAX, "cm")
]


class PatientIn(InputSchema):
    model_config = _STRICT_INPUT

    mrn: str = Field(..., min_length=1, max_length=40, description="Medical record number")
    given_name: str = Field(..., min_length=1, max_length=100)
    family_name: str = Field(..., min_length=1, max_length=100)
    date_of_birth: IsoDate
    sex: Sex
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    address: str = ""
    preferred_language: str = Field("English", max_length=40)
    cancer_type: CancerType | None = None
    disease_stage: DiseaseStage | None = None
    braf_status: BrafStatus | None = None
    diagnosed_on: IsoDate | None = None


# Text and coded fields that are blank, not null, when cleared.
BLANKABLE_FIELDS = frozenset(
    {
        "phone",
        "email",
        "address",
        "preferred_language",
        "cancer_type",
        "disease_stage",
        "braf_status",
    }
)


class PatientChangeIn(InputSchema):
    """Only the fields sent are changed; `reason` is kept in the audit trail (21 CFR 11.10(e))."""

    model_config = _STRICT_INPUT

    reason: str = Field(..., max_length=500, description="Why the record changes")
    mrn: str | None = Field(None, max_length=40)
    given_name: str | None = Field(None, max_length=100)
    family_name: str | None = Field(None, max_length=100)
    date_of_birth: IsoDate | None = None
    sex: Sex | None = None
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    address: str | None = None
    preferred_language: str | None = Field(None, max_length=40)
    cancer_type: CancerType | None = None
    disease_stage: DiseaseStage | None = None
    braf_status: BrafStatus | None = None
    diagnosed_on: IsoDate | None = None

    def changes(self) -> dict[str, Any]:
        sent = self.model_dump(exclude_unset=True, exclude={"reason"})
        return {
            field: ("" if value is None and field in BLANKABLE_FIELDS else value)
            for field, value in sent.items()
        }


class PatientSummaryOut(Schema):
    public_id: UUID
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: IsoDate
    sex: str


class PatientOut(PatientSummaryOut):
    phone: str
    email: str
    address: str
    preferred_language: str
    cancer_type: str
    disease_stage: str
    braf_status: str
    diagnosed_on: IsoDate | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class MeasurementIn(InputSchema):
    """Weight and height as exact decimals (JSON number or text), at most one decimal place."""

    model_config = _STRICT_INPUT

    measured_on: IsoDate
    weight_kg: WeightKg = Field(
        ...,
        json_schema_extra=checked_range(WEIGHT_KG_MIN, WEIGHT_KG_MAX),
        description=f"kg, {WEIGHT_KG_MIN}–{WEIGHT_KG_MAX}",
    )
    height_cm: HeightCm = Field(
        ...,
        json_schema_extra=checked_range(HEIGHT_CM_MIN, HEIGHT_CM_MAX),
        description=f"cm, {HEIGHT_CM_MIN}–{HEIGHT_CM_MAX}",
    )


# Stored with one decimal place; shown that way whether or not the row was just read back.
OneDecimalText = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.1f}", return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["68.4"]}),
]


class MeasurementOut(Schema):
    public_id: UUID
    measured_on: IsoDate
    weight_kg: OneDecimalText
    height_cm: OneDecimalText
    recorded_by: str
    created_at: UtcDateTime

    @staticmethod
    def resolve_recorded_by(obj: BodyMeasurement) -> str:
        return obj.recorded_by.printed_name


class ConsentIn(InputSchema):
    model_config = _STRICT_INPUT

    kind: ConsentKind
    form_version: str = Field(..., max_length=40, description="As printed on the consent form")
    signed_on: IsoDate


class ConsentOut(Schema):
    public_id: UUID
    kind: str
    kind_label: str
    form_version: str
    signed_on: IsoDate
    withdrawn_on: IsoDate | None
    is_active: bool
    obtained_by: str

    @staticmethod
    def resolve_kind_label(obj: Consent) -> str:
        return obj.get_kind_display()

    @staticmethod
    def resolve_obtained_by(obj: Consent) -> str:
        return obj.obtained_by.printed_name
