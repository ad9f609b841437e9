"""Orders: a physician orders lymphodepletion or IL-2 for a course; a pharmacist verifies it.

The doses are never typed. The clinical core computes them from the center's signed settings in
force for the course's protocol and the patient's latest height and weight (and, for
lymphodepletion, a serum creatinine with the date it was drawn, entered with the order until
laboratory results are recorded on the patient). The order keeps those inputs and the whole
calculation as they were, and its dose rows never change: a change of input is a new order that
replaces the old one (`reorder`), to be verified again. The pharmacist's verification is a Part 11
signature over the inputs, the calculation and the doses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.models import Signature
from tilcare.audit.services import record_written, sign_record
from tilcare.clinical.dosing.filgrastim import filgrastim_dose
from tilcare.clinical.dosing.il2 import il2_dose
from tilcare.clinical.dosing.lymphodepletion import lymphodepletion_doses
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.clinical.dosing.settings import CenterSettingError
from tilcare.clinical.renal import SCR_MAX_MG_PER_DL, SCR_MIN_MG_PER_DL
from tilcare.clinical.serialize import to_jsonable
from tilcare.clinical.units import Unit, cm, kg, mg_per_dl, years
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.policy import require
from tilcare.core.timeutil import local_today
from tilcare.core.validation import Errors, check_date, check_decimal_range, clean_text
from tilcare.monitoring.services.baselines import set_course_baseline
from tilcare.patients.models import BodyMeasurement, Patient
from tilcare.protocols.loader import load_protocol
from tilcare.treatment import policies
from tilcare.treatment.choices import REASON_MAX, VERIFY_MEANING, OrderKind, OrderStatus
from tilcare.treatment.models import Order, OrderDose, ProtocolActivation
from tilcare.treatment.selectors import (
    active_activation,
    center_settings_of,
    newer_inputs,
    open_order,
)

NOT_PRESCRIBER = "Only a treating physician of this center writes treatment orders."
NOT_VERIFIER = (
    "Only a pharmacist of this center verifies an order, once, while it awaits verification."
)


@dataclass(frozen=True)
class Course:
    """Whose treatment an order is for, as the journey names it: the patient, the product's
    chain-of-identity number and manufacturing attempt, and the protocol it follows."""

    center: Organization
    patient: Patient
    coi_din: str
    coi_check: str
    manufacture_attempt: int
    protocol: ProtocolRef


@dataclass(frozen=True)
class Computed:
    """What the clinical core returned, ready to store: inputs, the whole result, dose rows."""

    inputs: dict[str, Any]
    calculation: dict[str, Any]
    doses: list[dict[str, Any]]


def in_force(course: Course) -> ProtocolActivation:
    activation = active_activation(course.center, course.protocol)
    if activation is None:
        title = load_protocol(course.protocol.protocol_id, course.protocol.version).title
        raise Conflict(
            {
                "__all__": [
                    f"{title}: the center's protocol settings are not in force yet. A pharmacist "
                    "and a treating physician of the center enter and sign them on the Protocols "
                    "page; no dose is calculated before."
                ]
            }
        )
    return activation


def latest_measurement(patient: Patient) -> BodyMeasurement:
    measurement = patient.measurements.order_by("-measured_on", "-id").first()
    if measurement is None:
        raise Conflict(
            {
                "__all__": [
                    "Record the patient's height and weight before ordering: the doses are "
                    "calculated from them."
                ]
            }
        )
    return measurement


def subject_of_order(order: Order) -> str:
    """Whose record the order's audit events belong to, as every event of a patient's record
    names it."""
    return str(order.patient.public_id)


def require_prescriber(course: Course, actor: User) -> None:
    # The course is built by the caller: a patient of another center is not this center's to
    # order for, whoever asks.
    require(
        policies.can_write_order(actor, course.center)
        and course.patient.center_id == course.center.pk,
        NOT_PRESCRIBER,
    )


def _age_years(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def run_clinical(run: Callable[[], Any]) -> Any:
    """Run the clinical core; its refusal (a setting it cannot use, a value it cannot dose on)
    is the order's refusal, in the core's own words."""
    try:
        return run()
    except (CenterSettingError, ValueError) as error:
        raise InvalidInput({"__all__": [str(error)]}) from None


def body_inputs(course: Course, measurement: BodyMeasurement, today: dt.date) -> dict[str, Any]:
    return {
        "weight_kg": str(measurement.weight_kg),
        "height_cm": str(measurement.height_cm),
        "measured_on": measurement.measured_on.isoformat(),
        "measurement": str(measurement.public_id),
        "sex": course.patient.sex,
        "age_years": _age_years(course.patient.date_of_birth, today),
        "ordered_on": today.isoformat(),
    }


def _lymphodepletion(
    course: Course,
    activation: ProtocolActivation,
    measurement: BodyMeasurement,
    creatinine: Decimal,
    drawn_on: dt.date,
    today: dt.date,
) -> Computed:
    protocol = load_protocol(activation.protocol_id, activation.protocol_version)
    inputs = body_inputs(course, measurement, today)
    inputs |= {
        "serum_creatinine_mg_per_dl": str(creatinine),
        "creatinine_drawn_on": drawn_on.isoformat(),
    }
    plan = run_clinical(
        lambda: lymphodepletion_doses(
            protocol.lymphodepletion,
            center_settings_of(activation),
            weight=kg(measurement.weight_kg),
            height=cm(measurement.height_cm),
            sex=course.patient.sex,
            age=years(Decimal(inputs["age_years"])),
            serum_creatinine=mg_per_dl(creatinine),
        )
    )
    # The derived sizes the doses rest on, beside the measured ones (DESIGN.md section 7: an order
    # snapshots weight, height, BSA and CrCl); the whole working stays in `calculation`.
    for agent in plan.agents:
        if agent.bsa is not None:
            inputs["bsa_m2_used"] = str(agent.bsa.bsa_used.magnitude)
        if agent.renal is not None:
            inputs["crcl_ml_per_min"] = str(agent.renal.crcl.crcl.magnitude)
    doses = [
        {
            "sequence": i,
            "day": line.day,
            "agent": line.agent,
            "route": line.route,
            "dose": line.dose.require(Unit.mg, f"the {line.agent} dose"),
            "dose_unit": Unit.mg.value,
        }
        for i, line in enumerate(plan.lines, start=1)
    ]
    return Computed(inputs, to_jsonable(plan), doses)


def _il2(
    course: Course, activation: ProtocolActivation, measurement: BodyMeasurement, today: dt.date
) -> Computed:
    protocol = load_protocol(activation.protocol_id, activation.protocol_version)
    result = run_clinical(
        lambda: il2_dose(
            protocol.il2,
            center_settings_of(activation),
            weight=kg(measurement.weight_kg),
            height=cm(measurement.height_cm),
            sex=course.patient.sex,
        )
    )
    dose_iu = result.dose.require(Unit.iu, "the IL-2 dose")
    doses = [
        {
            "sequence": n,
            "day": None,
            "agent": "aldesleukin",
            "route": "IV",
            "dose": dose_iu,
            "dose_unit": Unit.iu.value,
        }
        for n in range(1, result.max_doses + 1)
    ]
    return Computed(body_inputs(course, measurement, today), to_jsonable(result), doses)


def compute_filgrastim(
    course: Course,
    activation: ProtocolActivation,
    measurement: BodyMeasurement,
    today: dt.date,
    *,
    first_day: int,
    days: int,
) -> Computed:
    """Filgrastim daily from `first_day` (never before the protocol's start day) for `days`
    days, each dose computed on the actual weight and the center's dose per kg. A dose's
    sequence is its study day, so an order written again carries on from the days recorded."""
    protocol = load_protocol(activation.protocol_id, activation.protocol_version)
    result = run_clinical(
        lambda: filgrastim_dose(
            protocol.filgrastim, center_settings_of(activation), kg(measurement.weight_kg)
        )
    )
    assert protocol.filgrastim is not None  # filgrastim_dose refused otherwise
    start = max(first_day, protocol.filgrastim.start_day)
    step = protocol.filgrastim.interval_days
    dose_ug = result.dose.require(Unit.ug, "the filgrastim dose")
    doses = [
        {
            "sequence": day,
            "day": day,
            "agent": "filgrastim",
            "route": "SC",
            "dose": dose_ug,
            "dose_unit": Unit.ug.value,
        }
        for day in range(start, start + days * step, step)
    ]
    inputs = body_inputs(course, measurement, today) | {"days_ordered": days}
    return Computed(inputs, to_jsonable(result), doses)


def _check_creatinine(
    course: Course, value: object, drawn_on: dt.date | None, today: dt.date
) -> tuple[Decimal, dt.date]:
    errors: Errors = {}
    creatinine = check_decimal_range(
        errors,
        "serum_creatinine_mg_per_dl",
        "Serum creatinine",
        value,
        SCR_MIN_MG_PER_DL,
        SCR_MAX_MG_PER_DL,
        "mg/dL",
        places=2,
    )
    if drawn_on is None:
        errors.setdefault("creatinine_drawn_on", []).append(
            "Give the date the creatinine was drawn."
        )
    checked_on = check_date(
        errors,
        "creatinine_drawn_on",
        "The creatinine's date",
        drawn_on,
        today=today,
        not_before=course.patient.date_of_birth,
        not_before_label="the date of birth",
    )
    if errors or creatinine is None or checked_on is None:
        raise InvalidInput(errors)
    return creatinine, checked_on


def write_order(
    course: Course,
    kind: OrderKind,
    activation: ProtocolActivation,
    measurement: BodyMeasurement,
    computed: Computed,
    *,
    creatinine: tuple[Decimal, dt.date] | None,
    actor: User,
    reason: str = "",
) -> Order:
    recorded = recorded_sequences(course, kind)
    if all(dose["sequence"] in recorded for dose in computed.doses):
        raise Conflict({"__all__": ["Every dose of this course is already recorded."]})
    order = Order.objects.create(
        center=course.center,
        patient=course.patient,
        coi_din=course.coi_din,
        coi_check=course.coi_check,
        manufacture_attempt=course.manufacture_attempt,
        kind=kind,
        activation=activation,
        measurement=measurement,
        serum_creatinine_mg_per_dl=creatinine[0] if creatinine else None,
        creatinine_drawn_on=creatinine[1] if creatinine else None,
        inputs=computed.inputs,
        calculation=computed.calculation,
        ordered_by=actor,
    )
    for dose in computed.doses:
        if dose["sequence"] not in recorded:
            OrderDose.objects.create(order=order, **dose)
    record_written(
        Action.ORDER_WRITE, order, actor=actor, reason=reason, subject_id=subject_of_order(order)
    )
    return order


def recorded_sequences(course: Course, kind: OrderKind) -> set[int]:
    """Doses of the course already given, held or not given on its earlier orders of this kind:
    an order written again carries only the doses still to come (the protocol's days and its
    maximum IL-2 doses are counted over the course, not per order)."""
    return set(
        OrderDose.objects.filter(
            order__coi_din=course.coi_din,
            order__manufacture_attempt=course.manufacture_attempt,
            order__kind=kind,
            administration__isnull=False,
        ).values_list("sequence", flat=True)
    )


def _check_not_stopped(course: Course) -> None:
    stopped = Order.objects.filter(
        coi_din=course.coi_din,
        manufacture_attempt=course.manufacture_attempt,
        kind=OrderKind.IL2,
        status=OrderStatus.STOPPED,
    ).exists()
    if stopped:
        raise Conflict(
            {"__all__": ["IL-2 was stopped for this course: no IL-2 order is written again."]}
        )


def lock_course(course: Course) -> None:
    """Serialise the writes of one patient's orders: two physicians ordering the same course at
    once would both find no open order, and the second insert would fail on the database's
    one-open-order constraint instead of being told the first exists."""
    Patient.objects.select_for_update().filter(pk=course.patient.pk).first()


def check_no_open_order(course: Course, kind: OrderKind) -> None:
    existing = open_order(course.coi_din, course.manufacture_attempt, kind)
    if existing is not None:
        raise Conflict(
            {
                "__all__": [
                    f"This course already has an open {existing.get_kind_display()} order "
                    f"({existing.get_status_display().lower()}). Order again from that order "
                    "to replace it, or cancel it first."
                ]
            }
        )


def order_lymphodepletion(
    course: Course,
    *,
    serum_creatinine_mg_per_dl: object,
    creatinine_drawn_on: dt.date | None,
    actor: User,
) -> Order:
    """Order lymphodepletion for the course, computed from the settings in force, the latest
    height and weight, and this creatinine; it then awaits a pharmacist's verification."""
    require_prescriber(course, actor)
    today = local_today(course.center.time_zone)
    creatinine = _check_creatinine(course, serum_creatinine_mg_per_dl, creatinine_drawn_on, today)
    with transaction.atomic():
        lock_course(course)
        check_no_open_order(course, OrderKind.LYMPHODEPLETION)
        activation = in_force(course)
        measurement = latest_measurement(course.patient)
        computed = _lymphodepletion(course, activation, measurement, *creatinine, today)
        return write_order(
            course,
            OrderKind.LYMPHODEPLETION,
            activation,
            measurement,
            computed,
            creatinine=creatinine,
            actor=actor,
        )


def order_il2(course: Course, *, actor: User) -> Order:
    """Order the course's IL-2 doses (the protocol's maximum), each computed from the latest
    weight on the settings in force; it then awaits a pharmacist's verification."""
    require_prescriber(course, actor)
    today = local_today(course.center.time_zone)
    with transaction.atomic():
        lock_course(course)
        check_no_open_order(course, OrderKind.IL2)
        _check_not_stopped(course)
        activation = in_force(course)
        measurement = latest_measurement(course.patient)
        computed = _il2(course, activation, measurement, today)
        return write_order(
            course, OrderKind.IL2, activation, measurement, computed, creatinine=None, actor=actor
        )


def _locked(order: Order) -> Order:
    return (
        Order.objects.select_for_update()
        .select_related("center", "patient", "activation")
        .get(pk=order.pk)
    )


def verify_order(order: Order, *, actor: User, password: str) -> Signature:
    """The pharmacist verifies the order with an e-signature over its inputs and doses, while
    they are still the patient's latest."""
    with transaction.atomic():
        order = _locked(order)
        require(policies.can_verify_order(actor, order), NOT_VERIFIER)
        # Doses computed from a weight that is no longer the latest are not signed: the order is
        # written again from the new one first.
        stale = newer_inputs(order)
        if stale is not None:
            raise Conflict({"__all__": [stale]})
        signature = sign_record(
            order,
            actor=actor,
            password=password,
            meaning=VERIFY_MEANING,
            subject_id=subject_of_order(order),
        )
        before = snapshot(order)
        order.verification_signature = signature
        order.status = OrderStatus.VERIFIED
        order.save(update_fields=["verification_signature", "status", "updated_at"])
        record_written(
            Action.ORDER_VERIFY,
            order,
            actor=actor,
            before=before,
            subject_id=subject_of_order(order),
        )
        if order.kind == OrderKind.LYMPHODEPLETION:
            # What the course's monitoring compares against (weight gain, creatinine).
            set_course_baseline(
                center=order.center,
                patient=order.patient,
                coi_din=order.coi_din,
                manufacture_attempt=order.manufacture_attempt,
                measurement=order.measurement,
                serum_creatinine_mg_per_dl=order.serum_creatinine_mg_per_dl,
                creatinine_drawn_on=order.creatinine_drawn_on,
                source=f"Lymphodepletion order {order.public_id}, verified",
                actor=actor,
            )
        return signature


def _cancel(order: Order, reason: str, *, actor: User) -> None:
    before = snapshot(order)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = timezone.now()
    order.cancel_reason = reason
    order.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    record_written(
        Action.ORDER_CANCEL,
        order,
        actor=actor,
        before=before,
        reason=reason,
        subject_id=subject_of_order(order),
    )


def _reason(value: object, required: str) -> str:
    return clean_text("reason", value, max_length=REASON_MAX, required=required)


def cancel_order(order: Order, *, reason: object, actor: User) -> Order:
    """Cancel an open order, with the reason (the doses not given stay on record)."""
    with transaction.atomic():
        order = _locked(order)
        require(
            policies.can_cancel_order(actor, order),
            "Only a treating physician of this center cancels an open order.",
        )
        _cancel(order, _reason(reason, "Say why the order is cancelled (required)."), actor=actor)
        return order


def reorder(
    order: Order,
    *,
    actor: User,
    reason: object,
    serum_creatinine_mg_per_dl: object = None,
    creatinine_drawn_on: dt.date | None = None,
) -> Order:
    """Replace an open order by a new one computed from the latest height and weight (and, for
    lymphodepletion, this creatinine, or the order's own when none is given). The old order is
    cancelled with the reason, the new one awaits verification: one transaction."""
    with transaction.atomic():
        order = _locked(order)
        require(
            policies.can_cancel_order(actor, order)
            and policies.can_write_order(actor, order.center),
            NOT_PRESCRIBER,
        )
        text = _reason(reason, "Say why the order is written again (required).")
        course = Course(
            center=order.center,
            patient=order.patient,
            coi_din=order.coi_din,
            coi_check=order.coi_check,
            manufacture_attempt=order.manufacture_attempt,
            protocol=ProtocolRef(order.activation.protocol_id, order.activation.protocol_version),
        )
        lock_course(course)
        today = local_today(course.center.time_zone)
        creatinine = None
        if order.kind == OrderKind.LYMPHODEPLETION:
            # A new value or a new date is a new creatinine, checked whole (a date alone does
            # not re-date the old value).
            given = serum_creatinine_mg_per_dl not in (None, "") or creatinine_drawn_on is not None
            creatinine = _check_creatinine(
                course,
                serum_creatinine_mg_per_dl if given else order.serum_creatinine_mg_per_dl,
                creatinine_drawn_on if given else order.creatinine_drawn_on,
                today,
            )
        _cancel(order, f"Replaced: {text}", actor=actor)
        activation = in_force(course)
        measurement = latest_measurement(course.patient)
        if creatinine is not None:
            computed = _lymphodepletion(course, activation, measurement, *creatinine, today)
        elif order.kind == OrderKind.FILGRASTIM:
            left = [d.sequence for d in order.doses.filter(administration__isnull=True)]
            # Every day recorded leaves no dose: write_order refuses it in words.
            computed = compute_filgrastim(
                course,
                activation,
                measurement,
                today,
                first_day=min(left, default=1),
                days=len(left),
            )
        else:
            computed = _il2(course, activation, measurement, today)
        return write_order(
            course,
            OrderKind(order.kind),
            activation,
            measurement,
            computed,
            creatinine=creatinine,
            actor=actor,
            reason=text,
        )
