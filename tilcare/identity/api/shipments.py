"""Shipments and their temperature logs over the API.

Same selectors, policies and services as the pages. A shipment carries COI identifiers, item
identifiers and organizations only, never the patient, so center and facility callers get the
same shape. Items are named by the identifier printed on their label (`W123426000017-SH01`).

Temperature readings come as JSON (`POST …/temperatures`, a list of {recorded_at,
temperature_c}) or as the CSV log (`POST …/temperatures.csv`, `text/csv` body or a multipart
field `file`; format in `tilcare.identity.temperature_csv`). Either is all or nothing; a refused
CSV answers 422 with each problem's line under `errors.file`.
"""

from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from tilcare.accounts.models import Organization
from tilcare.core.api_support import (
    ApiPagination,
    AwareDateTime,
    DecimalText,
    InputSchema,
    MappedQuerySet,
    UtcDateTime,
    caller,
    checked_range,
)
from tilcare.core.errors import InvalidInput
from tilcare.core.http import CSV_UPLOAD_BODY, accepts_upload, csv_sent, get_visible_or_404
from tilcare.core.policy import require
from tilcare.identity import policies
from tilcare.identity.choices import ShipmentStatus, ShipperType
from tilcare.identity.models import Item, Shipment
from tilcare.identity.selectors import flags_of, is_late, items_visible_to, shipments_visible_to
from tilcare.identity.services import shipments as services

router = Router(tags=["shipments"])

_STRICT_INPUT = ConfigDict(extra="forbid", use_enum_values=True)
# Ranges the service checks (with the field's label and the value sent in the message).
HOLD_HOURS = checked_range(services.HOLD_HOURS_MIN, services.HOLD_HOURS_MAX)
RANGE_C = checked_range(services.RANGE_MIN_C, services.RANGE_MAX_C)
MAX_CSV_BYTES = 8 * 1024 * 1024
SOURCE_MAX = 80


class OrganizationRef(Schema):
    public_id: UUID
    name: str
    kind: str


class ShipmentOut(Schema):
    public_id: UUID
    coi_din: str
    shipper: str = Field(..., description="The shipper's item identifier")
    items: list[str]
    origin: OrganizationRef
    destination: OrganizationRef
    shipper_type: str
    shipper_type_label: str
    expected_hold_hours: DecimalText
    range_min_c: DecimalText
    range_max_c: DecimalText
    status: str
    status_label: str
    dispatched_at: UtcDateTime | None
    expected_at: UtcDateTime | None = Field(..., description="dispatched_at + expected hold")
    received_at: UtcDateTime | None
    late: bool = Field(..., description="In transit past expected_at")
    readings: int
    minutes_outside_range: int | None = Field(
        ..., description="Set on receipt; null when no reading was logged"
    )
    excursion: bool
    max_logging_interval_minutes: int | None = Field(
        ..., description="The logger's interval given at receipt; null when not given"
    )
    flags: list[str] = Field(..., description="late, excursion, log_missing")


class ShipmentIn(InputSchema):
    model_config = _STRICT_INPUT

    coi_din: str = Field(..., min_length=13, max_length=13)
    shipper: str = Field(..., max_length=24, description="The shipper's item identifier")
    items: list[str] = Field(..., description="Item identifiers carried")
    destination: UUID = Field(..., description="The receiving organization's public_id")
    shipper_type: ShipperType
    expected_hold_hours: Decimal = Field(
        ..., json_schema_extra=HOLD_HOURS, description="1–720 hours"
    )
    range_min_c: Decimal = Field(
        ...,
        json_schema_extra=RANGE_C,
        description="−200 to +60 °C, inclusive limit",
    )
    range_max_c: Decimal = Field(
        ...,
        json_schema_extra=RANGE_C,
        description="−200 to +60 °C, inclusive limit",
    )


class DispatchIn(InputSchema):
    model_config = _STRICT_INPUT

    at: AwareDateTime = Field(..., description="ISO 8601 with its UTC offset")


class ReceiveIn(InputSchema):
    model_config = _STRICT_INPUT

    at: AwareDateTime = Field(..., description="ISO 8601 with its UTC offset")
    max_logging_interval_minutes: int | None = Field(
        None,
        json_schema_extra=checked_range(1, services.LOGGING_INTERVAL_MAX_MINUTES),
        description="The data logger's interval, 1 to 1,440 minutes; longer gaps go to QA",
    )


class ReadingIn(InputSchema):
    model_config = _STRICT_INPUT

    recorded_at: AwareDateTime
    temperature_c: Decimal = Field(
        ...,
        json_schema_extra=checked_range(services.READING_MIN_C, services.READING_MAX_C),
        description="°C, −273.1 to +100.0, at most one decimal place",
    )


class ReadingOut(Schema):
    recorded_at: UtcDateTime
    temperature_c: DecimalText
    source: str


class ReadingsAddedOut(Schema):
    added: int
    shipment: ShipmentOut


def _org(org: Organization) -> OrganizationRef:
    return OrganizationRef(public_id=org.public_id, name=org.name, kind=org.kind)


def _shipments(user: Any) -> QuerySet[Shipment]:
    return (
        shipments_visible_to(user)
        .select_related("shipper", "origin", "destination")
        .prefetch_related("items")
        .annotate(readings_count=Count("readings"))
    )


def shipment_out(shipment: Shipment) -> ShipmentOut:
    now = timezone.now()
    count = getattr(shipment, "readings_count", None)
    return ShipmentOut(
        public_id=shipment.public_id,
        coi_din=shipment.coi_din,
        shipper=shipment.shipper.item_id,
        items=sorted(item.item_id for item in shipment.items.all()),
        origin=_org(shipment.origin),
        destination=_org(shipment.destination),
        shipper_type=shipment.shipper_type,
        shipper_type_label=shipment.get_shipper_type_display(),
        expected_hold_hours=shipment.expected_hold_hours,
        range_min_c=shipment.range_min_c,
        range_max_c=shipment.range_max_c,
        status=shipment.status,
        status_label=shipment.get_status_display(),
        dispatched_at=shipment.dispatched_at,
        expected_at=shipment.expected_at,
        received_at=shipment.received_at,
        late=is_late(shipment, now),
        readings=count if count is not None else shipment.readings.count(),
        minutes_outside_range=shipment.minutes_outside_range,
        excursion=shipment.excursion,
        max_logging_interval_minutes=shipment.max_logging_interval_minutes,
        flags=flags_of(shipment, now),
    )


def _visible(request: HttpRequest, public_id: str) -> Shipment:
    shipment: Shipment = get_visible_or_404(_shipments(caller(request)), public_id)
    return shipment


def _fresh(request: HttpRequest, shipment: Shipment) -> ShipmentOut:
    return shipment_out(_shipments(caller(request)).get(pk=shipment.pk))


def _items_by_id(user: Any, identifiers: list[str], field: str) -> list[Item]:
    wanted = [i.strip().upper() for i in identifiers]
    found = {i.item_id: i for i in items_visible_to(user).filter(item_id__in=wanted)}
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise InvalidInput({field: [f"No item “{i}” that you may see." for i in unknown]})
    return [found[i] for i in wanted]


@router.post(
    "/identity/shipments",
    response={201: ShipmentOut},
    summary="Plan a shipment (the caller's organization sends it)",
)
def create_shipment(request: HttpRequest, payload: ShipmentIn) -> Status[ShipmentOut]:
    user = caller(request)
    [shipper] = _items_by_id(user, [payload.shipper], "shipper")
    items = _items_by_id(user, payload.items, "items")
    destination = Organization.objects.filter(public_id=payload.destination).first()
    if destination is None or user.organization is None:
        raise InvalidInput({"destination": ["No organization with this public_id."]})
    shipment = services.create_shipment(
        coi_din=payload.coi_din,
        shipper_item=shipper,
        items=items,
        origin=user.organization,
        destination=destination,
        shipper_type=payload.shipper_type,
        expected_hold_hours=payload.expected_hold_hours,
        range_min_c=payload.range_min_c,
        range_max_c=payload.range_max_c,
        actor=user,
    )
    return Status(201, _fresh(request, shipment))


@router.get("/identity/shipments", response=list[ShipmentOut], summary="List shipments")
@paginate(ApiPagination)
def list_shipments(
    request: HttpRequest,
    status: ShipmentStatus | None = None,
    coi_din: str | None = None,
    late: bool = False,
) -> MappedQuerySet[Shipment, ShipmentOut]:
    """Shipments to or from the caller's organization, newest first; `late=true` keeps those in
    transit past their expected arrival."""
    shipments = _shipments(caller(request))
    if status:
        shipments = shipments.filter(status=status)
    if late:
        shipments = shipments.filter(
            status=ShipmentStatus.IN_TRANSIT, expected_at__lt=timezone.now()
        )
    if coi_din:
        shipments = shipments.filter(coi_din=coi_din.strip().upper())
    return MappedQuerySet(shipments.order_by("-created_at", "-id"), shipment_out)


@router.get("/identity/shipments/{public_id}", response=ShipmentOut, summary="One shipment")
def get_shipment(request: HttpRequest, public_id: str) -> ShipmentOut:
    return shipment_out(_visible(request, public_id))


@router.post(
    "/identity/shipments/{public_id}/dispatch",
    response=ShipmentOut,
    summary="Dispatch (sending organization; 409 when not planned)",
)
def dispatch_shipment(request: HttpRequest, public_id: str, payload: DispatchIn) -> ShipmentOut:
    shipment = services.dispatch_shipment(
        _visible(request, public_id), actor=caller(request), at=payload.at
    )
    return _fresh(request, shipment)


@router.post(
    "/identity/shipments/{public_id}/receive",
    response=ShipmentOut,
    summary="Receive (receiving organization); assesses the log and alerts QA on an excursion",
)
def receive_shipment(request: HttpRequest, public_id: str, payload: ReceiveIn) -> ShipmentOut:
    shipment = services.receive_shipment(
        _visible(request, public_id),
        actor=caller(request),
        at=payload.at,
        max_logging_interval_minutes=payload.max_logging_interval_minutes,
    )
    return _fresh(request, shipment)


@router.get(
    "/identity/shipments/{public_id}/temperatures",
    response=list[ReadingOut],
    summary="The temperature log, in time order",
)
def list_temperatures(request: HttpRequest, public_id: str) -> list[ReadingOut]:
    shipment = _visible(request, public_id)
    return [
        ReadingOut(recorded_at=r.recorded_at, temperature_c=r.temperature_c, source=r.source)
        for r in shipment.readings.order_by("recorded_at")
    ]


@router.post(
    "/identity/shipments/{public_id}/temperatures",
    response={201: ReadingsAddedOut},
    summary="Add readings (a JSON list), all or none",
)
def add_temperatures(
    request: HttpRequest, public_id: str, payload: list[ReadingIn], source: str = "API"
) -> Status[ReadingsAddedOut]:
    shipment = _visible(request, public_id)
    added = services.add_temperature_readings(
        shipment,
        readings=[(r.recorded_at, r.temperature_c) for r in payload],
        source=source,
        actor=caller(request),
    )
    return Status(201, ReadingsAddedOut(added=added, shipment=_fresh(request, shipment)))


def _csv_bytes(request: HttpRequest) -> tuple[bytes, str]:
    """The CSV sent, and a source label for the readings."""
    data, name = csv_sent(request, MAX_CSV_BYTES)
    if name is None:
        return data, "CSV (API)"
    return data, f"CSV {name.rsplit('/', 1)[-1]}"[:SOURCE_MAX]


@router.post(
    "/identity/shipments/{public_id}/temperatures.csv",
    response={201: ReadingsAddedOut},
    summary="Add readings from the CSV log (text/csv or multipart `file`), all or none",
    openapi_extra=CSV_UPLOAD_BODY,
)
@accepts_upload(MAX_CSV_BYTES)
def add_temperatures_csv(request: HttpRequest, public_id: str) -> Status[ReadingsAddedOut]:
    user = caller(request)
    shipment = _visible(request, public_id)
    # The policy first: a caller who may not add readings learns nothing about the file.
    require(
        policies.can_manage_shipment(user, shipment.origin_id, shipment.destination_id),
        services.NOT_MANAGER,
    )
    data, source = _csv_bytes(request)
    added = services.add_temperature_csv(shipment, data, source=source, actor=user)
    return Status(201, ReadingsAddedOut(added=added, shipment=_fresh(request, shipment)))
