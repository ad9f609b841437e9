"""The grades an observation sets on arrival, from the clinical core, ready to be stored.

CTCAE v5.0 (`clinical.grading.ctcae_v5_0_labs`), for the terms whose grade follows from the value
alone or with the laboratory's range or the patient's baseline:

- temperature: Fever. Above 40.0 °C the grade (3 or 4) depends on the hours above 40.0 °C, which
  one temperature does not tell: the grade row says so, ungraded.
- neutrophils, platelets, lymphocytes, white blood cells: "... count decreased", and hemoglobin:
  Anemia, each against the laboratory's lower limit of normal (`reference_low`); without it the
  grade row says the limit was not sent. Anemia's transfusion question is not asked on arrival:
  the grade is then "at least" the hemoglobin's (the clinical core says so in its notes).
- creatinine: Creatinine increased against the laboratory's upper limit of normal
  (`reference_high`); without it, ungraded, saying so.
- weight: Weight gain against the baseline weight (`selectors.baseline_measurement`); without a
  recorded height and weight, ungraded, saying so.

NEWS2 (`clinical.grading.news2`) on each complete vital-signs set: the seven parameters recorded
with one `set_id`. An incomplete set is stored and not scored: its grade row names the missing
parameters. SpO2 is scored on Scale 1: Scale 2 is only for a patient with a prescribed target of
88–92 %, which is not recorded with the set (the rule says so).

A value the clinical core finds implausible against the laboratory's range or the baseline (a
lower limit of normal outside what it grades against, a weight more than 50 % from baseline) is
refused with its words, under the field that carries it (`GradingRefused`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tilcare.clinical.grading import ctcae_v5_0_labs as labs
from tilcare.clinical.grading.ctcae_v5_0 import SOURCE as CTCAE_SOURCE
from tilcare.clinical.grading.ctcae_v5_0 import CtcaeGrade, MissingInput
from tilcare.clinical.grading.news2 import (
    SOURCE as NEWS2_SOURCE,
)
from tilcare.clinical.grading.news2 import (
    Consciousness,
    News2Result,
    SpO2Scale,
    score_news2,
)
from tilcare.clinical.observations import BY_KEY, News2Parameter, ObservationKind
from tilcare.clinical.serialize import to_jsonable
from tilcare.clinical.units import ImplausibleInput, Quantity, Unit
from tilcare.monitoring import selectors
from tilcare.monitoring.choices import GradeSystem
from tilcare.monitoring.models import Grade, Observation

NO_LLN = "not graded: the laboratory's lower limit of normal was not sent"
NO_ULN = "not graded: the laboratory's upper limit of normal was not sent"
NO_BASELINE = (
    "not graded: no height and weight is recorded for the patient, so there is no baseline "
    "weight to compare with"
)
NEWS2_TERM = "NEWS2 aggregate score"
SCALE_NOTE = (
    "SpO2 scored on Scale 1 (Scale 2 is only for a prescribed target SpO2 of 88-92 %, not "
    "recorded with this set)"
)
_CONSCIOUSNESS = {
    "A": Consciousness.ALERT,
    "C": Consciousness.NEW_CONFUSION,
    "V": Consciousness.VOICE,
    "P": Consciousness.PAIN,
    "U": Consciousness.UNRESPONSIVE,
}
_COUNTS: dict[str, tuple[str, Callable[..., CtcaeGrade]]] = {
    "anc": ("Neutrophil count decreased", labs.grade_neutrophil_count_decreased),
    "platelets": ("Platelet count decreased", labs.grade_platelet_count_decreased),
    "lymphocytes": ("Lymphocyte count decreased", labs.grade_lymphocyte_count_decreased),
    "wbc": ("White blood cell decreased", labs.grade_white_blood_cell_decreased),
}


class GradingRefused(ValueError):
    """The clinical core refused a value against the range or baseline it was graded with."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Graded:
    term: str
    grade: int | None
    rule: str
    values: dict[str, Any]
    detail: dict[str, Any]
    source: str


def _q(value: Decimal, kind: ObservationKind) -> Quantity:
    # Stored with four places: shown, and graded, to the places the kind is recorded to (the
    # value has no more, so nothing is rounded).
    assert kind.unit is not None
    return Quantity(value.quantize(Decimal(1).scaleb(-kind.places)), kind.unit)


def _ctcae(result: CtcaeGrade) -> Graded:
    detail = {
        "grade_text": result.grade_text,
        "notes": list(result.notes),
        "rounding": result.rounding,
        "at_least": result.at_least,
        "version": result.version,
        "meddra_code": result.term.meddra_code,
    }
    return Graded(
        result.term.term,
        result.grade,
        result.rule,
        to_jsonable(dict(result.values)),
        detail,
        result.source,
    )


def _ungraded(term: str, rule: str, values: dict[str, Any]) -> Graded:
    return Graded(term, None, rule, values, {}, CTCAE_SOURCE)


def ctcae_for(observation: Observation) -> list[Graded]:
    """The CTCAE v5.0 grades `observation` sets on arrival (none for a kind with no term)."""
    key = observation.kind
    kind = BY_KEY[key]
    if kind.unit is None or observation.value is None:
        return []
    value = _q(observation.value, kind)
    low = None if observation.reference_low is None else _q(observation.reference_low, kind)
    high = None if observation.reference_high is None else _q(observation.reference_high, kind)
    sent = {kind.label: to_jsonable(value)}
    try:
        if key == "temperature":
            try:
                return [_ctcae(labs.grade_fever(temperature=value))]
            except MissingInput as missing:
                return [_ungraded("Fever", f"not graded: {missing}", sent)]
        if key in _COUNTS:
            term, grader = _COUNTS[key]
            if low is None:
                return [_ungraded(term, NO_LLN, sent)]
            return [_ctcae(grader(count=value, lln=low))]
        if key == "hemoglobin":
            if low is None:
                return [_ungraded("Anemia", NO_LLN, sent)]
            return [_ctcae(labs.grade_anemia(hemoglobin=value, lln=low))]
        if key == "creatinine":
            if high is None:
                return [_ungraded("Creatinine increased", NO_ULN, sent)]
            return [_ctcae(labs.grade_creatinine_increased(creatinine=value, uln=high))]
        if key == "weight":
            return [_weight_gain(observation, value, sent)]
    except ImplausibleInput as refused:
        field = "value"
        if key in _COUNTS or key == "hemoglobin":
            field = "reference_low"
        elif key == "creatinine":
            field = "reference_high"
        raise GradingRefused(field, str(refused)) from refused
    return []


def _weight_gain(observation: Observation, value: Quantity, sent: dict[str, Any]) -> Graded:
    day = selectors.local_day(observation.effective_at, observation.center)
    baseline = selectors.baseline_measurement(
        observation.patient, observation.coi_din, observation.manufacture_attempt, day
    )
    if baseline is None:
        return _ungraded("Weight gain", NO_BASELINE, sent)
    graded = _ctcae(
        labs.grade_weight_gain(weight=value, baseline_weight=Quantity(baseline.weight_kg, Unit.kg))
    )
    values = {**graded.values, "baseline measured on": baseline.measured_on.isoformat()}
    return Graded(graded.term, graded.grade, graded.rule, values, graded.detail, graded.source)


def news2_for(members: Iterable[Observation]) -> Graded | None:
    """NEWS2 for a vital-signs set: scored when all seven parameters are there, else a row
    naming the missing ones; None when the set holds none of the seven."""
    by_parameter: dict[News2Parameter, Observation] = {}
    for member in members:
        parameter = BY_KEY[member.kind].news2
        if parameter is not None:
            by_parameter[parameter] = member
    if not by_parameter:
        return None
    recorded = {p.value: str(o.public_id) for p, o in by_parameter.items()}
    missing = [p for p in News2Parameter if p not in by_parameter]
    if missing:
        names = ", ".join(p.value for p in missing)
        rule = f"not scored: the set is missing {names}"
        values = {"observations": recorded, "missing": [p.value for p in missing]}
        return Graded(NEWS2_TERM, None, rule, values, {}, NEWS2_SOURCE)
    result = _score(by_parameter)
    rule = (
        f"{result.rule}: aggregate {result.aggregate}, {result.clinical_risk} clinical risk"
        f"{', a single parameter scoring 3' if result.any_single_3 else ''}; {SCALE_NOTE}"
    )
    values = {
        "observations": recorded,
        "sub_scores": {s.name: {"value": s.value, "score": s.score} for s in result.sub_scores},
    }
    return Graded(NEWS2_TERM, result.aggregate, rule, values, to_jsonable(result), result.source)


def _score(by_parameter: dict[News2Parameter, Observation]) -> News2Result:
    def number(parameter: News2Parameter) -> Decimal:
        value = by_parameter[parameter].value
        assert value is not None
        return value

    p = News2Parameter
    return score_news2(
        respiration_rate_per_min=int(number(p.RESPIRATION_RATE)),
        spo2_percent=int(number(p.SPO2)),
        spo2_scale=SpO2Scale.SCALE_1,
        on_oxygen=by_parameter[p.AIR_OR_OXYGEN].value_text == "yes",
        systolic_bp_mmhg=int(number(p.SYSTOLIC_BP)),
        pulse_per_min=int(number(p.PULSE)),
        consciousness=_CONSCIOUSNESS[by_parameter[p.CONSCIOUSNESS].value_text],
        temperature_c=number(p.TEMPERATURE).quantize(Decimal("0.1")),
    )


def grade_row(
    graded: Graded,
    *,
    observation: Observation | None,
    patient_id: int,
    center_id: int,
    set_id: str,
    effective_at: dt.datetime,
    system: GradeSystem,
) -> Grade:
    """An unsaved Grade row for what the clinical core gave."""
    return Grade(
        center_id=center_id,
        patient_id=patient_id,
        observation=observation,
        set_id=set_id,
        effective_at=effective_at,
        system=system,
        term=graded.term,
        grade=graded.grade,
        rule=graded.rule,
        values=graded.values,
        detail=graded.detail,
        source=graded.source,
    )
