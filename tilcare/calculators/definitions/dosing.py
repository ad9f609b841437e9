"""Dosing and schedule calculators, one set per shipped protocol file.

For each protocol: lymphodepletion day-by-day doses, the IL-2 dose, the cell-dose range check,
the infusion window and the IL-2 schedule. Each takes the patient's values and the center
settings that calculation needs; the protocol's own numbers come from its file, with sources.

(No `from __future__ import annotations`: ninja and pydantic read these annotations at import.)
"""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import create_model

from tilcare.calculators.definitions.center_settings import (
    center_settings,
    narrowing_field,
    narrowing_specs,
    require_settings,
    setting_field,
)
from tilcare.calculators.definitions.limits import within
from tilcare.calculators.registry import Calculator, FieldRefusal, Outcome, Tone, register
from tilcare.clinical.body_size import HEIGHT_MAX_CM, HEIGHT_MIN_CM, WEIGHT_MAX_KG, WEIGHT_MIN_KG
from tilcare.clinical.dosing.cell_dose import check_cell_dose
from tilcare.clinical.dosing.il2 import il2_dose
from tilcare.clinical.dosing.lymphodepletion import lymphodepletion_doses
from tilcare.clinical.dosing.protocol_settings import narrowables, specs_in
from tilcare.clinical.dosing.regimens import resolve
from tilcare.clinical.dosing.schedule import ScheduleStatus, infusion_window, next_il2_dose
from tilcare.clinical.renal import (
    AGE_MAX_YEARS,
    AGE_MIN_YEARS,
    SCR_MAX_MG_PER_DL,
    SCR_MIN_MG_PER_DL,
)
from tilcare.clinical.units import Quantity, Unit, cm, kg, mg_per_dl, years
from tilcare.core.api_support import checked_range
from tilcare.protocols.loader import available_protocols, load_protocol
from tilcare.protocols.schema import Protocol

GROUP = "Dosing and schedule"
SexChoice = Literal["male", "female"]


def _bounded(key: str, low: Decimal, high: Decimal, unit: str, title: str, description: str) -> Any:
    """(annotation, Field) for a required number refused outside [low, high] on its own field,
    naming the field and the limit, with the range declared in the API document."""
    return (
        within(key, low, high, unit),
        Field(
            ..., title=title, description=description, json_schema_extra=checked_range(low, high)
        ),
    )


# The patient's body and renal inputs, each within the clinical core's plausible range
# (clinical/body_size.py, clinical/renal.py), refused on its own field before any center setting
# is asked for.
_BODY: dict[str, Any] = {
    "weight_kg": _bounded(
        "weight_kg",
        WEIGHT_MIN_KG,
        WEIGHT_MAX_KG,
        "kg",
        "Weight (kg)",
        f"actual weight, {WEIGHT_MIN_KG}–{WEIGHT_MAX_KG} kg",
    ),
    "height_cm": _bounded(
        "height_cm",
        HEIGHT_MIN_CM,
        HEIGHT_MAX_CM,
        "cm",
        "Height (cm)",
        f"{HEIGHT_MIN_CM}–{HEIGHT_MAX_CM} cm",
    ),
    "sex": (SexChoice, Field(..., title="Sex")),
}
_RENAL: dict[str, Any] = {
    "age_years": _bounded(
        "age_years",
        AGE_MIN_YEARS,
        AGE_MAX_YEARS,
        "years",
        "Age (years)",
        f"years, {AGE_MIN_YEARS}–{AGE_MAX_YEARS}",
    ),
    "serum_creatinine_mg_per_dl": _bounded(
        "serum_creatinine_mg_per_dl",
        SCR_MIN_MG_PER_DL,
        SCR_MAX_MG_PER_DL,
        "mg/dL",
        "Serum creatinine (mg/dL)",
        f"mg/dL, {SCR_MIN_MG_PER_DL}–{SCR_MAX_MG_PER_DL}",
    ),
}
_AT: dict[str, Any] = {
    "at": (
        dt.datetime | None,
        Field(None, title="Check at", description="date and time to check; blank for now"),
    )
}
_STATUS_TONE: dict[ScheduleStatus, Tone] = {
    ScheduleStatus.ALLOWED: "ok",
    ScheduleStatus.TOO_EARLY: "warn",
    ScheduleStatus.TOO_LATE: "danger",
    ScheduleStatus.MAXIMUM_REACHED: "danger",
}


def _schema(
    name: str, fields: dict[str, Any], specs: list[Any], narrowing: frozenset[str] = frozenset()
) -> type[Schema]:
    all_fields = dict(fields)
    for spec in specs:
        all_fields[spec.key] = (
            narrowing_field(spec) if spec.key in narrowing else setting_field(spec)
        )
    model: type[Schema] = create_model(name, __base__=Schema, **all_fields)
    return model


def _settings(regimen: Any, specs: list[Any], data: Any) -> Any:
    values = data.model_dump()
    require_settings(regimen, specs, values)
    settings = center_settings(specs, values)
    # A narrowing setting is checked against the protocol's range even where this calculation
    # does not read it (the start window once a dose is given): a slip is refused, not kept.
    for param in narrowables(regimen):
        resolve(param, settings)
    return settings


def _name(protocol: Protocol, kind: str) -> str:
    words = f"{kind}_{protocol.protocol_id}_{protocol.version}".split("_")
    return "".join(word.title() for word in words) + "In"


def _now(data: Any) -> dt.datetime:
    value: dt.datetime | None = getattr(data, "at", None)
    return value if value is not None else timezone.now()


def _lymphodepletion(protocol: Protocol) -> Calculator:
    specs = specs_in(protocol.lymphodepletion)

    def run(data: Any) -> Outcome:
        plan = lymphodepletion_doses(
            protocol.lymphodepletion,
            _settings(protocol.lymphodepletion, specs, data),
            weight=kg(data.weight_kg),
            height=cm(data.height_cm),
            sex=data.sex,
            age=years(data.age_years),
            serum_creatinine=mg_per_dl(data.serum_creatinine_mg_per_dl),
        )
        parts = [f"{agent.agent} {agent.dose} daily" for agent in plan.agents]
        return Outcome("; ".join(parts).capitalize(), plan, "info")

    return _calculator(
        protocol,
        "lymphodepletion",
        "Lymphodepletion doses",
        "Cyclophosphamide and fludarabine day by day from weight, BSA and CrCl.",
        _schema(_name(protocol, "lymphodepletion"), {**_BODY, **_RENAL}, specs),
        run,
        example={
            "weight_kg": "80",
            "height_cm": "178",
            "sex": "male",
            "age_years": "52",
            "serum_creatinine_mg_per_dl": "1.0",
        },
    )


def _il2(protocol: Protocol) -> Calculator:
    specs = [spec for spec in specs_in(protocol.il2) if "weight" in spec.key]

    def run(data: Any) -> Outcome:
        result = il2_dose(
            protocol.il2,
            _settings(protocol.il2, specs, data),
            weight=kg(data.weight_kg),
            height=cm(data.height_cm),
            sex=data.sex,
        )
        in_miu = result.dose.to(Unit.miu)
        return Outcome(f"IL-2 {result.dose} per dose ({in_miu.magnitude} MIU)", result, "info")

    return _calculator(
        protocol,
        "il2-dose",
        "IL-2 dose",
        "Aldesleukin dose in IU per kg of the protocol's dosing weight.",
        _schema(_name(protocol, "il2"), _BODY, specs),
        run,
        example={"weight_kg": "80", "height_cm": "178", "sex": "male"},
    )


def _cell_dose(protocol: Protocol) -> Calculator:
    fields: dict[str, Any] = {
        "total_viable_cells": (
            Decimal,
            Field(
                ...,
                title="Total viable cells",
                description=(
                    f"more than 0, at most {CELLS_MAX_E9} in ×10⁹ cells or "
                    f"{CELLS_MAX_E9 * 10**9:,} in cells"
                ),
                json_schema_extra=checked_range(0, CELLS_MAX_E9 * 10**9, above_minimum=True),
            ),
        ),
        "unit": (
            Literal["e9_cells", "cells"],
            Field(..., title="Unit", description="e9_cells (×10⁹ cells) or cells"),
        ),
        "bag_count": (int, Field(..., title="Number of bags", ge=0, le=20)),
    }

    def run(data: Any) -> Outcome:
        unit = Unit.cells_1e9 if data.unit == "e9_cells" else Unit.cells
        total = Quantity.of(data.total_viable_cells, unit)
        _check_total_cells(total)
        result = check_cell_dose(
            protocol.cell_dose,
            total_viable_cells=total,
            bag_count=data.bag_count,
        )
        tone: Tone = "ok" if result.within_range else "danger"
        return Outcome(f"{result.cells_message} {result.bags_message}", result, tone)

    return _calculator(
        protocol,
        "cell-dose",
        "Cell dose check",
        "Total viable cells and bag count against the protocol's range.",
        _schema(_name(protocol, "cell_dose"), fields, []),
        run,
        example={"total_viable_cells": "21.4", "unit": "e9_cells", "bag_count": 2},
    )


# Total viable cells of one product: lifileucel's label range ends at 72 ×10⁹, and the NKI phase 3
# trial's products reached about 200 ×10⁹ (its protocol sets no maximum); 1000 ×10⁹ is generous
# and still catches a count typed in cells under ×10⁹ cells. An entry-slip limit, not a dose limit.
CELLS_MAX_E9 = 1000


def _check_total_cells(total: Quantity) -> None:
    """Refuse a total above the plausible maximum, in the unit it was given, naming the field."""
    limit = Quantity.of(CELLS_MAX_E9, Unit.cells_1e9).to(total.unit)
    if total.magnitude > limit.magnitude:
        raise FieldRefusal(
            "total_viable_cells",
            f"total_viable_cells {total.magnitude} {total.unit.value} is above the plausible "
            f"maximum {limit.magnitude:,f} {total.unit.value}; check the unit (cells or ×10⁹ "
            "cells).",
        )


def _infusion_window(protocol: Protocol) -> Calculator:
    specs = specs_in(protocol.infusion_window)
    fields: dict[str, Any] = {
        "last_fludarabine_end": (
            dt.datetime,
            Field(..., title="Last fludarabine dose ended", description="with its UTC offset"),
        ),
        **_AT,
    }

    def run(data: Any) -> Outcome:
        result = infusion_window(
            protocol.infusion_window,
            _settings(protocol.infusion_window, specs, data),
            last_fludarabine_end=data.last_fludarabine_end,
            now=_now(data),
        )
        return Outcome(result.reason, result, _STATUS_TONE[result.status])

    return _calculator(
        protocol,
        "infusion-window",
        "Infusion window",
        "When the cells may be infused after the last fludarabine dose.",
        _schema(_name(protocol, "infusion_window"), fields, specs),
        run,
        example={
            "last_fludarabine_end": "2026-03-02T10:00:00-05:00",
            "at": "2026-03-03T12:00:00-05:00",
        },
    )


def _il2_schedule(protocol: Protocol) -> Calculator:
    specs = [spec for spec in specs_in(protocol.il2) if "weight" not in spec.key]
    fields: dict[str, Any] = {
        "infusion_end": (
            dt.datetime,
            Field(..., title="Cell infusion ended", description="with its UTC offset"),
        ),
        "doses_given": (
            list[dt.datetime],
            Field(default_factory=list, title="IL-2 doses given", description="one a line"),
        ),
        **_AT,
    }

    def run(data: Any) -> Outcome:
        result = next_il2_dose(
            protocol.il2,
            _settings(protocol.il2, specs, data),
            infusion_end=data.infusion_end,
            doses_given=data.doses_given,
            now=_now(data),
        )
        return Outcome(result.reason, result, _STATUS_TONE[result.status])

    return _calculator(
        protocol,
        "il2-schedule",
        "IL-2 schedule",
        "Whether the next IL-2 dose may be given now, and from when until when; doses recorded "
        "beyond the protocol's maximum are flagged.",
        _schema(
            _name(protocol, "il2_schedule"),
            fields,
            specs,
            frozenset(narrowing_specs(protocol.il2)),
        ),
        run,
        example={
            "infusion_end": "2026-03-03T14:00:00-05:00",
            "doses_given": ["2026-03-03T20:00:00-05:00"],
            "at": "2026-03-04T05:00:00-05:00",
        },
    )


def _calculator(
    protocol: Protocol,
    kind: str,
    title: str,
    purpose: str,
    schema: type[Schema],
    run: Any,
    *,
    example: dict[str, Any],
) -> Calculator:
    """A calculator of one protocol, listed under the protocol's name."""
    return Calculator(
        slug=_slug(kind, protocol),
        title=f"{title} — {protocol.title}",
        subgroup=protocol.title,
        list_title=title,
        group=GROUP,
        purpose=purpose,
        input_schema=schema,
        run=run,
        example=example,
    )


def _slug(kind: str, protocol: Protocol) -> str:
    return f"{kind}-{protocol.protocol_id}-{protocol.version}".replace("_", "-")


for _ref in available_protocols():
    _protocol = load_protocol(_ref.protocol_id, _ref.version)
    for _build in (_lymphodepletion, _il2, _cell_dose, _infusion_window, _il2_schedule):
        register(_build(_protocol))
