"""What the order page shows, read from the order as it was written: the doses with what happened
to each, the inputs with their dates, the settings version and its signers, and the working the
clinical core stored (`Order.calculation`), agent by agent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import dateformat

from tilcare.accounts.models import Organization
from tilcare.treatment import selectors
from tilcare.treatment.choices import ActivationStatus, AdministrationOutcome, OrderKind
from tilcare.treatment.models import Order, ProtocolActivation
from tilcare.treatment.views.common import sentence, when

DAY = "j M Y"
IU_PER_MIU = Decimal(1_000_000)
OUTCOME_BADGES = {
    AdministrationOutcome.GIVEN: "badge-success",
    AdministrationOutcome.HELD: "badge-warning",
    AdministrationOutcome.NOT_GIVEN: "badge-danger",
}


def number(value: object) -> str:
    """A stored decimal as a clinician reads it: no trailing zeros, thousands separated."""
    amount = Decimal(str(value)).normalize()
    return f"{amount:,f}"


def miu(dose_iu: object) -> str:
    return f"{number(Decimal(str(dose_iu)) / IU_PER_MIU)} MIU"


def _day(iso: object) -> str:
    if not iso:
        return ""
    return dateformat.format(dt.date.fromisoformat(str(iso)), DAY)


def dose_rows(order: Order, center: Organization) -> list[dict[str, Any]]:
    """Each dose in order: its day ("Day −7", or "Dose 2" for IL-2), agent, route, amount (IL-2
    also in MIU), and what happened to it, when and by whom."""
    rows = []
    for line in selectors.dose_calendar(order, None):
        dose, done = line.dose, line.administration
        rows.append(
            {
                "dose": dose,
                "label": line.day_label,
                "agent": dose.agent,
                "route": dose.route,
                "amount": f"{number(dose.dose)} {dose.dose_unit}",
                "miu": miu(dose.dose) if dose.dose_unit == "IU" else "",
                "outcome": done.get_outcome_display() if done else "",
                "badge": OUTCOME_BADGES[AdministrationOutcome(done.outcome)] if done else "",
                "at": when(done.at, center) if done else "",
                "by": done.recorded_by.printed_name if done else "",
                "reason": done.reason if done else "",
            }
        )
    return rows


def input_rows(order: Order) -> list[tuple[str, str, str]]:
    """What the doses were computed from: (what, value, its date or origin)."""
    given = order.inputs
    measured = f"measured {_day(given.get('measured_on'))}"
    rows = [
        ("Weight", f"{given.get('weight_kg')} kg", measured),
        ("Height", f"{given.get('height_cm')} cm", measured),
    ]
    if given.get("bsa_m2_used"):
        rows.append(("Body-surface area used", f"{given['bsa_m2_used']} m²", "calculated"))
    if given.get("serum_creatinine_mg_per_dl"):
        rows.append(
            (
                "Serum creatinine",
                f"{given['serum_creatinine_mg_per_dl']} mg/dL",
                f"drawn {_day(given.get('creatinine_drawn_on'))}",
            )
        )
    if given.get("days_ordered"):
        rows.append(("Days ordered", f"{given['days_ordered']} daily doses", "by the physician"))
    if given.get("crcl_ml_per_min"):
        rows.append(
            ("Creatinine clearance", f"{given['crcl_ml_per_min']} mL/min", "Cockcroft–Gault")
        )
    rows += [
        ("Age", f"{given.get('age_years')} years", f"on {_day(given.get('ordered_on'))}"),
        ("Sex", sentence(str(given.get("sex", ""))), "as recorded"),
    ]
    return rows


def settings_line(activation: ProtocolActivation) -> str:
    pharmacist, physician = activation.pharmacist_signature, activation.physician_signature
    line = f"Center settings version {activation.number}"
    if pharmacist is not None and physician is not None:
        line += (
            f", signed by {pharmacist.printed_name} (pharmacist) and {physician.printed_name} "
            "(treating physician)"
        )
    if activation.status != ActivationStatus.ACTIVE:
        line += f" (now {activation.get_status_display().lower()})"
    return line


def _weight_step(weight: dict[str, Any] | None, what: str) -> dict[str, str] | None:
    if not weight:
        return None
    value = (weight.get("weight") or {}).get("value")
    return {
        "title": what,
        "text": f"{weight.get('formula', '')}: {value} kg",
        "source": weight.get("source", ""),
    }


def _bsa_step(bsa: dict[str, Any] | None) -> dict[str, str] | None:
    if not bsa:
        return None
    inner = bsa.get("bsa") or {}
    used = (bsa.get("bsa_used") or {}).get("value")
    text = f"{inner.get('formula_text', '')} = {(inner.get('bsa') or {}).get('value')} m²"
    if bsa.get("capped"):
        text += f", capped at {(bsa.get('cap') or {}).get('value')} m²"
    text += f"; used {used} m² ({inner.get('rounding', '')})"
    return {"title": "Body-surface area", "text": text, "source": bsa.get("source", "")}


def _renal_step(renal: dict[str, Any] | None) -> dict[str, str] | None:
    if not renal:
        return None
    crcl = renal.get("crcl") or {}
    value = (crcl.get("crcl") or {}).get("value")
    return {
        "title": "Creatinine clearance and renal band",
        "text": f"{crcl.get('formula', '')} = {value} mL/min. {renal.get('rule', '')}",
        "source": renal.get("source", ""),
    }


def _agent(result: dict[str, Any], name: str, dose_text: str) -> dict[str, Any]:
    steps = [
        _weight_step(result.get("weight"), "Dosing weight"),
        _bsa_step(result.get("bsa")),
        _renal_step(result.get("renal")),
    ]
    renal = result.get("renal") or {}
    steps.append(_weight_step(renal.get("crcl_weight"), "Weight in the creatinine clearance"))
    return {
        "agent": name,
        "dose": dose_text,
        "formula": result.get("formula", ""),
        "working": result.get("working", ""),
        "rounding": result.get("rounding", ""),
        "source": result.get("source", ""),
        "steps": [step for step in steps if step],
    }


def calculation_steps(order: Order) -> dict[str, Any]:
    """Per agent: formula, working, rounding and source, with the body-size and renal steps
    under it; and the notes that go with the regimen (mesna, how study days are numbered)."""
    calc = order.calculation
    notes = []
    if order.kind == OrderKind.FILGRASTIM:
        dose = calc.get("dose") or {}
        text = f"{number(dose.get('value', 0))} µg daily"
        # The weight is the actual weight as measured (a quantity, not a dosing-weight working).
        agent = _agent(
            {k: v for k, v in calc.items() if k != "weight"},
            sentence(str(calc.get("agent", "filgrastim"))),
            text,
        )
        weight = (calc.get("weight") or {}).get("value")
        if weight:
            agent["steps"].insert(
                0, {"title": "Dosing weight", "text": f"Actual weight: {weight} kg", "source": ""}
            )
        agents = [agent]
        if calc.get("stop_rule"):
            notes.append(
                f"From Day +{calc.get('start_day', 1)}, daily until the {calc['stop_rule']}"
                + (
                    f", {calc['institutional_alternative']}"
                    if calc.get("institutional_alternative")
                    else ""
                )
                + "."
            )
        return {"agents": agents, "notes": notes}
    if order.kind == OrderKind.IL2:
        dose = calc.get("dose") or {}
        text = f"{number(dose.get('value', 0))} IU ({miu(dose.get('value', 0))}) per dose"
        agents = [_agent(calc, "Aldesleukin (IL-2)", text)]
        if calc.get("max_doses"):
            notes.append(f"Up to {calc['max_doses']} doses, as the protocol allows.")
        return {"agents": agents, "notes": notes}
    agents = [
        _agent(
            result,
            sentence(str(result.get("agent", ""))),
            f"{number((result.get('dose') or {}).get('value', 0))} mg per day",
        )
        for result in calc.get("agents", [])
    ]
    mesna = calc.get("mesna") or {}
    if mesna.get("note"):
        notes.append(f"{mesna['note']} Source: {mesna.get('source', '')}")
    lines = calc.get("lines") or []
    if lines and not lines[0].get("day_numbering_confirmed", True):
        notes.append(f"Study days: {lines[0].get('day_numbering_source', '')}")
    return {"agents": agents, "notes": notes}
