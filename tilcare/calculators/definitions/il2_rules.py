"""IL-2 dose check: evaluate hold/stop rule sets against the observations at dosing time.

One calculator per rule set shipped in `tilcare/protocols/rulesets/`, and one per protocol that
reads all the protocol's rule sets together (its decision is the strictest of them), each generated
from the observation catalogues: each measurement in its own unit within its plausible range, each
clinician finding yes / no / not assessed. Anything left blank is "not assessed", never "normal".

(No `from __future__ import annotations`: ninja and pydantic read these annotations at import.)
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, create_model

from tilcare.calculators.registry import Calculator, Outcome, Tone, register
from tilcare.clinical.rule_evaluation import evaluate, evaluate_all, shared_catalogue
from tilcare.clinical.rules import Decision, ObservationSpec, RuleSet
from tilcare.clinical.units import Quantity
from tilcare.core.api_support import checked_range
from tilcare.protocols.loader import available_protocols, load_protocol
from tilcare.protocols.rulesets import available_rule_sets, load_rule_set

_TONE: dict[Decision, Tone] = {
    Decision.GIVE: "ok",
    Decision.HOLD: "warn",
    Decision.STOP: "danger",
    Decision.CANNOT_DECIDE: "warn",
    Decision.CLINICIAN_REVIEW: "warn",
}


def _plausible(spec: ObservationSpec) -> AfterValidator:
    """Refuse a value outside the catalogue's plausible range, naming the field and the limit."""
    assert spec.unit is not None and spec.minimum is not None and spec.maximum is not None
    unit, low, high = spec.unit.value, spec.minimum, spec.maximum

    def check(value: Decimal | None) -> Decimal | None:
        if value is not None and not low <= value <= high:
            side = (
                f"below the plausible minimum {low}"
                if value < low
                else (f"above the plausible maximum {high}")
            )
            raise ValueError(
                f"{spec.key} {value} {unit} is {side} {unit} ({spec.label}: {low} to {high} "
                f"{unit}); check the value and its unit."
            )
        return value

    return AfterValidator(check)


def _fields(observations: tuple[ObservationSpec, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for spec in observations:
        if spec.unit is None:
            fields[spec.key] = (bool | None, Field(None, title=spec.label))
        else:
            # A measurement always has its plausible range: ObservationSpec refuses one without.
            assert spec.minimum is not None and spec.maximum is not None
            fields[spec.key] = (
                Annotated[Decimal | None, _plausible(spec)],
                Field(
                    None,
                    title=f"{spec.label} ({spec.unit.value})",
                    description=(
                        f"{spec.minimum} to {spec.maximum} {spec.unit.value}; blank if not "
                        "assessed."
                    ),
                    json_schema_extra=checked_range(spec.minimum, spec.maximum),
                ),
            )
    return fields


def _schema(name: str, observations: tuple[ObservationSpec, ...]) -> type[Schema]:
    model: type[Schema] = create_model(name, __base__=Schema, **_fields(observations))
    return model


def _observations(data: Schema, units: dict[str, Any]) -> dict[str, Quantity | bool]:
    observations: dict[str, Quantity | bool] = {}
    for key, value in data.model_dump().items():
        if value is None:
            continue
        unit = units[key]
        observations[key] = value if unit is None else Quantity.of(value, unit)
    return observations


def _runner(rule_set: RuleSet) -> Any:
    units = {spec.key: spec.unit for spec in rule_set.observations}

    def run(data: Schema) -> Outcome:
        result = evaluate(rule_set, _observations(data, units))
        return Outcome(result.reason, result, _TONE[result.decision])

    return run


def _all_runner(rule_sets: tuple[RuleSet, ...], catalogue: Mapping[str, ObservationSpec]) -> Any:
    units = {key: spec.unit for key, spec in catalogue.items()}

    def run(data: Schema) -> Outcome:
        result = evaluate_all(rule_sets, _observations(data, units))
        return Outcome(result.reason, result, _TONE[result.decision])

    return run


def _name(identifier: str) -> str:
    return "".join(part.title() for part in identifier.replace("_", "-").split("-"))


# Every observation of the 2024 TIL consensus assessed, creatinine in its hold band.
_BETOF_WARNER_EXAMPLE = {
    "hypotension_persisting_despite_fluids": False,
    "urine_output_persistently_low_despite_boluses": False,
    "urine_output_ml_per_kg_per_h_over_8h": "0.8",
    "serum_creatinine_mg_per_dl": "2.6",
    "creatinine_clearance_persistently_low": False,
}
_EXAMPLES = {"betof-warner-2024": _BETOF_WARNER_EXAMPLE}

for _id in available_rule_sets():
    _rule_set = load_rule_set(_id)
    alone = (
        f" It covers only {_rule_set.covers_only}: it can hold or stop a dose, never clear one "
        "alone."
        if _rule_set.covers_only
        else ""
    )
    register(
        Calculator(
            slug=f"il2-{_id}",
            title=f"IL-2 dose check — {_rule_set.title}",
            group="Dosing and schedule",
            purpose=(
                f"Which hold or stop criteria of {_rule_set.source} are met, on which value, "
                f"and what was not assessed.{alone}"
            ),
            subgroup="IL-2 hold and stop criteria",
            list_title=f"{_rule_set.title} ({_id})",
            input_schema=_schema(_name(_id) + "ObservationsIn", _rule_set.observations),
            run=_runner(_rule_set),
            example=_EXAMPLES.get(_id, {"serum_creatinine_mg_per_dl": "2.6"}),
        )
    )

for _ref in available_protocols():
    _protocol = load_protocol(_ref.protocol_id, _ref.version)
    _sets = tuple(load_rule_set(rule_set_id) for rule_set_id in _protocol.il2_rule_sets)
    if not _sets:
        continue
    _catalogue = shared_catalogue(_sets)
    register(
        Calculator(
            slug=f"il2-criteria-{_protocol.protocol_id}-{_protocol.version}".replace("_", "-"),
            title=f"IL-2 dose check, all criteria — {_protocol.title}",
            group="Dosing and schedule",
            purpose=(
                "Every hold and stop criterion of the protocol's rule sets "
                f"({', '.join(r.title for r in _sets)}) at once: the strictest answer wins, and "
                "the dose is cleared only when every criterion was assessed."
            ),
            subgroup=_protocol.title,
            list_title="IL-2 dose check, all criteria",
            input_schema=_schema(
                _name(f"il2-criteria-{_protocol.protocol_id}-{_protocol.version}") + "In",
                tuple(_catalogue.values()),
            ),
            run=_all_runner(_sets, _catalogue),
            example={"serum_creatinine_mg_per_dl": "2.6", **_BETOF_WARNER_EXAMPLE},
        )
    )
