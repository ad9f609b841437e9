"""Custody scans as the journey sees them: the receipts that settle a stage, and other handoffs.

- `receive_tissue`: the manufacturing facility scans each tumor specimen container as it
  arrives. Once every container of the current manufacturing attempt has been received, the
  milestone "Tissue received at the manufacturing facility" is recorded, which the guard of
  "At manufacturing" waits for.
- `receive_product`: the center (pharmacist, nurse or navigator) scans each product bag or
  cassette. Each must belong to this journey, be released and not expired. Once every released
  bag and cassette of the attempt is received, "Product received at the center" is recorded.
- `record_handoff`: any step, given as one `identity.services.custody.ScanRequest` that each
  door builds with `scan_request` (which sets a receipt's parties: the courier to the receiving
  organization). It is the one door every
  entry point records a scan through (the scan page, `POST /api/v1/journeys/scans`): it gives
  `identity.services.custody.record_scan` the journey's organizations and current manufacturing
  attempt, so a bag of an earlier attempt is refused the same way wherever it is scanned, and the
  scan's time bounds, late-entry reason and moment-of-use expiry are checked there once.

When the tissue of an attempt is received, the facility's batch record of that COI and attempt is
opened (`manufacturing.services.batches.open_batch`) unless it exists, with the journey's protocol
file (`PROTOCOL_FILES`), in the receipt's transaction; a refused opening leaves the receipt
standing and says why in the result's notes.

After a milestone, the journey is moved on (to "At manufacturing", "Product at center") when the
scanning user's role may make that move and the stage's requirements are met; otherwise the
result says who moves it. A scan that does not match is recorded with its alert by
`identity.services.custody.record_scan` and nothing else happens: no milestone, no move.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import User
from tilcare.clinical.identity_scan import next_step_for
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.identity.choices import HandoffStep, ItemKind, ScanResult
from tilcare.identity.models import CustodyEvent, Item
from tilcare.identity.services.custody import ScanRequest, record_scan
from tilcare.journey import guards, policies, services
from tilcare.journey.choices import ADVANCE_ROLES, MilestoneKind, Protocol, Stage
from tilcare.journey.models import Journey, Milestone
from tilcare.manufacturing import policies as batch_policies
from tilcare.manufacturing.models import Batch
from tilcare.manufacturing.services import batches as batch_services


@dataclass(frozen=True)
class Receipt:
    """A step that settles a stage: what it records, from which stage, into which stage."""

    milestone: MilestoneKind
    from_stage: Stage
    target: Stage
    kinds: frozenset[str]
    released_only: bool


RECEIPTS: dict[str, Receipt] = {
    HandoffStep.TISSUE_RECEIVED: Receipt(
        MilestoneKind.TISSUE_RECEIVED,
        Stage.TISSUE_PROCURED,
        Stage.AT_MANUFACTURING,
        frozenset({ItemKind.TUMOR_SPECIMEN.value}),
        released_only=False,
    ),
    HandoffStep.PRODUCT_RECEIVED: Receipt(
        MilestoneKind.PRODUCT_RECEIVED,
        Stage.PRODUCT_RELEASED,
        Stage.PRODUCT_AT_CENTER,
        frozenset({ItemKind.PRODUCT_BAG.value, ItemKind.CASSETTE.value}),
        released_only=True,
    ),
}


# The protocol file (id, version in tilcare/protocols/data) behind each journey protocol.
PROTOCOL_FILES: dict[str, tuple[str, str]] = {
    Protocol.LIFILEUCEL_US_2024: ("lifileucel_us", "2024"),
    Protocol.NKI_TIL_2022: ("nki_phase3", "2022"),
}


@dataclass(frozen=True)
class ScanStep:
    """One scan and what followed from it: the event, and for a receipt the milestone and move."""

    event: CustodyEvent
    milestone: Milestone | None = None
    advanced_to: str = ""
    notes: tuple[str, ...] = ()
    outstanding: tuple[str, ...] = field(default=())
    batch: Batch | None = None  # the batch record opened by this receipt

    @property
    def accepted(self) -> bool:
        return self.event.accepted

    @property
    def next_step(self) -> str:
        return next_step_for(self.event.result)


def receive(
    journey: Journey,
    step: str,
    *,
    scanned_text: str,
    actor: User,
    location: str = "",
    now: dt.datetime | None = None,
    late_entry_reason: str = "",
) -> ScanStep:
    """A receipt scan on arrival: `step` is the facility's tissue receipt (a tumor specimen
    container) or the center's product receipt (a product bag or cassette)."""
    request = scan_request(
        journey,
        step,
        scanned_text,
        location=location,
        occurred_at=now,
        late_entry_reason=late_entry_reason,
    )
    return record_handoff(journey, request, actor=actor)


# The two receipts differ only by their step (see the module's description).
receive_tissue = partial(receive, step=HandoffStep.TISSUE_RECEIVED)
receive_product = partial(receive, step=HandoffStep.PRODUCT_RECEIVED)


def scan_request(
    journey: Journey,
    step: str,
    scanned_text: str,
    *,
    location: str = "",
    from_party: str = "",
    to_party: str = "",
    expected_item_id: str = "",
    occurred_at: dt.datetime | None = None,
    late_entry_reason: str = "",
) -> ScanRequest:
    """The scan of one of the journey's items, as every door builds it. A receipt is recorded from
    the courier to the receiving organization and waits for every item of its kinds, so its
    parties are set here and it expects no one item (the API refuses a caller's values)."""
    receipt = RECEIPTS.get(str(step))
    if receipt is not None:
        receiver = (
            journey.center
            if receipt.target == Stage.PRODUCT_AT_CENTER
            else journey.manufacturing_facility
        )
        from_party, to_party = "Courier", receiver.name if receiver else ""
        expected_item_id = ""
    return ScanRequest(
        coi_din=journey.coi_din,
        step=step,
        scanned_text=scanned_text,
        expected_item_id=expected_item_id,
        from_party=from_party,
        to_party=to_party,
        location=location,
        occurred_at=occurred_at,
        late_entry_reason=late_entry_reason,
    )


def record_handoff(journey: Journey, request: ScanRequest, *, actor: User) -> ScanStep:
    """Record a scan of one of the journey's items at any step (`request`, from `scan_request`):
    the one door for every entry point. Receipts settle their stage as above. A scan dated
    earlier than now (beyond the scanner's clock allowance) needs its late-entry reason."""
    if request.coi_din != journey.coi_din:
        raise ValueError("The scan request is for another journey's COI identifier.")
    require(policies.can_view_journey(actor, journey), "You may not see this journey.")
    receipt = RECEIPTS.get(request.step)
    if receipt is not None and journey.is_closed:
        raise InvalidInput(
            {"__all__": [f"This journey is closed ({journey.stage_label()}); nothing is received."]}
        )
    with transaction.atomic():
        event = record_scan(
            request,
            actor=actor,
            organization=actor.organization,  # type: ignore[arg-type]
            center=journey.center,
            facility=journey.manufacturing_facility,
            expected_attempt=journey.manufacture_attempt,
        )
        if receipt is None or not event.accepted:
            return ScanStep(event)
        return _settle(journey, receipt, event, actor)


def _receipt_items(journey: Journey, receipt: Receipt) -> QuerySet[Item]:
    items = Item.objects.filter(
        coi_din=journey.coi_din,
        manufacture_attempt=journey.manufacture_attempt,
        kind__in=receipt.kinds,
    )
    return items.filter(released_at__isnull=False) if receipt.released_only else items


def outstanding_items(journey: Journey, step: str) -> list[str]:
    """Item ids of this attempt that the receipt `step` still waits for."""
    receipt = RECEIPTS[step]
    items = _receipt_items(journey, receipt)
    received = CustodyEvent.objects.filter(
        coi_din=journey.coi_din, step=step, result=ScanResult.MATCH, item__in=items
    ).values("item_id")
    return list(
        items.exclude(pk__in=received).order_by("kind", "number").values_list("item_id", flat=True)
    )


def _settle(journey: Journey, receipt: Receipt, event: CustodyEvent, actor: User) -> ScanStep:
    journey = Journey.objects.select_for_update().select_related("center").get(pk=journey.pk)
    waiting = outstanding_items(journey, event.step)
    if waiting:
        return ScanStep(
            event,
            notes=(
                f"Still to receive before “{receipt.milestone.label}” is recorded: "
                f"{', '.join(waiting)}.",
            ),
            outstanding=tuple(waiting),
        )
    notes: list[str] = []
    milestone = None
    if guards.current_milestone(journey, receipt.milestone) is None:
        milestone = _record_receipt(journey, receipt, event, actor)
        if milestone is None:
            return ScanStep(
                event,
                notes=(
                    f"Your role may not record “{receipt.milestone.label}”; "
                    "ask the navigator to record it.",
                ),
            )
        notes.append(f"Recorded: {receipt.milestone.label}.")
    else:
        notes.append(f"“{receipt.milestone.label}” was already recorded for this attempt.")
    batch = None
    if receipt.milestone == MilestoneKind.TISSUE_RECEIVED:
        # Opened when the tissue arrived: the scan's time (one within the clock allowance ahead
        # of now opens it now).
        arrived = event.occurred_at if event.occurred_at <= timezone.now() else None
        batch, batch_note = _open_batch(journey, actor, arrived)
        if batch_note:
            notes.append(batch_note)
    advanced_to, note = _move_on(journey, receipt, actor)
    if note:
        notes.append(note)
    return ScanStep(
        event, milestone=milestone, advanced_to=advanced_to, notes=tuple(notes), batch=batch
    )


def _open_batch(
    journey: Journey, actor: User, arrived: dt.datetime | None
) -> tuple[Batch | None, str]:
    """Open the facility's batch record of this attempt, unless it exists or the receiving
    user's organization does not keep it: (the batch opened, a note when it could not be).

    A refusal never undoes the receipt: the scan and its milestone stand, and the note says
    why no batch record was opened."""
    facility = journey.manufacturing_facility
    if facility is None or not batch_policies.can_open_batch(actor, facility):
        return None, ""
    exists = Batch.objects.filter(
        coi_din=journey.coi_din, manufacture_attempt=journey.manufacture_attempt
    ).exists()
    if exists:
        return None, ""
    protocol = PROTOCOL_FILES.get(journey.protocol)
    if protocol is None:
        return None, f"No batch record opened: no protocol file for “{journey.protocol}”."
    try:
        with transaction.atomic():
            batch = batch_services.open_batch(
                coi_din=journey.coi_din,
                coi_check=journey.coi_check,
                manufacture_attempt=journey.manufacture_attempt,
                center=journey.center,
                facility=facility,
                protocol_id=protocol[0],
                protocol_version=protocol[1],
                actor=actor,
                occurred_at=arrived,
            )
    except InvalidInput as refused:
        reasons = " ".join(m for messages in refused.errors.values() for m in messages)
        return None, f"No batch record opened: {reasons}"
    return batch, ""


def _record_receipt(
    journey: Journey, receipt: Receipt, event: CustodyEvent, actor: User
) -> Milestone | None:
    item_ids = ", ".join(
        _receipt_items(journey, receipt)
        .order_by("kind", "number")
        .values_list("item_id", flat=True)
    )
    note = f"Recorded from the custody scans of {item_ids}."
    # The facility confirms receipt by its accepted scans (the guard of "At manufacturing" waits
    # for exactly that); its staff hold no milestone permission, so the fact is written for them,
    # audited under the journey like every milestone.
    facility_confirms = (
        receipt.milestone == MilestoneKind.TISSUE_RECEIVED
        and journey.manufacturing_facility_id is not None
        and actor.organization_id == journey.manufacturing_facility_id
    )
    return services.record_milestone_where_allowed(
        journey,
        actor=actor,
        kind=receipt.milestone,
        occurred_at=event.occurred_at,
        reference=event.item.item_id if event.item else "",
        note=note,
        facility_may=facility_confirms,
        recorded_at=event.created_at,
    )


def _move_on(journey: Journey, receipt: Receipt, actor: User) -> tuple[str, str]:
    """Advance into the receipt's stage when this user may; else say who does. (stage, note)"""
    target = receipt.target
    move = services.advance_where_allowed(
        journey, source=receipt.from_stage, target=target, actor=actor
    )
    if move.permitted:
        return move.stage, move.note
    roles = " or ".join(Role(r).label.lower() for r in sorted(ADVANCE_ROLES.get(target, ())))
    return "", (
        f"The journey stays in “{receipt.from_stage.label}” until the center's {roles} "
        f"moves it to “{target.label}”."
    )
