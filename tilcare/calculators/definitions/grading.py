"""Toxicity grading and early warning: NEWS2 and ASTCT CRS (CTCAE graders join as they land).

(No `from __future__ import annotations`: ninja and pydantic read these annotations at import.)
"""

from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from tilcare.calculators.registry import Calculator, Outcome, Tone, register
from tilcare.clinical.grading.crs_astct import Hypotension, Hypoxia, TherapyForCrs, grade_crs
from tilcare.clinical.grading.news2 import Consciousness, SpO2Scale, score_news2
from tilcare.core.api_support import checked_range

GROUP = "Toxicity grading and early warning"

_CONSCIOUSNESS = {
    "alert": Consciousness.ALERT,
    "new_confusion": Consciousness.NEW_CONFUSION,
    "voice": Consciousness.VOICE,
    "pain": Consciousness.PAIN,
    "unresponsive": Consciousness.UNRESPONSIVE,
}


# The clinical core refuses a vital sign outside these plausible ranges on its field, naming the
# limit (grading/news2.py); the API document declares them.
class News2In(Schema):
    respiration_rate_per_min: int = Field(
        ..., title="Respiration rate (/min)", json_schema_extra=checked_range(0, 80)
    )
    spo2_percent: int = Field(..., title="SpO₂ (%)", json_schema_extra=checked_range(50, 100))
    spo2_scale: Literal["1", "2"] = Field(
        ...,
        title="SpO₂ scale",
        description="2 only for a prescribed target SpO₂ of 88–92 % (hypercapnic failure)",
    )
    on_oxygen: bool = Field(..., title="On supplemental oxygen")
    systolic_bp_mmhg: int = Field(
        ..., title="Systolic blood pressure (mm Hg)", json_schema_extra=checked_range(40, 300)
    )
    pulse_per_min: int = Field(..., title="Pulse (/min)", json_schema_extra=checked_range(20, 250))
    consciousness: Literal["alert", "new_confusion", "voice", "pain", "unresponsive"] = Field(
        ..., title="Consciousness (ACVPU)"
    )
    temperature_c: Decimal = Field(
        ...,
        title="Temperature (°C)",
        description="one decimal place",
        json_schema_extra=checked_range(Decimal("30.0"), Decimal("44.0")),
    )


def _news2_tone(aggregate: int, any_single_3: bool) -> Tone:
    if aggregate >= 7:
        return "danger"
    if aggregate >= 5 or any_single_3:
        return "warn"
    return "ok"


def run_news2(data: News2In) -> Outcome:
    result = score_news2(
        respiration_rate_per_min=data.respiration_rate_per_min,
        spo2_percent=data.spo2_percent,
        spo2_scale=SpO2Scale.SCALE_1 if data.spo2_scale == "1" else SpO2Scale.SCALE_2,
        on_oxygen=data.on_oxygen,
        systolic_bp_mmhg=data.systolic_bp_mmhg,
        pulse_per_min=data.pulse_per_min,
        consciousness=_CONSCIOUSNESS[data.consciousness],
        temperature_c=data.temperature_c,
    )
    headline = f"NEWS2 {result.aggregate} — {result.clinical_risk} risk: {result.response}"
    return Outcome(headline, result, _news2_tone(result.aggregate, result.any_single_3))


class CrsIn(Schema):
    fever: bool = Field(..., title="Fever ≥ 38 °C not attributable to another cause")
    crs_graded_before_therapy: bool = Field(
        ...,
        title="CRS already graded before the therapy below",
        description=(
            "Yes only if this patient was already graded with CRS and the therapy was then given "
            "for it: only then is fever no longer required (ASTCT 2019)"
        ),
    )
    therapy_for_crs: Literal[
        "none", "tocilizumab_or_other_anticytokine", "corticosteroids", "antipyretic_for_crs"
    ] = Field(
        ...,
        title="Therapy given for CRS",
        description=(
            "none for scheduled premedication such as acetaminophen during IL-2: it does not "
            "waive the fever requirement"
        ),
    )
    hypotension: Literal[
        "none", "not_requiring_vasopressors", "one_vasopressor", "multiple_vasopressors"
    ] = Field(..., title="Hypotension", description="one vasopressor: with or without vasopressin")
    hypoxia: Literal["none", "low_flow_or_blow_by", "high_flow_facemask", "positive_pressure"] = (
        Field(
            ...,
            title="Hypoxia",
            description=(
                "low flow: nasal cannula ≤ 6 L/min or blow-by; high flow: > 6 L/min, facemask, "
                "non-rebreather or Venturi; positive pressure: CPAP, BiPAP, intubation"
            ),
        )
    )
    death_due_to_crs: bool = Field(False, title="Death due to CRS")


_HYPOTENSION = {
    "none": Hypotension.NONE,
    "not_requiring_vasopressors": Hypotension.NOT_REQUIRING_VASOPRESSORS,
    "one_vasopressor": Hypotension.ONE_VASOPRESSOR,
    "multiple_vasopressors": Hypotension.MULTIPLE_VASOPRESSORS,
}
_HYPOXIA = {
    "none": Hypoxia.NONE,
    "low_flow_or_blow_by": Hypoxia.LOW_FLOW_OR_BLOW_BY,
    "high_flow_facemask": Hypoxia.HIGH_FLOW_FACEMASK_NRB_VENTURI,
    "positive_pressure": Hypoxia.POSITIVE_PRESSURE,
}


def run_crs(data: CrsIn) -> Outcome:
    result = grade_crs(
        fever=data.fever,
        crs_graded_before_therapy=data.crs_graded_before_therapy,
        therapy_for_crs=TherapyForCrs(data.therapy_for_crs),
        hypotension=_HYPOTENSION[data.hypotension],
        hypoxia=_HYPOXIA[data.hypoxia],
        death_due_to_crs=data.death_due_to_crs,
    )
    tone: Tone = "ok" if result.grade == 0 else "warn" if result.grade <= 2 else "danger"
    return Outcome(f"CRS grade {result.grade} (ASTCT 2019): {result.rule}", result, tone)


register(
    Calculator(
        slug="news2",
        title="NEWS2 early warning score",
        group=GROUP,
        purpose="Sub-scores, aggregate and the RCP clinical response for one set of vital signs.",
        input_schema=News2In,
        run=run_news2,
        example={
            "respiration_rate_per_min": 22,
            "spo2_percent": 95,
            "spo2_scale": "1",
            "on_oxygen": False,
            "systolic_bp_mmhg": 105,
            "pulse_per_min": 112,
            "consciousness": "alert",
            "temperature_c": "38.6",
        },
    )
)
register(
    Calculator(
        slug="crs-astct",
        title="Cytokine release syndrome grade (ASTCT 2019)",
        group=GROUP,
        purpose="ASTCT consensus CRS grade from fever, hypotension and hypoxia.",
        input_schema=CrsIn,
        run=run_crs,
        example={
            "fever": True,
            "crs_graded_before_therapy": False,
            "therapy_for_crs": "none",
            "hypotension": "one_vasopressor",
            "hypoxia": "low_flow_or_blow_by",
        },
    )
)
