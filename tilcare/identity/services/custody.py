"""Custody: every handoff of an item, with the scan that was made and what it showed.

`record_scan()` always writes the custody event, accepted or not, with its audit event. A scan
that does not match raises an identity alert in the same transaction and the event is returned
all the same: the caller shows the block, and the step the scan would have completed does not
happen. Nothing about a wrong scan is ever discarded.

A COI identifier belongs to one center and, once chosen, one manufacturing facility. Their staff
with the custody permission may record scans for it; anyone else is refused and nothing is
written. The scanned text itself is judged by `tilcare.clinical.identity_scan`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.accounts.roles import Perm
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_event
from tilcare.audit.times import audit_time
from tilcare.clinical import identity_scan
from tilcare.clinical.checkdigits import DIN_PATTERN
from tilcare.core.errors import InvalidInput, NotVisible, PermissionDenied
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime
from tilcare.identity import policies
from tilcare.identity.choices import (
    AlertKind,
    AlertSeverity,
    HandoffStep,
    ItemKind,
    LabelStatus,
    ScanResult,
)
from tilcare.identity.models import CustodyEvent, IdentityAlert, Item
from tilcare.identity.services.alerts import raise_alert, subject_of

SCANNED_TEXT_MAX = 80
PARTY_MAX = 200
ITEM_ID_MAX = 24

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
    HandoffStep.HANDOFF: frozenset(),
}

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


def typed_text_visible(user: Any, event: CustodyEvent) -> bool:
    """May `user` read what a person typed on this event (scanned text, parties, location)?

    Typed text may name the patient by mistake, so it is shown to those who may see patient
    identity and to the organization that recorded it; a facility sees its own entries only.
    """
    if getattr(user, "organization_id", None) == event.organization_id:
        return True
    return bool(getattr(user, "has_perm_code", None)) and bool(
        user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY)
    )


def note_visible(user: Any, alert: IdentityAlert) -> bool:
    """An alert's acknowledgement note is typed text too: shown to the organization of the
    person who wrote it and to those who may see patient identity."""
    by = alert.acknowledged_by
    if alert.acknowledged_at is None or by is None:
        return False
    if by.organization_id == getattr(user, "organization_id", None):
        return True
    return bool(getattr(user, "has_perm_code", None)) and bool(
        user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY)
    )


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


def _validate(
    *,
    coi_din: str,
    step: str,
    text: str,
    side_steps: tuple[HandoffStep, ...],
    kinds: frozenset[str],
    expected_item_id: str,
    parties: dict[str, str],
) -> None:
    errors: dict[str, list[str]] = {}
    if not DIN_PATTERN.match(coi_din):
        errors["coi"] = [f"“{coi_din[:20]}” is not a 13-character COI identifier."]
    if step not in HandoffStep.values:
        errors["step"] = [f"Choose one of: {', '.join(HandoffStep.values)}."]
    elif step not in side_steps:
        side = "the treating center" if step in CENTER_STEPS else "the manufacturing facility"
        errors["step"] = [f"“{HandoffStep(step).label}” is recorded by {side}."]
    if not text:
        errors["scanned_text"] = ["Scan or type the label: nothing was read."]
    elif len(text) > SCANNED_TEXT_MAX:
        errors["scanned_text"] = [f"At most {SCANNED_TEXT_MAX} characters (got {len(text)})."]
    unknown = sorted(kinds - set(ItemKind.values))
    if unknown:
        errors["expected_kind"] = [
            f"Unknown item kind {', '.join(unknown)}; choose from {', '.join(ItemKind.values)}."
        ]
    if len(expected_item_id) > ITEM_ID_MAX:
        errors["expected_item_id"] = [f"At most {ITEM_ID_MAX} characters."]
    for name, value in parties.items():
        if len(value) > PARTY_MAX:
            errors[name] = [f"At most {PARTY_MAX} characters (got {len(value)})."]
    if errors:
        raise InvalidInput(errors)


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
    *,
    coi_din: str,
    step: str,
    scanned_text: str,
    actor: User,
    organization: Organization,
    expected_item_id: str = "",
    expected_kind: str | Iterable[str] | None = None,
    from_party: str = "",
    to_party: str = "",
    location: str = "",
    now: dt.datetime | None = None,
    center: Organization | None = None,
    facility: Organization | None = None,
    expected_attempt: int | None = None,
) -> CustodyEvent:
    """Record one scan at a handoff of journey `coi_din`'s items, and judge it.

    `expected_kind` defaults to the kinds the step hands over (`STEP_KINDS`). `center` and
    `facility` are the COI's organizations when the caller knows them (the journey does); else
    they are read from the COI's items. A product bag or cassette scanned at the center must be
    released and not expired. Returns the event; `event.accepted` says whether the step may go on.
    """
    coi_din = (coi_din or "").strip().upper()
    if center is None:
        center, facility = parties_of(coi_din)
    require(
        policies.can_record_custody(actor, center.pk, facility.pk if facility else None),
        "You may not record custody of this journey's items (it is not your organization's).",
    )
    if organization.pk != actor.organization_id:
        raise PermissionDenied("Scans are recorded for your own organization only.")
    text = identity_scan.parse_scan(scanned_text or "").text
    at_center = organization.pk == center.pk
    kinds = _kinds(step, expected_kind)
    parties = {
        "from_party": from_party.strip(),
        "to_party": to_party.strip(),
        "location": location.strip(),
    }
    expected_item_id = expected_item_id.strip().upper()
    _validate(
        coi_din=coi_din,
        step=step,
        text=text,
        side_steps=CENTER_STEPS if at_center else FACILITY_STEPS,
        kinds=kinds,
        expected_item_id=expected_item_id,
        parties=parties,
    )
    moment = now or timezone.now()
    parsed = identity_scan.parse_scan(text)
    item = (
        Item.objects.filter(item_id=parsed.item_id).select_related("center", "facility").first()
        if parsed.readable and parsed.item_id
        else None
    )
    expectation = identity_scan.Expectation(
        coi_din=coi_din,
        kinds=kinds,
        item_id=expected_item_id,
        attempt=expected_attempt,
        check_release=at_center,
    )
    outcome = identity_scan.classify(
        parsed,
        expectation,
        _facts(item) if item else None,
        now=local_datetime(moment, center.time_zone),
    )
    with transaction.atomic():
        event = CustodyEvent.objects.create(
            coi_din=coi_din,
            item=item if item is not None and item.coi_din == coi_din else None,
            step=step,
            occurred_at=moment,
            actor=actor,
            organization=organization,
            scanned_text=text,
            expected_item_id=expected_item_id,
            result=outcome.result,
            message=outcome.message[:300],
            **parties,
        )
        record_event(
            "identity.custody.record",
            event,
            actor=actor,
            after=snapshot(event),
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
