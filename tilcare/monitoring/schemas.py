"""API shapes of a patient's observations and the grades they set.

An entry names its `kind` (the catalogue's key, `clinical.observations`), its value (`value`, a
JSON number or decimal text, in the kind's UCUM `unit`; or `value_text`, an answer's code, for a
categorical kind), when it was measured (`effective_at`, ISO 8601 with its UTC offset; for a
fluid total the end of its period, which starts at `period_start`), the laboratory's range when
it sends one, the vital-signs set it belongs to (`set_id`), the sender's own identifier
(`client_id`: sent again, the same observation is stored once) and the course when known. The
ranges, places and answers are the catalogue's, checked by the service, which names the field
(`entries.<i>.<field>`) and the limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from uuid import UUID

from ninja import Field, Schema
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from tilcare.clinical.observations import BY_KEY, KINDS
from tilcare.core.api_support import (
    AwareDateTime,
    DecimalText,
    InputSchema,
    UtcDateTime,
    checked_range,
)
from tilcare.monitoring.choices import CLIENT_ID_MAX, MAX_ENTRIES, REASON_MAX, SET_ID_MAX
from tilcare.monitoring.models import Grade, Observation

NUMBER_TEXT_MAX = 40
# The widest of the catalogue's plausible ranges: each kind's own is checked by the service.
_LOWEST = min(kind.minimum for kind in KINDS if kind.minimum is not None)
_HIGHEST = max(kind.maximum for kind in KINDS if kind.maximum is not None)
_NUMBER_OR_TEXT: Any = {
    "anyOf": [
        {"type": "number", **checked_range(_LOWEST, _HIGHEST)},
        {"type": "string", "maxLength": NUMBER_TEXT_MAX},
    ]
}
_OPTIONAL_NUMBER_OR_TEXT: Any = {"anyOf": [*_NUMBER_OR_TEXT["anyOf"], {"type": "null"}]}


def _number_text(value: Any) -> Any:
    if isinstance(value, str) and len(value) > NUMBER_TEXT_MAX:
        raise PydanticCustomError(
            "number_text", f"Send at most {NUMBER_TEXT_MAX} characters for a value."
        )
    return value


class ObservationEntryIn(InputSchema):
    kind: str = Field(
        ...,
        description="The catalogue's key of the observation.",
        json_schema_extra={"enum": list(BY_KEY)},
    )
    value: Decimal | None = Field(
        None,
        description="A quantity, in the kind's UCUM unit (JSON number or decimal text).",
        json_schema_extra=_OPTIONAL_NUMBER_OR_TEXT,
    )
    value_text: str | None = Field(
        None, max_length=20, description="A categorical kind's answer code (yes/no, A/C/V/P/U)."
    )
    unit: str | None = Field(
        None, max_length=20, description="The kind's UCUM unit; none for a categorical kind."
    )
    effective_at: AwareDateTime = Field(
        ..., description="When it was measured (a fluid total: the end of its period)."
    )
    period_start: AwareDateTime | None = Field(None, description="A fluid total's start.")
    reference_low: Decimal | None = Field(
        None,
        description="The laboratory's lower limit of normal, in the kind's unit.",
        json_schema_extra=_OPTIONAL_NUMBER_OR_TEXT,
    )
    reference_high: Decimal | None = Field(
        None,
        description="The laboratory's upper limit of normal, in the kind's unit.",
        json_schema_extra=_OPTIONAL_NUMBER_OR_TEXT,
    )
    set_id: str = Field("", max_length=SET_ID_MAX, description="Vital signs taken together.")
    client_id: str = Field(
        "", max_length=CLIENT_ID_MAX, description="The sender's identifier of this observation."
    )
    coi_din: str = Field("", max_length=13, description="The course's COI identifier.")
    manufacture_attempt: int | None = Field(None, ge=1, le=9)

    @field_validator("value", "reference_low", "reference_high", mode="before")
    @classmethod
    def _short_text(cls, value: Any) -> Any:
        return _number_text(value)


class ObservationsIn(InputSchema):
    entries: list[ObservationEntryIn] = Field(..., min_length=1, max_length=MAX_ENTRIES)


class CorrectionIn(InputSchema):
    value: Decimal | str = Field(
        ...,
        description="The right value: a number for a quantity, an answer's code otherwise.",
        json_schema_extra=_NUMBER_OR_TEXT,
    )
    reason: str = Field(..., min_length=1, max_length=REASON_MAX)

    @field_validator("value", mode="before")
    @classmethod
    def _short_text(cls, value: Any) -> Any:
        return _number_text(value)


class GradeOut(Schema):
    public_id: UUID
    system: str
    term: str
    grade: int | None = Field(description="Empty when not graded; `rule` says why.")
    rule: str
    values: dict[str, Any]
    detail: dict[str, Any]
    source: str
    observation: UUID | None
    set_id: str
    effective_at: UtcDateTime


class PatientObservationOut(Schema):
    public_id: UUID
    kind: str
    label: str
    code: str
    code_system: str
    display: str
    value: DecimalText | None
    value_text: str
    unit: str
    effective_at: UtcDateTime
    period_start: UtcDateTime | None
    reference_low: DecimalText | None
    reference_high: DecimalText | None
    set_id: str
    source: str
    client_id: str
    coi_din: str
    manufacture_attempt: int | None
    recorded_by: str
    recorded_at: UtcDateTime
    supersedes: UUID | None
    correction_reason: str
    superseded: bool
    grades: list[GradeOut]
    news2: GradeOut | None = Field(description="The latest NEWS2 row of its vital-signs set.")


class RecordedOut(Schema):
    observations: list[PatientObservationOut]
    grades: list[GradeOut] = Field(description="The grades written by this request.")


def grade_out(grade: Grade, observation_id: UUID | None = None) -> GradeOut:
    return GradeOut(
        public_id=grade.public_id,
        system=grade.system,
        term=grade.term,
        grade=grade.grade,
        rule=grade.rule,
        values=grade.values,
        detail=grade.detail,
        source=grade.source,
        observation=observation_id,
        set_id=grade.set_id,
        effective_at=grade.effective_at,
    )


def _places(value: Decimal | None, places: int) -> Decimal | None:
    return None if value is None else value.quantize(Decimal(1).scaleb(-places))


def observation_out(
    observation: Observation,
    grades: Iterable[Grade],
    news2: Grade | None,
    *,
    superseded: bool,
    supersedes: UUID | None,
) -> PatientObservationOut:
    kind = BY_KEY[observation.kind]
    return PatientObservationOut(
        public_id=observation.public_id,
        kind=kind.key,
        label=kind.label,
        code=observation.loinc,
        code_system=kind.system,
        display=kind.display,
        value=_places(observation.value, kind.places),
        value_text=observation.value_text,
        unit=observation.unit,
        effective_at=observation.effective_at,
        period_start=observation.period_start,
        reference_low=_places(observation.reference_low, kind.places),
        reference_high=_places(observation.reference_high, kind.places),
        set_id=observation.set_id,
        source=observation.source,
        client_id=observation.client_id,
        coi_din=observation.coi_din,
        manufacture_attempt=observation.manufacture_attempt,
        recorded_by=observation.recorded_by.printed_name,
        recorded_at=observation.created_at,
        supersedes=supersedes,
        correction_reason=observation.correction_reason,
        superseded=superseded,
        grades=[grade_out(g, observation.public_id) for g in grades],
        news2=None if news2 is None else grade_out(news2),
    )
