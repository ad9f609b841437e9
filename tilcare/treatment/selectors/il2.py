"""Reads of IL-2 dose by dose: the protocol's hold and stop rule sets, the next dose's place and
its "allowed from … until …", and the decisions taken."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tilcare.clinical.dosing.schedule import Il2ScheduleStatus, next_il2_dose
from tilcare.clinical.rule_evaluation import shared_catalogue
from tilcare.clinical.rules import ObservationSpec, RuleSet
from tilcare.protocols.rulesets import load_rule_set
from tilcare.treatment.choices import AdministrationOutcome, OrderKind
from tilcare.treatment.models import Il2Decision, Infusion, Order, OrderDose
from tilcare.treatment.selectors.activation import center_settings_of, protocol_of

# Doses whose time counts for the next dose's window: given, or held at their time (a held dose
# is not made up; the next is assessed one interval later). A dose not given at all (IL-2
# stopped, or never given for another reason) has no time on the schedule.
SCHEDULED_OUTCOMES = (AdministrationOutcome.GIVEN, AdministrationOutcome.HELD)


def rule_sets_of(order: Order) -> tuple[RuleSet, ...]:
    """The hold and stop rule sets of the protocol the order was computed on."""
    return tuple(load_rule_set(r) for r in protocol_of(order.activation).il2_rule_sets)


def observation_catalogue(order: Order) -> dict[str, ObservationSpec]:
    """Every observation the order's rule sets read, once, in the files' order."""
    return shared_catalogue(rule_sets_of(order))


def infusion_of_order(order: Order) -> Infusion | None:
    return Infusion.objects.filter(
        coi_din=order.coi_din, manufacture_attempt=order.manufacture_attempt
    ).first()


def next_slot(order: Order) -> OrderDose | None:
    """The IL-2 dose to assess next: the first of the order's doses not yet given, held or not
    given (None when every dose is recorded)."""
    return (
        order.doses.filter(administration__isnull=True)
        .select_related("il2_decision")
        .order_by("sequence")
        .first()
    )


@dataclass(frozen=True)
class Il2Standing:
    """Where an IL-2 order stands: the doses given, held and not given, the next dose and its
    window (None before the infusion's end is recorded, or when no dose is left)."""

    order: Order
    given: int
    held: int
    not_given: int
    next_dose: OrderDose | None
    schedule: Il2ScheduleStatus | None
    infusion_end: dt.datetime | None


def il2_standing(order: Order, now: dt.datetime) -> Il2Standing:
    doses = list(order.doses.select_related("administration").order_by("sequence"))
    outcomes = [getattr(d, "administration", None) for d in doses]
    counted = {
        outcome: sum(1 for a in outcomes if a is not None and a.outcome == outcome)
        for outcome in AdministrationOutcome.values
    }
    infusion = infusion_of_order(order)
    end = infusion.ended_at if infusion is not None else None
    slot = next(
        (d for d, a in zip(doses, outcomes, strict=True) if a is None),
        None,
    )
    schedule = None
    if end is not None and order.kind == OrderKind.IL2:
        schedule = il2_schedule(order, end, now)
    return Il2Standing(
        order=order,
        given=counted[AdministrationOutcome.GIVEN],
        held=counted[AdministrationOutcome.HELD],
        not_given=counted[AdministrationOutcome.NOT_GIVEN],
        next_dose=slot,
        schedule=schedule,
        infusion_end=end,
    )


def il2_schedule(order: Order, infusion_end: dt.datetime, now: dt.datetime) -> Il2ScheduleStatus:
    """The protocol's schedule for the next dose on the order's settings, counted in UTC from the
    infusion's end and the doses given or held before `now`."""
    times = sorted(
        a.at
        for a in (
            getattr(d, "administration", None) for d in order.doses.select_related("administration")
        )
        if a is not None and a.outcome in SCHEDULED_OUTCOMES and a.at <= now
    )
    return next_il2_dose(
        protocol_of(order.activation).il2,
        center_settings_of(order.activation),
        infusion_end=infusion_end.astimezone(dt.UTC),
        doses_given=[t.astimezone(dt.UTC) for t in times],
        now=now.astimezone(dt.UTC),
    )


def decisions_of(order: Order) -> list[Il2Decision]:
    return list(
        Il2Decision.objects.filter(order=order)
        .select_related("dose", "nurse", "physician")
        .order_by("dose__sequence")
    )


def decisions_awaiting_physician(center: object) -> list[Il2Decision]:
    """The physicians' queue: assessed doses awaiting their decision, oldest first."""
    return list(
        Il2Decision.objects.filter(order__center=center, status="awaiting_physician")
        .select_related("order__patient", "dose", "nurse")
        .order_by("assessed_at")
    )
