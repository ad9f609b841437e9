"""Items and their labels: create an item, print a label copy, mark it applied, void it.

Labels are reconciled (FACT-JACIE): every printed copy is kept with who printed it and when, and
ends either applied to its item or voided with a reason. A reprint is a new copy; nothing is
deleted. Each function checks its policy, validates, writes in one transaction and records its
audit event in that transaction, under the COI identifier as subject (never the patient).

An item, a print or an application entered after the fact takes `occurred_at=`: the label keeps
that time as when it was printed or applied, and the audit event is dated then (and keeps when it
was recorded); never later than now, nor before what the trail already holds about the item.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import check_occurred_at, record_written
from tilcare.audit.times import audit_time
from tilcare.clinical.checkdigits import DIN_PATTERN, IdentifierError, mod37_2
from tilcare.core.errors import Conflict, InvalidInput, PermissionDenied
from tilcare.core.policy import require
from tilcare.core.validation import clean_text
from tilcare.identity import policies, selectors
from tilcare.identity.choices import (
    ITEM_CODES,
    MANUFACTURE_ATTEMPT_MAX,
    MANUFACTURE_ATTEMPT_MIN,
    ItemKind,
    LabelStatus,
)
from tilcare.identity.models import Item, Label
from tilcare.identity.services.alerts import subject_of
from tilcare.patients.policies import can_view_typed_text

DESCRIPTION_MAX = 200
STORAGE_MAX = 80
VOID_REASON_MAX = 200
MAX_ITEMS_PER_KIND = 99  # the item id has two digits for the number
MAX_SHELF_LIFE = dt.timedelta(days=10 * 365)
STORAGE_EXAMPLES = (
    "≤ −150 °C (vapor phase of liquid nitrogen)",
    "2–8 °C",
    "15–25 °C",
)
STORAGE_HELP = (
    "In °C, as a limit (“≤ −150 °C”) or a range (“2–8 °C”), optionally followed by a note "
    f"(“(vapor phase of liquid nitrogen)”); at most {STORAGE_MAX} characters."
)

_NUMBER = r"[−-]?\d{1,3}(?:[.,]\d{1,2})?"
_LIMIT = re.compile(
    rf"^(?:≤|≥|<=|>=|<|>|at or below|at or above|below|above)\s*({_NUMBER})\s*°\s*C(?=$|[\s,;(])",
    re.IGNORECASE,
)
_RANGE = re.compile(rf"^({_NUMBER})\s*(?:–|—|-|to)\s*({_NUMBER})\s*°\s*C(?=$|[\s,;(])", re.I)
_LOWEST_C, _HIGHEST_C = Decimal("-273"), Decimal("60")


def _celsius(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace("−", "-").replace(",", "."))
    except InvalidOperation:
        return None
    return value if _LOWEST_C <= value <= _HIGHEST_C else None


def clean_storage_temperature(value: str) -> str:
    """The storage temperature as typed (spaces tidied), or InvalidInput naming what is wrong."""
    text = clean_text("storage_temperature", value, max_length=STORAGE_MAX, one_line=True)
    if not text:
        return ""
    limit, span = _LIMIT.match(text), _RANGE.match(text)
    bounds = [limit.group(1)] if limit else [span.group(1), span.group(2)] if span else []
    values = [v for v in (_celsius(b) for b in bounds) if v is not None]
    if not bounds or len(values) != len(bounds):
        raise InvalidInput(
            {
                "storage_temperature": [
                    "Not a storage temperature in °C: give a limit (“≤ −150 °C”) or a range "
                    "(“2–8 °C”), then any note."
                ]
            }
        )
    if len(values) == 2 and values[0] >= values[1]:
        raise InvalidInput(
            {"storage_temperature": ["The range must go from the lower to the higher value."]}
        )
    return text


def storage_temperature_alone(value: str) -> str:
    """The storage temperature without the note typed after it ("≤ −150 °C (vapor phase of
    liquid nitrogen)" -> "≤ −150 °C"): what a reader who may not read the item's typed text
    (`policies.can_view_item_text`) is shown. "" when nothing was set."""
    text = " ".join((value or "").split())
    found = _LIMIT.match(text) or _RANGE.match(text)
    return found.group(0).strip() if found else ""


def clean_expiry(value: dt.datetime | None, *, now: dt.datetime) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise InvalidInput({"expires_at": ["Give the expiry as a date and time with its zone."]})
    if value <= now:
        raise InvalidInput({"expires_at": ["The expiry must be in the future."]})
    if value > now + MAX_SHELF_LIFE:
        raise InvalidInput({"expires_at": ["The expiry must be within 10 years from now."]})
    return value


def _clean_coi(coi_din: str, coi_check: str) -> tuple[str, str]:
    din = (coi_din or "").strip().upper().replace(" ", "")
    check = (coi_check or "").strip().upper()
    if not DIN_PATTERN.match(din):
        raise InvalidInput(
            {
                "coi_din": [
                    "Not an ISBT 128 donation identification number: 13 characters, the "
                    "facility number (5), the year (2) and the sequence (6)."
                ]
            }
        )
    try:
        expected = mod37_2(din).character
    except IdentifierError as exc:  # pragma: no cover - the pattern admits only valid characters
        raise InvalidInput({"coi_din": [str(exc)]}) from exc
    if len(check) != 1 or check != expected:
        raise InvalidInput(
            {
                "coi_check": [
                    f"Check character “{check}” does not match {din}: the ISO 7064 Mod 37-2 "
                    f"check character is “{expected}”. The identifier was mistyped or misread."
                ]
            }
        )
    return din, check


def _clean_item_fields(
    *,
    kind: str,
    center: Organization,
    facility: Organization | None,
    description: str,
    manufacture_attempt: int,
) -> str:
    if kind not in ItemKind.values:
        choices = ", ".join(ItemKind.values)
        raise InvalidInput({"kind": [f"Unknown kind of item; choose one of: {choices}."]})
    if not center.is_center:
        raise InvalidInput({"center": ["The center must be a treatment center."]})
    if facility is not None and not facility.is_facility:
        raise InvalidInput({"facility": ["The facility must be a manufacturing facility."]})
    text = clean_text(
        "description",
        description,
        max_length=DESCRIPTION_MAX,
        required="Describe the item (required).",
        one_line=True,
    )
    if not MANUFACTURE_ATTEMPT_MIN <= manufacture_attempt <= MANUFACTURE_ATTEMPT_MAX:
        raise InvalidInput(
            {
                "manufacture_attempt": [
                    f"Manufacture attempt must be a whole number from {MANUFACTURE_ATTEMPT_MIN} "
                    f"to {MANUFACTURE_ATTEMPT_MAX} (got {manufacture_attempt})."
                ]
            }
        )
    return text


def _check_parties(coi_din: str, center: Organization, actor: User) -> None:
    """Items of one COI belong to the center that issued it, checked always (whoever acts, and
    whether or not the center has a facility identification number); the first one is made by
    that center's staff. A refusal writes nothing."""
    if not selectors.coi_issued_by(coi_din, center):
        fin = (center.isbt_fin or "").upper()
        if fin and coi_din[:5] != fin:
            message = (
                f"This COI identifier was not issued by this center: its facility number is "
                f"{coi_din[:5]}, the center's is {center.isbt_fin}."
            )
        else:
            message = (
                "This COI identifier was not issued by this center: items are made only for the "
                "chain-of-identity numbers of the center's own journeys."
            )
        raise Conflict({"coi_din": [message]})
    existing = Item.objects.filter(coi_din=coi_din).values_list("center_id", flat=True).first()
    if existing is not None:
        if existing != center.pk:
            raise Conflict({"coi_din": ["This COI identifier's items belong to another center."]})
        return
    if actor.organization_id != center.pk:
        raise PermissionDenied("The first item of a COI identifier is created by its center.")


def void_reason_visible(user: Any, label: Label) -> bool:
    """A void reason is typed text and may name the patient by mistake: it is shown to the
    organization of the person who voided the label and to the center's staff who may see
    patient identity (the same rule as every typed text a facility may come across)."""
    if label.voided_by is None:
        return False
    return can_view_typed_text(
        user,
        author_organization_id=label.voided_by.organization_id,
        center_id=label.item.center_id,
    )


def _check_after_item(item: Item, occurred_at: dt.datetime | None) -> None:
    """A label's print or application dated earlier than now: not before the item's history."""
    if occurred_at is None:
        return
    check_occurred_at(occurred_at, now=timezone.now())
    if audit_time(item, occurred_at) is None:
        raise InvalidInput(
            {
                "occurred_at": [
                    f"The time it happened cannot be before the last recorded change of item "
                    f"{item.item_id}."
                ]
            }
        )


def create_item(
    *,
    coi_din: str,
    coi_check: str,
    kind: str,
    center: Organization,
    facility: Organization | None,
    description: str,
    actor: User,
    manufacture_attempt: int = 1,
    expires_at: dt.datetime | None = None,
    storage_temperature: str = "",
    occurred_at: dt.datetime | None = None,
) -> Item:
    """A new item of the COI, numbered after the COI's items of the same kind (BG01, BG02 …).
    `occurred_at`: when it was made, if earlier than now."""
    require(
        policies.can_create_item(actor, center.pk, facility.pk if facility else None),
        "You may not create items for this center or facility.",
    )
    din, check = _clean_coi(coi_din, coi_check)
    text = _clean_item_fields(
        kind=kind,
        center=center,
        facility=facility,
        description=description,
        manufacture_attempt=manufacture_attempt,
    )
    storage = clean_storage_temperature(storage_temperature)
    expiry = clean_expiry(expires_at, now=timezone.now())
    if occurred_at is not None:
        check_occurred_at(occurred_at, now=timezone.now())
    _check_parties(din, center, actor)
    with transaction.atomic():
        # Lock the COI's items so two people adding the same kind at once get different numbers;
        # the unique constraint catches the race on the very first item.
        list(Item.objects.select_for_update().filter(coi_din=din).values_list("pk", flat=True))
        last = Item.objects.filter(coi_din=din, kind=kind).aggregate(n=Max("number"))["n"] or 0
        if last >= MAX_ITEMS_PER_KIND:
            label = ItemKind(kind).label.lower()
            raise InvalidInput(
                {"kind": [f"At most {MAX_ITEMS_PER_KIND} items of kind “{label}” per COI."]}
            )
        number = last + 1
        try:
            with transaction.atomic():
                item = Item.objects.create(
                    coi_din=din,
                    coi_check=check,
                    manufacture_attempt=manufacture_attempt,
                    kind=kind,
                    number=number,
                    item_id=f"{din}-{ITEM_CODES[kind]}{number:02d}",
                    center=center,
                    facility=facility,
                    description=text,
                    expires_at=expiry,
                    storage_temperature=storage,
                    created_by=actor,
                )
        except IntegrityError:
            raise InvalidInput(
                {"__all__": ["Another item was numbered at the same moment. Submit again."]}
            ) from None
        record_written(
            Action.ITEM_CREATE,
            item,
            actor=actor,
            subject_id=subject_of(din),
            occurred_at=occurred_at,
        )
    return item


def print_label(item: Item, *, actor: User, occurred_at: dt.datetime | None = None) -> Label:
    """A new printed copy of the item's label (copy 1, 2, …); reprints are copies too.
    `occurred_at`: when it was printed, if earlier than now."""
    require(policies.can_print_label(actor, item), "You may not print labels for this item.")
    with transaction.atomic():
        item = Item.objects.select_for_update().get(pk=item.pk)
        _check_after_item(item, occurred_at)
        last = item.labels.aggregate(n=Max("copy_number"))["n"] or 0
        label = Label.objects.create(
            item=item,
            copy_number=last + 1,
            status=LabelStatus.PRINTED,
            printed_at=occurred_at or timezone.now(),
            printed_by=actor,
        )
        record_written(
            Action.LABEL_PRINT,
            label,
            actor=actor,
            subject_id=subject_of(item.coi_din),
            occurred_at=audit_time(label, label.printed_at),
        )
    return label


def apply_label(label: Label, *, actor: User, occurred_at: dt.datetime | None = None) -> Label:
    """Record that this printed copy is now on its item. `occurred_at`: when it was applied, if
    earlier than now (not before it was printed)."""
    require(policies.can_print_label(actor, label.item), "You may not handle this item's labels.")
    with transaction.atomic():
        label = Label.objects.select_for_update().select_related("item").get(pk=label.pk)
        if label.status == LabelStatus.VOIDED:
            raise InvalidInput(
                {"__all__": [f"Label copy {label.copy_number} was voided: it cannot be applied."]}
            )
        if label.status == LabelStatus.APPLIED:
            raise InvalidInput({"__all__": [f"Label copy {label.copy_number} is already applied."]})
        before = snapshot(label)
        label.status = LabelStatus.APPLIED
        label.applied_at = occurred_at or timezone.now()
        label.applied_by = actor
        label.save()
        record_written(
            Action.LABEL_APPLY,
            label,
            actor=actor,
            before=before,
            subject_id=subject_of(label.item.coi_din),
            occurred_at=occurred_at or audit_time(label, label.applied_at),
        )
    return label


def void_label(label: Label, *, actor: User, reason: str) -> Label:
    """Void a printed or applied copy (damaged, misprinted, removed), with the reason."""
    require(policies.can_print_label(actor, label.item), "You may not handle this item's labels.")
    reason = clean_text(
        "reason",
        reason,
        max_length=VOID_REASON_MAX,
        required="Say why the label is voided (required).",
        one_line=True,
    )
    with transaction.atomic():
        label = Label.objects.select_for_update().select_related("item").get(pk=label.pk)
        if label.status == LabelStatus.VOIDED:
            raise InvalidInput({"__all__": [f"Label copy {label.copy_number} is already voided."]})
        before = snapshot(label)
        label.status = LabelStatus.VOIDED
        label.voided_at = timezone.now()
        label.voided_by = actor
        label.void_reason = reason
        label.save()
        record_written(
            Action.LABEL_VOID,
            label,
            actor=actor,
            before=before,
            reason=reason,
            subject_id=subject_of(label.item.coi_din),
        )
    return label
