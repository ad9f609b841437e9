"""The infusion day at the bedside, on the course's record.

A nurse or physician opens the course's infusion checklist on the settings version in force. On
it: the premedication given, each bag's thaw time, and the identity check, in which each of two
different people scans the patient's wristband and every bag of this manufacturing attempt. The
scans are custody scans: the chain-of-identity scan engine (`identity.services.custody`) judges
each one (this patient, this attempt, released, not expired) and raises the alert when one does
not match; nothing about a wrong scan is discarded.

The infusion starts only when the check of both people is complete, every bag is still released
and in date, the time is inside the protocol's window after the last fludarabine dose, every
thawed bag is within the center's thaw-to-infusion limit and the premedication the protocol asks
for was given. A start refused for the product or the time (release, expiry, window, thaw) raises
an identity alert that stays when the refusal is answered; a start refused for a step not yet
done (a scan, a premedication) only says what is missing. The end records the bags and the
viable cells infused, checked against the protocol's dose range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_change, record_written
from tilcare.clinical.dosing.cell_dose import check_cell_dose
from tilcare.clinical.dosing.schedule import InfusionWindowStatus, ScheduleStatus
from tilcare.clinical.dosing.settings import CenterSettingError
from tilcare.clinical.dosing.thaw import ThawStatus, thaw_check
from tilcare.clinical.serialize import to_jsonable
from tilcare.clinical.units import Quantity, Unit
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime, nurse_time
from tilcare.core.validation import (
    TYPED,
    Errors,
    check_decimal_range,
    check_moment,
    check_text,
)
from tilcare.identity.choices import AlertKind, AlertSeverity
from tilcare.identity.models import Item
from tilcare.identity.services.alerts import raise_alert
from tilcare.treatment import policies
from tilcare.treatment.choices import NOTE_MAX, OrderKind
from tilcare.treatment.models import Infusion, Order
from tilcare.treatment.selectors import (
    active_activation,
    bags_of,
    center_settings_of,
    course_order,
    identity_check_missing,
    infusion_of_course,
    infusion_window_at,
    last_fludarabine_given,
    premedication_status,
    protocol_of,
)
from tilcare.treatment.services.orders import Course, lock_course

NOT_INFUSER = "Only a nurse or a treating physician of this center records the infusion day."
VIABLE_CELLS_MAX_E9 = Decimal(1000)
SAME_PERSON_TWICE = (
    "You have completed your identity check: the second check must be made by another person, "
    "who scans the wristband and every bag again. An alert has been raised."
)

T = TypeVar("T")


def subject_of_infusion(infusion: Infusion) -> str:
    return str(infusion.patient.public_id)


def locked_infusion(infusion: Infusion) -> Infusion:
    return (
        Infusion.objects.select_for_update(of=("self",))
        .select_related("center", "patient", "activation")
        .get(pk=infusion.pk)
    )


def require_infuser(infusion: Infusion, actor: User) -> None:
    require(policies.can_record_infusion(actor, infusion.center), NOT_INFUSER)


def require_not_started(infusion: Infusion) -> None:
    if infusion.started_at is not None:
        when = local_datetime(infusion.started_at, infusion.center.time_zone)
        raise Conflict(
            {"__all__": [f"The infusion started at {when:%d %b %H:%M}: this is done before it."]}
        )


def refuse_with_alert(
    infusion: Infusion,
    *,
    actor: User,
    kind: AlertKind,
    severity: AlertSeverity,
    problems: list[str],
    alert: str,
    at: dt.datetime,
) -> Conflict:
    """Raise the identity alert for a refused step in its own transaction (it must stay when the
    refusal is answered) and return the refusal to raise."""
    with transaction.atomic():
        raise_alert(
            coi_din=infusion.coi_din,
            kind=kind,
            severity=severity,
            message=alert,
            center=infusion.center,
            facility=facility_of(infusion),
            actor=actor,
            at=at,
        )
    return Conflict({"__all__": problems})


def open_infusion(course: Course, *, actor: User) -> Infusion:
    """Open the course's infusion checklist on the settings version in force (once per course:
    opening it again returns the one already open)."""
    require(policies.can_record_infusion(actor, course.center), NOT_INFUSER)
    with transaction.atomic():
        # Two people opening the checklist at once: the second waits, then finds the first's.
        lock_course(course)
        existing = infusion_of_course(course.coi_din, course.manufacture_attempt)
        if existing is not None:
            return existing
        activation = active_activation(course.center, course.protocol)
        if activation is None:
            raise Conflict(
                {
                    "__all__": [
                        "The center has not activated this patient's protocol: a pharmacist and "
                        "a treating physician sign its settings on the Protocols page first."
                    ]
                }
            )
        infusion = Infusion.objects.create(
            center=course.center,
            patient=course.patient,
            coi_din=course.coi_din,
            coi_check=course.coi_check,
            manufacture_attempt=course.manufacture_attempt,
            activation=activation,
            opened_by=actor,
        )
        record_written(
            Action.INFUSION_OPEN, infusion, actor=actor, subject_id=subject_of_infusion(infusion)
        )
        return infusion


def facility_of(infusion: Infusion) -> Any:
    item = (
        Item.objects.filter(coi_din=infusion.coi_din, facility__isnull=False)
        .select_related("facility")
        .first()
    )
    return item.facility if item else None


# Start and end ---------------------------------------------------------------------------------


def _lymphodepletion_order(infusion: Infusion) -> Order | None:
    return course_order(infusion.coi_din, infusion.manufacture_attempt, OrderKind.LYMPHODEPLETION)


def _clinical(run: Callable[[], T], field: str = "__all__") -> T:
    try:
        return run()
    except CenterSettingError as error:
        raise InvalidInput({field: [str(error)]}) from error


def product_problems(infusion: Infusion, at: dt.datetime) -> list[str]:
    """Why the product may not be given at `at`: a bag not released or expired, the time outside
    the infusion window, a thawed bag past the center's limit (empty: none)."""
    problems: list[str] = []
    zone = infusion.center.time_zone
    for bag in bags_of(infusion):
        if bag.released_at is None or bag.released_at > at:
            problems.append(f"{bag.item_id} is not released by the facility's QA.")
        elif bag.expires_at is None:
            problems.append(f"{bag.item_id} has no expiry recorded.")
        elif bag.expires_at <= at:
            expired = local_datetime(bag.expires_at, zone)
            problems.append(f"{bag.item_id} expired at {expired:%d %b %Y %H:%M}.")
    order = _lymphodepletion_order(infusion)
    last = last_fludarabine_given(order) if order is not None else None
    if last is None:
        problems.append(
            "The last fludarabine dose is not recorded as given: the infusion window is counted "
            "from it."
        )
    else:
        window = _clinical(lambda: infusion_window_at(infusion.activation, last, at))
        if window.status is not ScheduleStatus.ALLOWED:
            problems.append(_window_words(window, zone))
    protocol = protocol_of(infusion.activation)
    settings = center_settings_of(infusion.activation)
    for thaw in infusion.thaws.select_related("item"):
        if thaw.thawed_at > at:
            # A later bag, thawed during the infusion, shows its own thaw clock on the checklist.
            continue
        status = _clinical(lambda t=thaw: thaw_check(protocol.thaw, settings, t.thawed_at, at))
        if not status.is_within:
            problems.append(f"{thaw.item.item_id}: {_thaw_words(status, zone)}")
    return problems


def _hours(hours: Decimal) -> str:
    return f"{hours.normalize():f} h"


def _window_words(window: InfusionWindowStatus, zone: str) -> str:
    """The window's bound on the center's clock (the clinical core's reason is in UTC)."""
    if window.status is ScheduleStatus.TOO_EARLY:
        return (
            f"The infusion window opens at {nurse_time(window.allowed_from, zone)} "
            f"({_hours(window.earliest_hours)} after the last fludarabine dose)."
        )
    return (
        f"The infusion window closed at {nurse_time(window.allowed_until, zone)} "
        f"({_hours(window.latest_hours)} after the last fludarabine dose): the cells are not "
        "infused outside it; the treating physician decides what happens next."
    )


def _thaw_words(status: ThawStatus, zone: str) -> str:
    """A thaw over the center's limit on the center's clock (counted in UTC by the core)."""
    return (
        f"Over the thaw-to-infusion limit: thawed at {nurse_time(status.thawed_at, zone)}, "
        f"{status.minutes_since_thaw} min ago; the center's limit of "
        f"{status.limit_minutes.normalize():f} min passed at {nurse_time(status.infuse_by, zone)}. "
        "Do not infuse without the treating physician's decision."
    )


def steps_missing(infusion: Infusion, start: dt.datetime) -> list[str]:
    """The bedside steps not yet done for a start at `start`: the bags, the two people's
    identity checks, the premedication the protocol asks for, the first thaw."""
    bag_ids = [bag.item_id for bag in bags_of(infusion)]
    if not bag_ids:
        return ["No product bag of this manufacturing attempt is registered."]
    problems = identity_check_missing(infusion, bag_ids)
    premedication = premedication_status(infusion, start)
    if premedication is not None and not premedication.complete:
        problems.append(premedication.reason)
    if not infusion.thaws.exists():
        problems.append("Record the thaw time of the first bag before starting.")
    return problems


def start_blockers(infusion: Infusion, at: dt.datetime) -> list[str]:
    """Everything that would refuse a start at `at`, in the refusal's words: the steps not done,
    then the product and the time (empty once started: nothing stands before it any more)."""
    if infusion.started_at is not None:
        return []
    try:
        return steps_missing(infusion, at) + product_problems(infusion, at)
    except InvalidInput as error:  # a setting the clinical core cannot use yet
        return [message for words in error.errors.values() for message in words]


def _last_check_at(infusion: Infusion) -> dt.datetime | None:
    """When the last identity-check scan or the first thaw was recorded, to the minute."""
    moments = [
        scan.custody_event.occurred_at
        for scan in infusion.bedside_scans.select_related("custody_event")
    ]
    first_thaw = infusion.thaws.order_by("thawed_at").first()
    if first_thaw is not None:
        moments.append(first_thaw.thawed_at)
    last = max(moments, default=None)
    # To the minute: a start typed on the checklist carries no seconds, and may be the minute of
    # the last scan.
    return last.replace(second=0, microsecond=0) if last is not None else None


def start_infusion(infusion: Infusion, *, at: Any, actor: User) -> Infusion:
    """Start the infusion at `at` once every check above holds (see the module)."""
    errors: Errors = {}
    with transaction.atomic():
        infusion = locked_infusion(infusion)
        require_infuser(infusion, actor)
        require_not_started(infusion)
        # The start follows the identity check and the first thaw as they were recorded: a
        # time typed earlier would judge the window and the thaw at a moment before the checks.
        checked = _last_check_at(infusion)
        moment = check_moment(
            errors,
            "started_at",
            at,
            label="The start time",
            allowance=TYPED,
            not_before=checked,
            not_before_label="the bedside checks were recorded",
        )
        if errors or moment is None:
            raise InvalidInput(errors)
        steps = steps_missing(infusion, moment)
        if steps:
            raise Conflict({"__all__": steps})
        blocked = product_problems(infusion, moment)
        if not blocked:
            before = snapshot(infusion)
            infusion.started_at, infusion.started_by = moment, actor
            infusion.save(update_fields=["started_at", "started_by", "updated_at"])
            record_change(
                Action.INFUSION_START,
                infusion,
                actor=actor,
                before=before,
                subject_id=subject_of_infusion(infusion),
                occurred_at=moment,
            )
            return infusion
    raise refuse_with_alert(
        infusion,
        actor=actor,
        kind=AlertKind.INFUSION_BLOCKED,
        severity=AlertSeverity.CRITICAL,
        problems=[*blocked, "Do not infuse: an alert has been raised."],
        alert=f"Infusion blocked at the bedside: {' '.join(blocked)}",
        at=moment,
    )


def _whole_number(value: object) -> bool:
    """An int, or text that reads as one ("2"; not "1.5", not True)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().lstrip("+-").isdigit()


def end_infusion(
    infusion: Infusion,
    *,
    at: Any,
    bags_infused: object,
    viable_cells_e9: object,
    note: object = "",
    actor: User,
) -> Infusion:
    """Record the end of the infusion, the bags infused and the viable cells given (×10⁹, from
    the bags' labels or the certificate of analysis), checked against the protocol's range. A dose
    outside the range is recorded as given (it was) and raises an alert for the physician."""
    with transaction.atomic():
        infusion = locked_infusion(infusion)
        require_infuser(infusion, actor)
        if infusion.started_at is None:
            raise Conflict({"__all__": ["The infusion has not started."]})
        if infusion.ended_at is not None:
            raise Conflict({"__all__": ["The infusion's end is already recorded."]})
        bag_count = len(bags_of(infusion))
        errors: Errors = {}
        moment = check_moment(
            errors,
            "ended_at",
            at,
            label="The end time",
            allowance=TYPED,
            not_before=infusion.started_at,
            not_before_label="the infusion started",
        )
        bags = None
        if not _whole_number(bags_infused):
            errors["bags_infused"] = [f"Bags infused must be a whole number from 1 to {bag_count}."]
        else:
            bags = check_decimal_range(
                errors,
                "bags_infused",
                "Bags infused",
                bags_infused,
                Decimal(1),
                Decimal(bag_count),
                "bags",
                places=0,
            )
        cells = check_decimal_range(
            errors,
            "viable_cells_e9",
            "Viable cells infused",
            viable_cells_e9,
            Decimal("0.01"),
            VIABLE_CELLS_MAX_E9,
            "×10⁹ cells",
            places=2,
        )
        text = check_text(errors, "note", note, max_length=NOTE_MAX)
        if errors or moment is None or bags is None or cells is None:
            raise InvalidInput(errors)
        protocol = protocol_of(infusion.activation)
        check = check_cell_dose(
            protocol.cell_dose,
            total_viable_cells=Quantity.of(cells, Unit.cells_1e9),
            bag_count=int(bags),
        )
        before = snapshot(infusion)
        infusion.ended_at, infusion.ended_by = moment, actor
        infusion.bags_infused, infusion.viable_cells_e9 = int(bags), cells
        infusion.cell_dose_check = to_jsonable(check)
        infusion.end_note = text
        infusion.save()
        record_change(
            Action.INFUSION_END,
            infusion,
            actor=actor,
            before=before,
            reason=text,
            subject_id=subject_of_infusion(infusion),
            occurred_at=moment,
        )
        if not check.within_range:
            raise_alert(
                coi_din=infusion.coi_din,
                kind=AlertKind.INFUSION_BLOCKED,
                severity=AlertSeverity.HIGH,
                message=(
                    f"Cell dose outside the protocol's range: {check.cells_message} "
                    f"{check.bags_message} Tell the treating physician."
                ),
                center=infusion.center,
                facility=facility_of(infusion),
                actor=actor,
                at=moment,
            )
        return infusion
