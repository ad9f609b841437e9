"""Custody events over the API: the chain of custody of a COI identifier, and scans posted by
instruments and courier systems.

A posted scan is always recorded. A match answers 201 with the event; a scan that does not match
answers 409 with the event's id, result and message, so the caller knows the step was blocked and
that the scan and its alert were recorded. Nothing in either answer identifies the patient: text
a person typed (what was scanned, parties, location) is shown only to the organization that
recorded it and to those who may see patient identity.

The two receipts ("tissue_received", "product_received") settle a journey stage, which this layer
cannot do: they are refused here (422 on `step`) and posted to `POST /api/v1/journeys/scans`
(`tilcare.journey.custody_api`), which records the scan the same way and also the receipt
milestone, the facility's batch record and the journey's move.
"""

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from tilcare.clinical.checkdigits import IdentifierError, parse_din_with_check
from tilcare.clinical.identity_scan import next_step_for
from tilcare.core.api_support import (
    ApiPagination,
    AwareDateTime,
    InputSchema,
    MappedQuerySet,
    UtcDateTime,
    caller,
)
from tilcare.core.errors import InvalidInput, NotVisible
from tilcare.identity.choices import HandoffStep, ItemKind
from tilcare.identity.models import CustodyEvent
from tilcare.identity.selectors import custody_events_for, items_visible_to
from tilcare.identity.services.custody import record_scan, typed_text_visible

router = Router()

# The steps that settle a journey stage: posted to the journey layer's scan endpoint.
RECEIPT_STEPS = frozenset({HandoffStep.TISSUE_RECEIVED.value, HandoffStep.PRODUCT_RECEIVED.value})
JOURNEY_SCANS_PATH = "/api/v1/journeys/scans"


class CustodyEventOut(Schema):
    public_id: str
    coi_din: str
    item_id: str | None
    step: str
    step_label: str
    occurred_at: UtcDateTime
    actor: str
    organization: str
    result: str
    result_label: str
    accepted: bool
    message: str = Field(..., description="What the scan showed, in words for the person scanning")
    next_step: str = Field(..., description="What to do now (empty for a match)")
    expected_item_id: str
    alerts: list[str] = Field(..., description="Public ids of the alerts this scan raised")
    scanned_text: str | None = Field(
        ..., description="As read; null unless your organization recorded it or you see identity"
    )
    from_party: str | None
    to_party: str | None
    location: str | None


class CustodyBlockedOut(Schema):
    detail: str
    event_id: str
    result: str
    message: str
    next_step: str
    event: CustodyEventOut


class CustodyScanIn(InputSchema):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    coi: str = Field(
        ...,
        description="The journey's COI identifier with its check character (W1234 26 000123 3)",
        examples=["W123426000123 3"],
    )
    step: HandoffStep
    scanned_text: str = Field(..., description="What the scanner read from the item's label")
    expected_item_id: str = ""
    expected_kind: ItemKind | None = Field(
        None, description="The kind of item the step expects; the step's usual kinds if omitted"
    )
    from_party: str = ""
    to_party: str = ""
    location: str = ""
    occurred_at: AwareDateTime | None = Field(
        None, description="When the scan was made (with its UTC offset); now if omitted"
    )


def event_out(event: CustodyEvent, user: Any) -> CustodyEventOut:
    typed = typed_text_visible(user, event)
    return CustodyEventOut(
        public_id=str(event.public_id),
        coi_din=event.coi_din,
        item_id=event.item.item_id if event.item else None,
        step=event.step,
        step_label=event.get_step_display(),
        occurred_at=event.occurred_at,
        actor=event.actor.printed_name,
        organization=event.organization.name,
        result=event.result,
        result_label=event.get_result_display(),
        accepted=event.accepted,
        message=event.message,
        next_step=next_step_for(event.result),
        expected_item_id=event.expected_item_id,
        alerts=[str(a.public_id) for a in event.alerts.all()],
        scanned_text=event.scanned_text if typed else None,
        from_party=event.from_party if typed else None,
        to_party=event.to_party if typed else None,
        location=event.location if typed else None,
    )


def blocked_out(event: CustodyEvent, out: CustodyEventOut) -> CustodyBlockedOut:
    """The 409 answer to a scan that did not match: blocked, and recorded with its alert."""
    return CustodyBlockedOut(
        detail="Scan did not match: the step is blocked. The scan and its alert are recorded.",
        event_id=out.public_id,
        result=event.result,
        message=event.message,
        next_step=out.next_step,
        event=out,
    )


def _coi(text: str, field: str = "coi") -> str:
    try:
        return parse_din_with_check(text)
    except IdentifierError as error:
        raise InvalidInput({field: [str(error)]}) from None


@router.get(
    "/identity/custody-events",
    response=list[CustodyEventOut],
    summary="The chain of custody of a COI identifier, oldest first",
)
@paginate(ApiPagination)
def list_custody_events(
    request: HttpRequest, coi: str
) -> MappedQuerySet[CustodyEvent, CustodyEventOut]:
    """`coi`: the COI identifier with its check character. Empty when none of its items is your
    organization's."""
    user = caller(request)
    events: QuerySet[CustodyEvent] = custody_events_for(user, _coi(coi))
    events = events.select_related("organization").prefetch_related("alerts")
    return MappedQuerySet(events.order_by("occurred_at", "id"), lambda e: event_out(e, user))


@router.post(
    "/identity/custody-events",
    response={201: CustodyEventOut, 409: CustodyBlockedOut},
    summary="Record a scan at a handoff (409 when it does not match: blocked and recorded)",
    description=(
        "Any handoff except the two receipts (`tissue_received`, `product_received`): those "
        f"settle the journey's stage and are posted to `{JOURNEY_SCANS_PATH}`."
    ),
)
def post_custody_event(
    request: HttpRequest, payload: CustodyScanIn
) -> Status[CustodyEventOut] | Status[CustodyBlockedOut]:
    user = caller(request)
    if str(payload.step) in RECEIPT_STEPS:
        raise InvalidInput(
            {
                "step": [
                    f"“{payload.step}” settles the journey's stage: post it to "
                    f"{JOURNEY_SCANS_PATH}, which also records the milestone."
                ]
            }
        )
    coi_din = _coi(payload.coi)
    known = items_visible_to(user).filter(coi_din=coi_din).select_related("center", "facility")
    first = known.order_by("id").first()
    if first is None:
        raise NotVisible()
    with_facility = known.filter(facility__isnull=False).order_by("id").first()
    now = None
    if payload.occurred_at is not None:
        now = payload.occurred_at
        if now > timezone.now() + dt.timedelta(minutes=5):
            raise InvalidInput({"occurred_at": ["The scan time cannot be in the future."]})
    event = record_scan(
        coi_din=coi_din,
        step=str(payload.step),
        scanned_text=payload.scanned_text,
        actor=user,
        organization=user.organization,
        expected_item_id=payload.expected_item_id,
        expected_kind=str(payload.expected_kind) if payload.expected_kind else None,
        from_party=payload.from_party,
        to_party=payload.to_party,
        location=payload.location,
        now=now,
        center=first.center,
        facility=with_facility.facility if with_facility else None,
    )
    event = CustodyEvent.objects.select_related("item", "actor", "organization").get(pk=event.pk)
    out = event_out(event, user)
    if event.accepted:
        return Status(201, out)
    return Status(409, blocked_out(event, out))
