"""Custody: every handoff of an item, with the scan that was made and what it showed.

`record_scan()` always writes the custody event, accepted or not, with its audit event. A scan
that does not match raises an identity alert in the same transaction and the event is returned
all the same: the caller shows the block, and the step the scan would have completed does not
happen. Nothing about a wrong scan is ever discarded.

A COI identifier belongs to one center and, once chosen, one manufacturing facility. Their staff
with the custody permission may record scans for it; anyone else is refused and nothing is
written. The scanned text itself is judged by `tilcare.clinical.identity_scan`.

Time. A scan carries when it was made (now, unless given). That time is never ahead of now by
more than a scanner's clock allowance (`core.validation.CLOCK_ALLOWANCE`), never before the item
it names was created, and for a product bag or cassette never before QA released it or, at the
center, before the facility dispatched it. A scan dated earlier than now by more than the
allowance is a late entry (from a paper custody form after a downtime, say) and carries the
reason it was entered late: kept on the event and as the audit event's reason. Whether a
product may be used is judged at the moment it is put to use: for the receipt that accepts it at
the center and for the bedside, now, whatever time the scan carries (a late entry cannot accept a
product that has expired since); for any other step, at the scan's time. A refused time or a
missing reason writes nothing.

A scan comes in as one `ScanRequest`, built by its door and read once (normalized, its text
parsed). Every entry point (the scan page, `POST /api/v1/journeys/scans`) records through the
journey's one door, `tilcare.journey.services.custody.record_handoff`, which calls `record_scan`
with the journey's current manufacturing attempt, so the checks are the same whichever way a scan
comes in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.services import record_written
from tilcare.audit.times import audit_time
from tilcare.clinical import identity_scan
from tilcare.clinical.checkdigits import DIN_PATTERN
from tilcare.core.errors import InvalidInput, NotVisible, PermissionDenied
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime
from tilcare.core.validation import CLOCK_ALLOWANCE
from tilcare.identity import policies, selectors
from tilcare.identity.choices import (
    AlertKind,
    AlertSeverity,
    HandoffStep,
    ItemKind,
    LabelStatus,
    ScanResult,
)
from tilcare.identity.models import CustodyEvent, Item, Shipment
from tilcare.identity.services.alerts import raise_alert, subject_of

SCANNED_TEXT_MAX = 80
PARTY_MAX = 200
ITEM_ID_MAX = 24
LATE_REASON_MAX = 300
# A scan time may run this far ahead of the server's clock (instruments' clocks drift); a scan
# dated earlier than now by more than this is a late entry and says why.

_PRODUCT = frozenset({ItemKind.PRODUCT_BAG.value, ItemKind.CASSETTE.value})

# The kinds of item each step hands over (empty: any item of the journey).
STEP_KINDS: dict[str, frozenset[str]] = {
    HandoffStep.SPECIMEN_COLLECTED: frozenset({ItemKind.TUMOR_SPECIMEN.value}),
    HandoffStep.SPECIMEN_DISPATCHED: frozenset(
        {ItemKind.TUMOR_SPECIMEN.value, ItemKind.SHIPPER.value}
    ),
    HandoffStep.TISSUE_RECEIVED: frozenset({ItemKind.TUMOR_SPECIMEN.value}),
    HandoffStep.PRODUCT_DISPATCHED: _PRODUCT | {ItemKind.SHIPPER.value},
    HandoffStep.PRODUCT_RECEIVED: _PRODUCT,
    HandoffStep.PRODUCT_TO_STORAGE: _PRODUCT,
    HandoffStep.PRODUCT_TO_BEDSIDE: _PRODUCT,
    HandoffStep.BEDSIDE_CHECK: _PRODUCT,
    HandoffStep.HANDOFF: frozenset(),
}

# Steps that accept a product for use or put it to use: judged now, whatever the scan's time.
JUDGED_NOW_STEPS = frozenset(
    {
        HandoffStep.PRODUCT_RECEIVED.value,
        HandoffStep.PRODUCT_TO_BEDSIDE.value,
        HandoffStep.BEDSIDE_CHECK.value,
    }
)
# Recorded only through the infusion day's two-person check (`record_scan(..., bedside=True)`).
BEDSIDE_STEPS: tuple[HandoffStep, ...] = (HandoffStep.BEDSIDE_CHECK,)

# Who records each step: the treating center or the manufacturing facility.
CENTER_STEPS: tuple[HandoffStep, ...] = (
    HandoffStep.SPECIMEN_COLLECTED,
    HandoffStep.SPECIMEN_DISPATCHED,
    HandoffStep.PRODUCT_RECEIVED,
    HandoffStep.PRODUCT_TO_STORAGE,
    HandoffStep.PRODUCT_TO_BEDSIDE,
    HandoffStep.HANDOFF,
)
FACILITY_STEPS: tuple[HandoffStep, ...] = (
    HandoffStep.TISSUE_RECEIVED,
    HandoffStep.PRODUCT_DISPATCHED,
    HandoffStep.HANDOFF,
)

_RESULT_CHOICES = {choice.value for choice in ScanResult}
if set(identity_scan.RESULTS) != _RESULT_CHOICES:  # pragma: no cover - caught by the tests
    raise RuntimeError("tilcare.clinical.identity_scan.RESULTS and ScanResult disagree.")


def steps_for(organization: Organization | None) -> tuple[HandoffStep, ...]:
    """The handoff steps an organization records (none for an organization of neither kind)."""
    if organization is None:
        return ()
    if organization.is_facility:
        return FACILITY_STEPS
    if organization.is_center:
        return CENTER_STEPS
    return ()


def parties_of(coi_din: str) -> tuple[Organization, Organization | None]:
    """The center and facility of a COI identifier, from its registered items.

    Raises NotVisible when no item carries it (nothing is known about that identifier here)."""
    items = Item.objects.filter(coi_din=coi_din).select_related("center", "facility")
    first = items.order_by("id").first()
    if first is None:
        raise NotVisible()
    with_facility = items.filter(facility__isnull=False).order_by("id").first()
    return first.center, with_facility.facility if with_facility else None


def _kinds(step: str, expected_kind: str | Iterable[str] | None) -> frozenset[str]:
    if expected_kind is None:
        return STEP_KINDS.get(step, frozenset())
    if isinstance(expected_kind, str):
        return frozenset({str(expected_kind)})
    return frozenset(str(k) for k in expected_kind)


@dataclass(frozen=True)
class ScanRequest:
    """One scan as a door received it: the COI and step it is for, what the scanner read, the item
    and kinds expected, the parties and place, when it was made (None: now) and, for a late entry,
    why. `expected_kind` None: the kinds the step hands over (`STEP_KINDS`).

    Read once when built: the text is trimmed and upper-cased where the records keep it so, and
    the scanned text is parsed (`parsed`); every check and the recorded event use these values."""

    coi_din: str
    step: str
    scanned_text: str
    expected_item_id: str = ""
    expected_kind: str | Iterable[str] | None = None
    from_party: str = ""
    to_party: str = ""
    location: str = ""
    occurred_at: dt.datetime | None = None
    late_entry_reason: str = ""
    parsed: identity_scan.ParsedScan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = identity_scan.parse_scan(self.scanned_text or "")
        normalized = {
            "coi_din": (self.coi_din or "").strip().upper(),
            "step": str(self.step),
            "scanned_text": parsed.text,
            "expected_item_id": (self.expected_item_id or "").strip().upper(),
            "expected_kind": None
            if self.expected_kind is None
            else _kinds(str(self.step), self.expected_kind),
            "from_party": (self.from_party or "").strip(),
            "to_party": (self.to_party or "").strip(),
            "location": (self.location or "").strip(),
            "late_entry_reason": (self.late_entry_reason or "").strip(),
            "parsed": parsed,
        }
        for name, value in normalized.items():
            object.__setattr__(self, name, value)

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of item the step expects."""
        return _kinds(self.step, self.expected_kind)

    @property
    def parties(self) -> dict[str, str]:
        return {"from_party": self.from_party, "to_party": self.to_party, "location": self.location}


def _validate(request: ScanRequest, side_steps: tuple[HandoffStep, ...]) -> dict[str, list[str]]:
    coi_din, step, text = request.coi_din, request.step, request.scanned_text
    errors: dict[str, list[str]] = {}
    if not DIN_PATTERN.match(coi_din):
        errors["coi"] = [f"“{coi_din[:20]}” is not a 13-character COI identifier."]
    if step not in HandoffStep.values:
        errors["step"] = [f"Choose one of: {', '.join(HandoffStep.values)}."]
    elif step not in side_steps and step in BEDSIDE_STEPS:
        errors["step"] = [
            f"“{HandoffStep(step).label}” is recorded on the patient's infusion checklist, by two "
            "people at the bedside."
        ]
    elif step not in side_steps:
        side = "the treating center" if step in CENTER_STEPS else "the manufacturing facility"
        errors["step"] = [f"“{HandoffStep(step).label}” is recorded by {side}."]
    if not text:
        errors["scanned_text"] = ["Scan or type the label: nothing was read."]
    elif len(text) > SCANNED_TEXT_MAX:
        errors["scanned_text"] = [f"At most {SCANNED_TEXT_MAX} characters (got {len(text)})."]
    unknown = sorted(request.kinds - set(ItemKind.values))
    if unknown:
        errors["expected_kind"] = [
            f"Unknown item kind {', '.join(unknown)}; choose from {', '.join(ItemKind.values)}."
        ]
    if len(request.expected_item_id) > ITEM_ID_MAX:
        errors["expected_item_id"] = [f"At most {ITEM_ID_MAX} characters."]
    for name, value in request.parties.items():
        if len(value) > PARTY_MAX:
            errors[name] = [f"At most {PARTY_MAX} characters (got {len(value)})."]
    return errors


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%d %b %Y %H:%M UTC")


def _dispatched_at(item: Item) -> dt.datetime | None:
    """When the facility first sent the item off: its shipment's dispatch or its accepted
    dispatch scan, whichever came first (None when neither is recorded)."""
    moments = [
        Shipment.objects.filter(items=item, dispatched_at__isnull=False)
        .order_by("dispatched_at")
        .values_list("dispatched_at", flat=True)
        .first(),
        CustodyEvent.objects.filter(
            item=item, step=HandoffStep.PRODUCT_DISPATCHED, result=ScanResult.MATCH
        )
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first(),
    ]
    known = [m for m in moments if m is not None]
    return min(known) if known else None


def _time_errors(
    moment: dt.datetime | None,
    *,
    clock: dt.datetime,
    reason: str,
    item: Item | None,
    step: str,
    at_center: bool,
) -> dict[str, list[str]]:
    """What is wrong with a scan's time against now and the item's own history, and whether a
    late entry says why. `moment` None: the scan is made now."""
    errors: dict[str, list[str]] = {}
    if len(reason) > LATE_REASON_MAX:
        errors["late_entry_reason"] = [f"At most {LATE_REASON_MAX} characters (got {len(reason)})."]
    if moment is None:
        return errors
    if not isinstance(moment, dt.datetime) or timezone.is_naive(moment):
        return {**errors, "occurred_at": ["Give the date and time with its UTC offset."]}
    allowance = int(CLOCK_ALLOWANCE.total_seconds() // 60)
    if moment > clock + CLOCK_ALLOWANCE:
        errors["occurred_at"] = [
            f"The scan time cannot be in the future. It is now {_utc_text(clock)}; a scanner's "
            f"clock may run at most {allowance} minutes ahead."
        ]
        return errors
    if item is not None:
        created = selectors.item_created_at(item)
        bounds = [(created, f"item {item.item_id} was created")] if created else []
        product = item.kind in _PRODUCT
        leaving = at_center or step == HandoffStep.PRODUCT_DISPATCHED
        if product and leaving and item.released_at is not None:
            bounds.append((item.released_at, f"product {item.item_id} was released by QA"))
        if product and at_center:
            dispatched = _dispatched_at(item)
            if dispatched is not None:
                bounds.append((dispatched, f"product {item.item_id} was dispatched"))
        for bound, what in sorted(bounds, key=lambda b: b[0], reverse=True):
            if moment < bound:
                errors["occurred_at"] = [
                    f"The scan time ({_utc_text(moment)}) cannot be before {what} "
                    f"({_utc_text(bound)})."
                ]
                break
    if moment < clock - CLOCK_ALLOWANCE and not reason:
        errors["late_entry_reason"] = [
            f"This scan is dated {_utc_text(moment)}, more than {allowance} minutes before now: "
            "say why it is entered late (for example, from the paper custody form after a "
            "downtime)."
        ]
    return errors


def _label_voided(item: Item) -> bool:
    """True when the item has labels and every one of them is voided."""
    labels = item.labels.all()
    return labels.exists() and not labels.exclude(status=LabelStatus.VOIDED).exists()


def _facts(item: Item) -> identity_scan.ItemFacts:
    return identity_scan.ItemFacts(
        item_id=item.item_id,
        coi_din=item.coi_din,
        kind=item.kind,
        number=item.number,
        manufacture_attempt=item.manufacture_attempt,
        released_at=item.released_at,
        expires_at=item.expires_at,
        label_voided=_label_voided(item),
    )


def _severity(outcome: identity_scan.ScanOutcome) -> AlertSeverity:
    return AlertSeverity.CRITICAL if outcome.critical else AlertSeverity.HIGH


def record_scan(
    request: ScanRequest,
    *,
    actor: User,
    organization: Organization,
    center: Organization | None = None,
    facility: Organization | None = None,
    expected_attempt: int | None = None,
    bedside: bool = False,
) -> CustodyEvent:
    """Record one scan at a handoff of journey `request.coi_din`'s items, and judge it.

    The scan's time is bounded as the module says (a late entry needs its reason). `center` and
    `facility` are the COI's organizations when the caller knows them (the journey does); else
    they are read from the COI's items. `expected_attempt`: the journey's current manufacturing
    attempt (the journey's door always gives it). A product bag or cassette scanned at the center
    must be released and not expired at the moment of use. `bedside`: the infusion day's
    identity check, which alone records `HandoffStep.BEDSIDE_CHECK` (at the center).
    Returns the event; `event.accepted` says whether the step may go on.
    """
    coi_din, step = request.coi_din, request.step
    if center is None:
        center, facility = parties_of(coi_din)
    if bedside:
        require(
            policies.can_record_bedside_check(actor, center.pk),
            "Only a nurse or a treating physician of the treating center makes the bedside "
            "identity check.",
        )
    else:
        require(
            policies.can_record_custody(actor, center.pk, facility.pk if facility else None),
            "You may not record custody of this journey's items (it is not your organization's).",
        )
    if organization.pk != actor.organization_id:
        raise PermissionDenied("Scans are recorded for your own organization only.")
    at_center = organization.pk == center.pk
    if bedside and at_center:
        side_steps = BEDSIDE_STEPS
    else:
        side_steps = CENTER_STEPS if at_center else FACILITY_STEPS
    errors = _validate(request, side_steps)
    clock = timezone.now()
    parsed = request.parsed
    item = (
        Item.objects.filter(item_id=parsed.item_id).select_related("center", "facility").first()
        if parsed.readable and parsed.item_id
        else None
    )
    errors.update(
        _time_errors(
            request.occurred_at,
            clock=clock,
            reason=request.late_entry_reason,
            # Only this journey's own item bounds the time (another's history is not told).
            item=item if item is not None and item.coi_din == coi_din else None,
            step=step,
            at_center=at_center,
        )
    )
    if errors:
        raise InvalidInput(errors)
    moment = request.occurred_at or clock
    # Whether a product may be used is judged when it is used (see the module's docstring).
    judged_at = max(moment, clock) if step in JUDGED_NOW_STEPS else moment
    expectation = identity_scan.Expectation(
        coi_din=coi_din,
        kinds=request.kinds,
        item_id=request.expected_item_id,
        attempt=expected_attempt,
        check_release=at_center,
    )
    outcome = identity_scan.classify(
        parsed,
        expectation,
        _facts(item) if item else None,
        now=local_datetime(judged_at, center.time_zone),
    )
    with transaction.atomic():
        event = CustodyEvent.objects.create(
            coi_din=coi_din,
            item=item if item is not None and item.coi_din == coi_din else None,
            step=step,
            occurred_at=moment,
            actor=actor,
            organization=organization,
            scanned_text=request.scanned_text,
            expected_item_id=request.expected_item_id,
            result=outcome.result,
            message=outcome.message[:300],
            late_entry_reason=request.late_entry_reason,
            **request.parties,
        )
        record_written(
            Action.CUSTODY_RECORD,
            event,
            actor=actor,
            reason=request.late_entry_reason,
            subject_id=subject_of(coi_din),
            occurred_at=audit_time(event, moment),
        )
        if not outcome.accepted:
            _alert_mismatch(event, outcome, item, center=center, facility=facility, actor=actor)
    return event


def _alert_mismatch(
    event: CustodyEvent,
    outcome: identity_scan.ScanOutcome,
    item: Item | None,
    *,
    center: Organization,
    facility: Organization | None,
    actor: User,
) -> None:
    step = HandoffStep(event.step).label
    raise_alert(
        coi_din=event.coi_din,
        kind=AlertKind.SCAN_MISMATCH,
        severity=_severity(outcome),
        message=f"{step}: {outcome.message}",
        center=center,
        facility=facility,
        actor=actor,
        custody_event=event,
        at=event.occurred_at,
    )
    if item is not None and item.coi_din != event.coi_din:
        # The other journey's item is out of place: its own center and facility must know too.
        raise_alert(
            coi_din=item.coi_din,
            kind=AlertKind.SCAN_MISMATCH,
            severity=AlertSeverity.CRITICAL,
            message=(
                f"{item.item_id} of this journey was scanned at {event.organization.name} "
                f"for another journey ({identity_scan.spaced(event.coi_din)}), step “{step}”. "
                "Find where it is and bring it back under its own journey."
            ),
            center=item.center,
            facility=item.facility,
            actor=actor,
            custody_event=event,
            at=event.occurred_at,
        )
