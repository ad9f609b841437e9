"""IL-2 dose check: evaluate a hold/stop rule set against the observations at dosing time.

One calculator per rule set shipped in `tilcare/protocols/rulesets/`, generated from its
observation catalogue: each measurement in its own unit, each clinician finding yes / no / not
assessed. Anything left blank is "not assessed", never "normal".

(No `from __future__ import annotations`: ninja and pydantic read these annotations at import.)
"""

from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import create_model

from tilcare.calculators.registry import Calculator, Outcome, Tone, register
from tilcare.clinical.rule_evaluation import evaluate
from tilcare.clinical.rules import Decision, RuleSet
from tilcare.clinical.units import Quantity
from tilcare.protocols.rulesets import available_rule_sets, load_rule_set

_TONE: dict[Decision, Tone] = {
    Decision.GIVE: "ok",
    Decision.HOLD: "warn",
    Decision.STOP: "danger",
    Decision.CANNOT_DECIDE: "warn",
    Decision.CLINICIAN_REVIEW: "warn",
}


def _schema(rule_set: RuleSet) -> type[Schema]:
    fields: dict[str, Any] = {}
    for spec in rule_set.observations:
        if spec.unit is None:
            fields[spec.key] = (bool | None, Field(None, title=spec.label))
        else:
            fields[spec.key] = (
                Decimal | None,
                Field(None, title=f"{spec.label} ({spec.unit.value})"),
            )
    name = "".join(part.title() for part in rule_set.id.split("-")) + "ObservationsIn"
    model: type[Schema] = create_model(name, __base__=Schema, **fields)
    return model


def _runner(rule_set: RuleSet) -> Any:
    units = {spec.key: spec.unit for spec in rule_set.observations}

    def run(data: Schema) -> Outcome:
        observations: dict[str, Quantity | bool] = {}
        for key, value in data.model_dump().items():
            if value is None:
                continue
            unit = units[key]
            observations[key] = value if unit is None else Quantity.of(value, unit)
        result = evaluate(rule_set, observations)
        return Outcome(result.reason, result, _TONE[result.decision])

    return run


# Every observation of the 2024 TIL consensus assessed, creatinine in its hold band.
_EXAMPLES = {
    "betof-warner-2024": {
        "hypotension_persisting_despite_fluids": False,
        "urine_output_persistently_low_despite_boluses": False,
        "urine_output_ml_per_kg_per_h_over_8h": "0.8",
        "serum_creatinine_mg_per_dl": "2.6",
    }
}

for _id in available_rule_sets():
    _rule_set = load_rule_set(_id)
    register(
        Calculator(
            slug=f"il2-{_id}",
            title=f"IL-2 dose check — {_rule_set.title}",
            group="Dosing and schedule",
            purpose=(
                f"Which hold or stop criteria of {_rule_set.source} are met, on which value, "
                "and what was not assessed."
            ),
            subgroup="IL-2 hold and stop criteria",
            list_title=f"{_rule_set.title} ({_id})",
            input_schema=_schema(_rule_set),
            run=_runner(_rule_set),
            example=_EXAMPLES.get(_id, {"serum_creatinine_mg_per_dl": "2.6"}),
        )
    )
