"""API shapes of IL-2 dose by dose: the nurse's assessment before a dose, the treating
physician's decision, and where the order stands.

An observation travels as the protocol's rule sets read it: a measurement as decimal text in the
unit its key names ("38.9" for `temperature_c`), never a JSON number (a float or `true` could not
be told from what was meant); a finding as `true` or `false`; `null` or "" for not assessed.
Which keys the order's protocol reads, with their labels, units and plausible ranges, is in the
order's IL-2 standing (`observations`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from tilcare.clinical.dosing.schedule import Il2ScheduleStatus
from tilcare.clinical.rules import ObservationSpec
from tilcare.core.api_support import AwareDateTime, DecimalText, InputSchema, UtcDateTime
from tilcare.treatment.choices import NOTE_MAX
from tilcare.treatment.models import Il2Decision, OrderDose
from tilcare.treatment.selectors import Il2Standing

OBSERVATION_TEXT_MAX = 20
OBSERVATION_KEY_MAX = 60
OBSERVATIONS_MAX = 60
OBSERVATION_TYPE = (
    'Send a measurement as text, e.g. "38.9", a finding as true or false, or null when it was '
    "not assessed."
)


def _observation_value(value: Any) -> Any:
    """Text, true/false or null only: a JSON number (or 1 for true) is refused in words."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > OBSERVATION_TEXT_MAX:
            raise PydanticCustomError(
                "observation_text", f"Send at most {OBSERVATION_TEXT_MAX} characters."
            )
        return value
    raise PydanticCustomError("observation_type", OBSERVATION_TYPE)


ObservationValue = Annotated[
    str | bool | None,
    BeforeValidator(_observation_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": OBSERVATION_TEXT_MAX},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]


def _observation_keys(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) > OBSERVATIONS_MAX:
            raise PydanticCustomError(
                "observations_count", f"Send at most {OBSERVATIONS_MAX} observations."
            )
        for key in value:
            if not isinstance(key, str) or not key or len(key) > OBSERVATION_KEY_MAX:
                raise PydanticCustomError(
                    "observation_key",
                    f"Name each observation by its key (1 to {OBSERVATION_KEY_MAX} characters).",
                )
    return value


Observations = Annotated[
    dict[str, ObservationValue],
    BeforeValidator(_observation_keys),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": OBSERVATIONS_MAX,
            "propertyNames": {"minLength": 1, "maxLength": OBSERVATION_KEY_MAX},
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "maxLength": OBSERVATION_TEXT_MAX},
                    {"type": "boolean"},
                    {"type": "null"},
                ]
            },
        }
    ),
]


# --- in -------------------------------------------------------------------------------------


class Il2AssessmentIn(InputSchema):
    observations: Observations = Field(
        ...,
        description="What was assessed, by the keys of the order's observation catalogue: a "
        'measurement as decimal text in its unit ("38.9"), a finding as true or false; left '
        "out, null or empty when not assessed (never read as normal).",
    )
    choice: Literal["give", "hold", "stop"] = Field(
        ...,
        description="The nurse's decision: give only when the rules clear the dose; a decision "
        "other than the rules' says why in the note.",
    )
    note: str = Field("", max_length=NOTE_MAX, description="Why, when required.")
    at: AwareDateTime | None = Field(
        None, description="When the patient was assessed, with its UTC offset; now if left out."
    )


class Il2DecisionIn(InputSchema):
    choice: Literal["give", "hold", "stop"] = Field(
        ...,
        description="The treating physician's decision: give (refused when a stop criterion is "
        "met), hold (the dose is recorded held now) or stop (this and every later dose not "
        "given, the order stopped).",
    )
    note: str = Field(
        "",
        max_length=NOTE_MAX,
        description="Required to give a dose the rules did not clear or past its window, and "
        "to stop.",
    )


# --- out ------------------------------------------------------------------------------------


class ObservationOut(Schema):
    key: str
    label: str
    kind: str = Field(..., description="measurement (decimal text) or finding (true/false)")
    unit: str | None = Field(..., description="The measurement's unit; null for a finding.")
    range_low: DecimalText | None = Field(
        ..., description="The lowest plausible value (a value below it is refused)."
    )
    range_high: DecimalText | None = Field(
        ..., description="The highest plausible value (a value above it is refused)."
    )


class Il2DoseOut(Schema):
    sequence: int
    agent: str
    dose: DecimalText
    dose_unit: str


class Il2WindowOut(Schema):
    next_dose_number: int | None = Field(..., description="Null once the maximum is reached.")
    max_doses: int
    allowed_from: UtcDateTime | None
    allowed_until: UtcDateTime | None
    status: str = Field(..., description="too_early, allowed, too_late or maximum_reached.")
    reason: str
    source: str


class Il2DecisionOut(Schema):
    public_id: UUID
    order: UUID
    dose_sequence: int
    status: str = Field(..., description="awaiting_physician or decided")
    observations: dict[str, str | bool] = Field(
        ..., description="What was assessed (measurements as decimal text, findings true/false)."
    )
    evaluated_decision: str = Field(..., description="What the rules say: give, hold or stop.")
    reason: str = Field(..., description="The rules' answer in words.")
    evaluation: dict[str, Any] = Field(
        ..., description="The clinical core's whole evaluation: each rule that fired, its value."
    )
    window: dict[str, Any] = Field(..., description="The dose's window at the assessment.")
    assessed_at: UtcDateTime
    nurse: str
    nurse_choice: str
    nurse_note: str
    physician: str | None
    physician_choice: str | None
    physician_note: str
    decided_at: UtcDateTime | None


class Il2StandingOut(Schema):
    order: UUID
    status: str = Field(..., description="The order's status: verified, stopped, ...")
    given: int
    held: int
    not_given: int
    infusion_end: UtcDateTime | None = Field(
        ..., description="The end of the cell infusion the doses are timed from, once recorded."
    )
    next_dose: Il2DoseOut | None = Field(..., description="The dose to assess next, if any.")
    window: Il2WindowOut | None = Field(
        ..., description="The next dose's window now; null before the infusion's end."
    )
    observations: list[ObservationOut] = Field(
        ..., description="What the protocol's hold and stop rules read, in the files' order."
    )
    decisions: list[Il2DecisionOut]


# --- builders -------------------------------------------------------------------------------


def observation_out(spec: ObservationSpec) -> ObservationOut:
    return ObservationOut(
        key=spec.key,
        label=spec.label,
        kind="finding" if spec.unit is None else "measurement",
        unit=None if spec.unit is None else spec.unit.value,
        range_low=spec.minimum,
        range_high=spec.maximum,
    )


def _dose_out(dose: OrderDose | None) -> Il2DoseOut | None:
    if dose is None:
        return None
    return Il2DoseOut(
        sequence=dose.sequence, agent=dose.agent, dose=dose.dose, dose_unit=dose.dose_unit
    )


def _window_out(schedule: Il2ScheduleStatus | None) -> Il2WindowOut | None:
    if schedule is None:
        return None
    return Il2WindowOut(
        next_dose_number=schedule.next_dose_number,
        max_doses=schedule.max_doses,
        allowed_from=schedule.allowed_from,
        allowed_until=schedule.allowed_until,
        status=schedule.status.value,
        reason=schedule.reason,
        source=schedule.source,
    )


def decision_out(decision: Il2Decision) -> Il2DecisionOut:
    physician = decision.physician
    return Il2DecisionOut(
        public_id=decision.public_id,
        order=decision.order.public_id,
        dose_sequence=decision.dose.sequence,
        status=decision.status,
        observations=decision.observations,
        evaluated_decision=decision.evaluated_decision,
        reason=str(decision.evaluation.get("reason", "")),
        evaluation=decision.evaluation,
        window=decision.window,
        assessed_at=decision.assessed_at,
        nurse=decision.nurse.printed_name,
        nurse_choice=decision.nurse_choice,
        nurse_note=decision.nurse_note,
        physician=None if physician is None else physician.printed_name,
        physician_choice=decision.physician_choice or None,
        physician_note=decision.physician_note,
        decided_at=decision.decided_at,
    )


def standing_out(
    standing: Il2Standing,
    catalogue: dict[str, ObservationSpec],
    decisions: list[Il2Decision],
) -> Il2StandingOut:
    order = standing.order
    return Il2StandingOut(
        order=order.public_id,
        status=order.status,
        given=standing.given,
        held=standing.held,
        not_given=standing.not_given,
        infusion_end=standing.infusion_end,
        next_dose=_dose_out(standing.next_dose),
        window=_window_out(standing.schedule),
        observations=[observation_out(spec) for spec in catalogue.values()],
        decisions=[decision_out(decision) for decision in decisions],
    )
