"""Shipments and their temperature logs: create, dispatch, add readings, receive.

A shipment moves planned → in transit (dispatched by the sending organization) → received (by the
receiving organization), along `SHIPMENT_WORKFLOW`, each move logged in the append-only
`ShipmentTransition` with who made it and when it happened. Its two parties, origin and destination,
are the treatment center and the manufacturing facility of the items it carries. Readings are added
while it is in transit (from a CSV upload or the API), all or nothing. On receipt the whole log is
assessed with `clinical.custody.temperature` (an interval counts as outside when either end is
outside); an excursion, or a log with no reading at all, raises an identity alert for QA in the same
transaction as the receipt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_event, record_written
from tilcare.audit.times import audit_time
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.validation import (
    CLOCK_ALLOWANCE,
    DecimalWords,
    MomentWords,
    TextWords,
    check_decimal_range,
    check_moment,
    check_text,
    latest_moment,
)
from tilcare.identity import policies
from tilcare.identity.choices import (
    SHIPMENT_WORKFLOW,
    AlertKind,
    AlertSeverity,
    ItemKind,
    ShipmentStatus,
    ShipperType,
)
from tilcare.identity.models import Item, Shipment, ShipmentTransition, TemperatureReading
from tilcare.identity.selectors import alert_message, assess_readings, assessment_record, utc
from tilcare.identity.services.alerts import raise_alert, subject_of
from tilcare.identity.temperature_csv import (
    TemperatureCsvError,
    as_file_errors,
    parse_temperature_csv,
)

HOLD_HOURS_MIN, HOLD_HOURS_MAX = Decimal(1), Decimal(720)
RANGE_MIN_C, RANGE_MAX_C = Decimal(-200), Decimal(60)
READING_MIN_C, READING_MAX_C = Decimal("-273.1"), Decimal("100.0")
MAX_READINGS_PER_CALL = 100_000
MAX_MESSAGES = 20
LOGGING_INTERVAL_MAX_MINUTES = 1440
SOURCE_MAX = 80

NOT_MANAGER = "You may not manage shipments between these organizations."


# The words shipments have always used: the value as sent, and the range checked by each caller.
_DECIMAL_WORDS = DecimalWords(
    required="“{value}” is not a number.",
    inexact="Give an exact decimal number, not a float.",
    true_or_false="Give an exact decimal number, not a float.",
    not_a_number="“{value}” is not a number.",
    not_finite="“{value}” is not a finite number.",
    too_many_places="At most one decimal place (got {value}).",
)
_SOURCE_WORDS = TextWords(
    required="Say where the readings come from (e.g. the logger's file name)."
)
_TIME_WORDS = MomentWords(
    missing="Give a date and time.",
    no_offset="Give the date and time with its UTC offset (time zone).",
)


def _one_decimal(value: Any, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    return check_decimal_range(errors, field, "", value, None, None, "", words=_DECIMAL_WORDS)


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput({field: [message]})


def _check_time(at: Any, now: dt.datetime, *, skew: dt.timedelta = CLOCK_ALLOWANCE) -> list[str]:
    """Problems with a time given for when something happened: never more than `skew` ahead of
    now (a device's clock may run a little fast; a time typed for the past has no allowance)."""
    errors: dict[str, list[str]] = {}
    check_moment(errors, "at", at, now=now, allowance=skew, words=_TIME_WORDS)
    return errors.get("at", [])


def _check_past_time(at: Any) -> list[str]:
    """A time typed for when something already happened: no clock allowance."""
    return _check_time(at, timezone.now(), skew=dt.timedelta(0))


def _parties(origin: Organization, destination: Organization) -> tuple[Organization, Organization]:
    """(center, facility) of a shipment's two parties, in either direction."""
    if origin.kind == OrganizationKind.CENTER:
        return origin, destination
    return destination, origin


# --- create -----------------------------------------------------------------------------------


def create_shipment(
    *,
    coi_din: str,
    shipper_item: Item,
    items: Sequence[Item],
    origin: Organization,
    destination: Organization,
    shipper_type: str,
    expected_hold_hours: Any,
    range_min_c: Any,
    range_max_c: Any,
    actor: User,
    occurred_at: dt.datetime | None = None,
) -> Shipment:
    """Plan a shipment of `items` of one COI in `shipper_item`, with its acceptable range.
    `occurred_at`: when it was planned, if entered later (its audit event is dated then)."""
    require(policies.can_manage_shipment(actor, origin.pk, destination.pk), NOT_MANAGER)
    errors: dict[str, list[str]] = {}
    if occurred_at is not None and (problems := _check_past_time(occurred_at)):
        errors["occurred_at"] = problems
    coi_din = (coi_din or "").strip().upper()
    if len(coi_din) != 13 or not coi_din.isalnum():
        errors["coi_din"] = ["The COI identifier is 13 letters and digits (without its check)."]
    if shipper_type not in ShipperType.values:
        errors["shipper_type"] = [f"Choose one of: {', '.join(ShipperType.values)}."]
    hold = _one_decimal(expected_hold_hours, "expected_hold_hours", errors)
    if hold is not None and not HOLD_HOURS_MIN <= hold <= HOLD_HOURS_MAX:
        errors["expected_hold_hours"] = [
            f"Expected hold time must be {HOLD_HOURS_MIN}–{HOLD_HOURS_MAX} hours (got {hold})."
        ]
    low = _one_decimal(range_min_c, "range_min_c", errors)
    high = _one_decimal(range_max_c, "range_max_c", errors)
    for field, value in (("range_min_c", low), ("range_max_c", high)):
        if value is not None and not RANGE_MIN_C <= value <= RANGE_MAX_C:
            errors[field] = [f"Must be {RANGE_MIN_C} to +{RANGE_MAX_C} °C (got {value} °C)."]
    if low is not None and high is not None and "range_min_c" not in errors and low >= high:
        errors["range_max_c"] = [
            f"The range maximum ({high} °C) must be above the minimum ({low} °C)."
        ]
    if origin.pk == destination.pk:
        errors["destination"] = ["The destination must be another organization."]
    elif {origin.kind, destination.kind} != {OrganizationKind.CENTER, OrganizationKind.FACILITY}:
        errors["destination"] = [
            "A shipment goes between a treatment center and a manufacturing facility."
        ]
    center, facility = _parties(origin, destination)
    if shipper_item.kind != ItemKind.SHIPPER:
        errors["shipper_item"] = [f"{shipper_item.item_id} is not a shipper."]
    elif shipper_item.coi_din != coi_din:
        errors["shipper_item"] = [f"Shipper {shipper_item.item_id} belongs to another COI."]
    elif shipper_item.center_id != center.pk or shipper_item.facility_id not in (None, facility.pk):
        errors["shipper_item"] = [
            f"Shipper {shipper_item.item_id} belongs to other organizations than this shipment's."
        ]
    item_list = list(items)
    if not item_list:
        errors["items"] = ["Choose at least one item to ship."]
    item_errors: list[str] = []
    if len({item.pk for item in item_list}) != len(item_list):
        item_errors.append("An item is listed twice.")
    for item in item_list:
        if item.kind == ItemKind.SHIPPER:
            item_errors.append(f"{item.item_id} is a shipper; choose it as the shipper.")
        elif item.coi_din != coi_din:
            item_errors.append(f"{item.item_id} belongs to another COI than {coi_din}.")
        elif item.center_id != center.pk or item.facility_id not in (None, facility.pk):
            item_errors.append(
                f"{item.item_id} belongs to other organizations than this shipment's."
            )
    if item_errors:
        errors.setdefault("items", []).extend(item_errors)
    if errors:
        raise InvalidInput(errors)
    assert hold is not None and low is not None and high is not None

    with transaction.atomic():
        # The shipper's row is the lock: one shipper is on one open shipment at a time.
        Item.objects.select_for_update().get(pk=shipper_item.pk)
        busy = Shipment.objects.filter(
            shipper=shipper_item, status__in=[ShipmentStatus.PLANNED, ShipmentStatus.IN_TRANSIT]
        ).first()
        if busy is not None:
            raise _refuse(
                "shipper_item",
                f"Shipper {shipper_item.item_id} is already on a shipment that is "
                f"{busy.get_status_display().lower()}.",
            )
        shipment = Shipment.objects.create(
            coi_din=coi_din,
            shipper=shipper_item,
            origin=origin,
            destination=destination,
            shipper_type=shipper_type,
            expected_hold_hours=hold,
            range_min_c=low,
            range_max_c=high,
            status=ShipmentStatus.PLANNED,
            created_by=actor,
        )
        shipment.items.set(item_list)
        record_event(
            Action.SHIPMENT_CREATE,
            shipment,
            actor=actor,
            after={**snapshot(shipment), "items": sorted(i.item_id for i in item_list)},
            subject_id=subject_of(coi_din),
            occurred_at=occurred_at,
        )
    return shipment


# --- the workflow -----------------------------------------------------------------------------


def _move(shipment: Shipment, to_status: str, *, at: dt.datetime, actor: User) -> None:
    """Change the (locked) shipment's status along `SHIPMENT_WORKFLOW` (refused in the table's
    words) and log the move. The caller saves."""
    SHIPMENT_WORKFLOW.check(shipment.status, to_status)
    ShipmentTransition.objects.create(
        shipment=shipment,
        from_status=shipment.status,
        to_status=to_status,
        occurred_at=at,
        recorded_at=timezone.now(),
        actor=actor,
    )
    shipment.status = to_status


# --- dispatch ---------------------------------------------------------------------------------


def dispatch_shipment(shipment: Shipment, *, actor: User, at: dt.datetime) -> Shipment:
    """The sending organization hands the shipper over; the expected arrival is set from it."""
    require(
        policies.can_manage_shipment(actor, shipment.origin_id, None),
        "Only the sending organization's staff who manage shipments may dispatch it.",
    )
    problems = _check_time(at, timezone.now())
    if problems:
        raise InvalidInput({"at": problems})
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        before = snapshot(shipment)
        _move(
            shipment,
            ShipmentStatus.IN_TRANSIT,
            at=at,
            actor=actor,
        )
        shipment.dispatched_at = at
        seconds = int(shipment.expected_hold_hours * 3600)
        shipment.expected_at = at + dt.timedelta(seconds=seconds)
        shipment.save(update_fields=["status", "dispatched_at", "expected_at", "updated_at"])
        record_written(
            Action.SHIPMENT_DISPATCH,
            shipment,
            actor=actor,
            before=before,
            subject_id=subject_of(shipment.coi_din),
            occurred_at=audit_time(shipment, at),
        )
    return shipment


# --- temperature readings ---------------------------------------------------------------------


def _reading_problems(
    readings: Sequence[tuple[dt.datetime, Any]], now: dt.datetime
) -> tuple[list[tuple[dt.datetime, Decimal]], list[str]]:
    clean: list[tuple[dt.datetime, Decimal]] = []
    problems: list[str] = []
    seen: dict[dt.datetime, int] = {}
    for index, (recorded_at, temperature) in enumerate(readings, start=1):
        errors: dict[str, list[str]] = {}
        time_problems = _check_time(recorded_at, now)
        value = _one_decimal(temperature, "temperature_c", errors)
        if value is not None and not READING_MIN_C <= value <= READING_MAX_C:
            errors["temperature_c"] = [
                f"{value} °C is outside the plausible {READING_MIN_C} to +{READING_MAX_C} °C."
            ]
        label = f"Reading {index}"
        if isinstance(recorded_at, dt.datetime):
            label += f" ({recorded_at.isoformat()})"
        messages = time_problems + errors.get("temperature_c", [])
        if not messages and recorded_at in seen:
            messages = [f"the same time as reading {seen[recorded_at]}; each time may appear once."]
        if messages:
            problems.extend(f"{label}: {m}" for m in messages)
            continue
        assert value is not None
        seen[recorded_at] = index
        clean.append((recorded_at, value))
    return clean, problems


def add_temperature_readings(
    shipment: Shipment,
    *,
    readings: Sequence[tuple[dt.datetime, Any]],
    source: str,
    actor: User,
    occurred_at: dt.datetime | None = None,
) -> int:
    """Add readings (time, °C) to an in-transit shipment's log, all or none; the count added.
    `occurred_at`: when the logger's file was read in, if entered later (its audit event is dated
    then)."""
    require(
        policies.can_manage_shipment(actor, shipment.origin_id, shipment.destination_id),
        NOT_MANAGER,
    )
    errors: dict[str, list[str]] = {}
    if occurred_at is not None and (problems := _check_past_time(occurred_at)):
        errors["occurred_at"] = problems
    source = check_text(errors, "source", source, max_length=SOURCE_MAX, words=_SOURCE_WORDS)
    readings = list(readings)
    if not readings:
        errors["readings"] = ["Send at least one reading."]
    elif len(readings) > MAX_READINGS_PER_CALL:
        errors["readings"] = [
            f"At most {MAX_READINGS_PER_CALL:,} readings at a time (got {len(readings):,})."
        ]
    else:
        clean, problems = _reading_problems(readings, timezone.now())
        if problems:
            errors["readings"] = _listed(problems)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if shipment.status != ShipmentStatus.IN_TRANSIT:
            raise _refuse(
                "__all__",
                "Readings are added while the shipment is in transit; this one is "
                f"{shipment.get_status_display().lower()}.",
            )
        times = [when for when, _ in clean]
        # One range query, compared in Python: an IN list of 100,000 times is slow on SQLite.
        logged = TemperatureReading.objects.filter(
            shipment=shipment, recorded_at__range=(min(times), max(times))
        ).values_list("recorded_at", flat=True)
        repeated = sorted(set(logged) & set(times))
        if repeated:
            raise InvalidInput(
                {
                    "readings": _listed(
                        [
                            f"{when.astimezone(dt.UTC).isoformat()} is already in this "
                            "shipment's log; nothing was added."
                            for when in repeated
                        ]
                    )
                }
            )
        TemperatureReading.objects.bulk_create(
            [
                TemperatureReading(
                    shipment=shipment, recorded_at=when, temperature_c=value, source=source
                )
                for when, value in clean
            ],
            batch_size=2000,
        )
        values = [value for _, value in clean]
        record_event(
            Action.SHIPMENT_TEMPERATURES_ADD,
            shipment,
            actor=actor,
            after={
                "readings_added": len(clean),
                "first_recorded_at": min(times),
                "last_recorded_at": max(times),
                "lowest_temperature_c": min(values),
                "highest_temperature_c": max(values),
                "source": source,
            },
            subject_id=subject_of(shipment.coi_din),
            occurred_at=occurred_at,
        )
    return len(clean)


def add_temperature_csv(shipment: Shipment, data: bytes, *, source: str, actor: User) -> int:
    """Add the readings of a logger's CSV file (temperature_csv), all or none; the count added.
    Every refusal of the file or of its readings is given on the field `file`, where the file
    was sent."""
    try:
        readings = parse_temperature_csv(data, not_after=latest_moment())
        return add_temperature_readings(
            shipment,
            readings=[(r.recorded_at, r.temperature_c) for r in readings],
            source=source,
            actor=actor,
        )
    except TemperatureCsvError as exc:
        raise InvalidInput({"file": exc.messages()}) from None
    except InvalidInput as exc:
        raise InvalidInput(as_file_errors(exc.errors)) from None


def _listed(messages: list[str]) -> list[str]:
    if len(messages) <= MAX_MESSAGES:
        return messages
    hidden = len(messages) - MAX_MESSAGES
    return [*messages[:MAX_MESSAGES], f"… and {hidden} more not listed."]


# --- receive ----------------------------------------------------------------------------------


def receive_shipment(
    shipment: Shipment,
    *,
    actor: User,
    at: dt.datetime,
    max_logging_interval_minutes: int | None = None,
) -> Shipment:
    """The receiving organization takes the shipper; the log is assessed and QA alerted."""
    require(
        policies.can_manage_shipment(actor, shipment.destination_id, None),
        "Only the receiving organization's staff who manage shipments may receive it.",
    )
    errors: dict[str, list[str]] = {}
    problems = _check_time(at, timezone.now())
    if problems:
        errors["at"] = problems
    interval = max_logging_interval_minutes
    if interval is not None and (
        isinstance(interval, bool)
        or not isinstance(interval, int)
        or not 1 <= interval <= LOGGING_INTERVAL_MAX_MINUTES
    ):
        errors["max_logging_interval_minutes"] = [
            f"The logger's interval must be 1–{LOGGING_INTERVAL_MAX_MINUTES} minutes "
            f"(got {interval})."
        ]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        shipment = (
            Shipment.objects.select_for_update()
            .select_related("shipper", "origin", "destination")
            .get(pk=shipment.pk)
        )
        # Times are entered to the minute: a receipt in the minute of the dispatch is not
        # "before" it.
        if (
            shipment.status == ShipmentStatus.IN_TRANSIT
            and shipment.dispatched_at is not None
            and at < shipment.dispatched_at.replace(second=0, microsecond=0)
        ):
            raise _refuse(
                "at", f"Received before it was dispatched ({utc(shipment.dispatched_at)})."
            )
        before = snapshot(shipment)
        _move(
            shipment,
            ShipmentStatus.RECEIVED,
            at=at,
            actor=actor,
        )
        result = assess_readings(
            shipment,
            max_logging_interval=(dt.timedelta(minutes=interval) if interval is not None else None),
        )
        shipment.received_at = at
        shipment.max_logging_interval_minutes = interval
        shipment.minutes_outside_range = result.minutes_outside if result is not None else None
        shipment.excursion = bool(result is not None and result.is_excursion)
        fields = [
            "status",
            "received_at",
            "max_logging_interval_minutes",
            "minutes_outside_range",
            "excursion",
            "updated_at",
        ]
        shipment.save(update_fields=fields)
        record_event(
            Action.SHIPMENT_RECEIVE,
            shipment,
            actor=actor,
            before=before,
            after={**snapshot(shipment), "temperature_assessment": assessment_record(result)},
            subject_id=subject_of(shipment.coi_din),
            occurred_at=audit_time(shipment, at),
        )
        message = alert_message(shipment, result)
        if message is not None:
            center, facility = _parties(shipment.origin, shipment.destination)
            raise_alert(
                coi_din=shipment.coi_din,
                kind=AlertKind.TEMPERATURE_EXCURSION,
                severity=(
                    AlertSeverity.CRITICAL
                    if result is not None and result.is_excursion
                    else AlertSeverity.HIGH
                ),
                message=message,
                center=center,
                facility=facility,
                actor=actor,
                shipment=shipment,
                at=at,
            )
    return shipment
