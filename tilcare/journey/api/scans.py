"""Custody scans over the API: a courier's, lab's or pharmacy's system posts a scan and, for a
receipt, the journey's stage is settled as on the scan page.

One door: `POST /api/v1/journeys/scans` takes any step the caller's organization records. It
takes the journey's COI identifier with its check character, finds the journey among those the
caller may see (404 otherwise, telling nothing), builds the scan's request once and records it
through `journey.services.custody.record_handoff`, the scan page's own door: the scan is checked
against the journey's current manufacturing attempt, its time against now and the item's history
(a late entry says why in `late_entry_reason`), a product's expiry at the moment of use, and it
is always recorded. A receipt ("tissue_received" at the facility, "product_received" at the
center) also records the milestone once every item of the attempt is in, opens the facility's
batch record on tissue receipt, and moves the journey when the caller's role may.
`GET /api/v1/identity/custody-events` reads a COI's chain of custody (it takes no scans).

A match answers 201 with the custody event and what followed: milestone, move, notes, items still
to receive, batch opened. A scan that does not match answers 409: blocked, and recorded with its
alert. Nothing in either answer identifies the patient.

For a receipt the parties are the courier and the receiving organization, and the step waits for
every item of the attempt, so `from_party`, `to_party` and `expected_item_id` must be left empty
(refused, not ignored). The step's kinds of item are expected (`STEP_KINDS`).

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from tilcare.accounts.models import User
from tilcare.clinical.checkdigits import IdentifierError, parse_din_with_check
from tilcare.core.api_support import (
    ApiPagination,
    AwareDateTime,
    InputSchema,
    MappedQuerySet,
    caller,
)
from tilcare.core.errors import InvalidInput, NotVisible
from tilcare.core.policy import require
from tilcare.identity.api.custody import (
    LATE_ENTRY_REASON,
    CustodyBlockedOut,
    CustodyEventOut,
    blocked_out,
    event_out,
)
from tilcare.identity.choices import HandoffStep
from tilcare.identity.models import CustodyEvent, Item
from tilcare.identity.policies import can_record_scans
from tilcare.identity.selectors import custody_events_for
from tilcare.identity.services.custody import steps_for
from tilcare.journey import selectors
from tilcare.journey.models import Journey
from tilcare.journey.services import custody

router = Router(tags=["identity and custody"])

# Set by the journey for a receipt; a caller's value would not be recorded.
_RECEIPT_FIXED = {
    "from_party": "A receipt is recorded from the courier to the receiving organization: "
    "leave from_party empty.",
    "to_party": "A receipt is recorded from the courier to the receiving organization: "
    "leave to_party empty.",
    "expected_item_id": "A receipt waits for every item of the manufacture attempt: "
    "leave expected_item_id empty.",
}


class JourneyScanIn(InputSchema):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    coi: str = Field(
        ...,
        description="The journey's COI identifier with its check character (W1234 26 000123 3)",
        examples=["W123426000123 3"],
    )
    step: HandoffStep = Field(..., description="One of the steps your organization records")
    scanned_text: str = Field(..., description="What the scanner read from the item's label")
    location: str = ""
    from_party: str = Field("", description="Empty for a receipt")
    to_party: str = Field("", description="Empty for a receipt")
    expected_item_id: str = Field("", description="Empty for a receipt")
    occurred_at: AwareDateTime | None = Field(
        None, description="When the scan was made (with its UTC offset); now if omitted"
    )
    late_entry_reason: str = LATE_ENTRY_REASON


class JourneyScanOut(Schema):
    event: CustodyEventOut
    milestone: str | None = Field(
        ..., description="The kind of milestone this scan recorded (a receipt), or null"
    )
    advanced_to: str = Field(..., description="The stage the journey moved into, or empty")
    notes: list[str] = Field(..., description="What followed, in words")
    outstanding: list[str] = Field(
        ..., description="Item ids of this attempt the receipt still waits for"
    )
    batch: str | None = Field(
        ..., description="Public id of the facility's batch record this receipt opened, or null"
    )


def require_scanner(user: User) -> None:
    """As on the scan page: staff who record custody, in an organization that records steps."""
    require(
        can_record_scans(user),
        "Only staff who handle the specimen and the product record custody scans.",
    )


def _coi(text: str) -> str:
    try:
        return parse_din_with_check(text)
    except IdentifierError as error:
        raise InvalidInput({"coi": [str(error)]}) from None


def _validate(user: User, payload: JourneyScanIn) -> str:
    """The COI identifier, once the step and the fields that go with it are right. (The scan's
    time and late-entry reason are checked by the door's service, against the item's history
    too.)"""
    errors: dict[str, list[str]] = {}
    try:
        coi_din = _coi(payload.coi)
    except InvalidInput as refused:
        errors.update(refused.errors)
        coi_din = ""
    step = str(payload.step)
    allowed = steps_for(user.organization)
    if step not in allowed:
        errors["step"] = [
            f"“{HandoffStep(step).label}” is not a step your organization records; choose one "
            f"of: {', '.join(s.value for s in allowed)}."
        ]
    elif step in custody.RECEIPTS:
        given = {
            "from_party": payload.from_party,
            "to_party": payload.to_party,
            "expected_item_id": payload.expected_item_id,
        }
        for name, value in given.items():
            if value.strip():
                errors[name] = [_RECEIPT_FIXED[name]]
    if errors:
        raise InvalidInput(errors)
    return coi_din


def _journey(user: User, coi_din: str) -> Journey:
    journey = (
        selectors.visible_to(user)
        .select_related("center", "manufacturing_facility")
        .filter(coi_din=coi_din)
        .first()
    )
    if journey is None:
        raise NotVisible()
    return journey


@router.post(
    "/journeys/scans",
    response={201: JourneyScanOut, 409: CustodyBlockedOut},
    summary="Record a custody scan of a journey's item; a receipt also settles the stage",
    description=(
        "The journey is found by its COI identifier among those you may see. A receipt "
        "(`tissue_received` at the facility, `product_received` at the center) records the "
        "milestone once every item of the attempt is in, opens the facility's batch record on "
        "tissue receipt, and moves the journey when your role may. A scan that does not match "
        "answers 409: the step is blocked, and the scan and its alert are recorded."
    ),
)
def post_journey_scan(
    request: HttpRequest, payload: JourneyScanIn
) -> Status[JourneyScanOut] | Status[CustodyBlockedOut]:
    user = caller(request)
    require_scanner(user)
    coi_din = _validate(user, payload)
    journey = _journey(user, coi_din)
    scan = custody.scan_request(
        journey,
        str(payload.step),
        payload.scanned_text,
        location=payload.location,
        from_party=payload.from_party,
        to_party=payload.to_party,
        expected_item_id=payload.expected_item_id,
        occurred_at=payload.occurred_at,
        late_entry_reason=payload.late_entry_reason,
    )
    result = custody.record_handoff(journey, scan, actor=user)
    event = CustodyEvent.objects.select_related("item", "actor", "organization").get(
        pk=result.event.pk
    )
    out = event_out(event, user, center_id=journey.center_id)
    if not event.accepted:
        return Status(409, blocked_out(event, out))
    return Status(201, _scan_out(out, result))


def _scan_out(out: CustodyEventOut, result: custody.ScanStep) -> JourneyScanOut:
    return JourneyScanOut(
        event=out,
        milestone=result.milestone.kind if result.milestone else None,
        advanced_to=result.advanced_to,
        notes=list(result.notes),
        outstanding=list(result.outstanding),
        batch=str(result.batch.public_id) if result.batch else None,
    )


# ---------- /identity/custody-events: the chain of custody (read only) ----------


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
    coi_din = _coi(coi)
    events: QuerySet[CustodyEvent] = custody_events_for(user, coi_din)
    events = events.select_related("organization").prefetch_related("alerts")
    # The COI's center: whose staff may read what was typed on its events.
    center_id = Item.objects.filter(coi_din=coi_din).values_list("center_id", flat=True).first()
    return MappedQuerySet(
        events.order_by("occurred_at", "id"),
        lambda e: event_out(e, user, center_id=center_id),
    )
