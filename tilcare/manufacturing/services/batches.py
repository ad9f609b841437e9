"""Every write to a batch record: opening it, moving it along its workflow, tissue receipt and
the planned harvest, REP counts. Cultures, the screen import and the selection are written by
`services.screen`.

Each function checks its policy (`batch_policies`), validates with messages that name the field
and the limit, writes in one transaction with the batch row locked, and records the audit event
in it (subject: the COI identifier, never the patient). A refused call leaves nothing written.

The workflow is the table `choices.BATCH_WORKFLOW`; `advance_batch` checks, in order: the
user may see the batch, the table allows the move, the user's role may make it, the move's own
rule (a reason to reject), then every guard of the target (`batch_selectors.GUARDS`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import check_occurred_at, record_written
from tilcare.audit.times import audit_time
from tilcare.clinical.checkdigits import DIN_PATTERN, mod37_2
from tilcare.clinical.identity_scan import coi_display, spaced
from tilcare.core.db import create_unless_taken
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime, local_today
from tilcare.core.validation import TextWords, check_text
from tilcare.identity import selectors as identity_selectors
from tilcare.identity.services.alerts import subject_of
from tilcare.manufacturing import policies
from tilcare.manufacturing.choices import ATTEMPT_MAX, ATTEMPT_MIN, BATCH_WORKFLOW, BatchStatus
from tilcare.manufacturing.models import Batch, BatchTransition, RepCount, TissueReceipt
from tilcare.manufacturing.selectors.batches import status_label
from tilcare.manufacturing.services.steps import (
    NOTE_MAX,
    check_moment,
    check_number,
    exact,
    locked_batch,
    require_status,
)
from tilcare.manufacturing.services.workflow import REASON_MAX, move_batch
from tilcare.protocols.loader import ProtocolNotFound, load_protocol

WEIGHT_MIN_G, WEIGHT_MAX_G = Decimal("0.001"), Decimal(500)
FRAGMENTS_MIN, FRAGMENTS_MAX = 1, 200
# A REP runs about two weeks; 60 days catches a typing slip (day 80 for day 8).
REP_DAY_MAX = 60
# 10¹³ cells is over 100× the largest TIL product in the reference notes (2 × 10¹¹).
REP_CELLS_MAX = Decimal("1E13")
HARVEST_HORIZON_DAYS = 60
# The harvest date can be planned from the tissue's arrival until the harvest.
PLANNABLE = (
    BatchStatus.TISSUE_RECEIVED,
    BatchStatus.PRE_REP,
    BatchStatus.SCREENING,
    BatchStatus.REP,
)
NOT_RECORDER = "Only the facility's manufacturing technologists record batch steps."


# --- opening and moving the batch ---------------------------------------------------------------


def _open_errors(
    coi_din: str, coi_check: str, attempt: Any, center: Organization, facility: Organization
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not DIN_PATTERN.match(coi_din):
        errors["coi_din"] = [
            f"COI identifier must be the 13-character ISBT 128 identifier; got “{coi_din}”."
        ]
    elif coi_check != mod37_2(coi_din).character:
        errors["coi_check"] = [
            f"Check character “{coi_check}” does not match {spaced(coi_din)}: expected "
            f"“{mod37_2(coi_din).character}”."
        ]
    elif (
        center.isbt_fin and coi_din[:5] != center.isbt_fin.upper()
    ) or not identity_selectors.coi_issued_by(coi_din, center):
        errors["coi_din"] = [f"{spaced(coi_din)} was not issued by {center.name}."]
    if isinstance(attempt, bool) or not isinstance(attempt, int):
        attempt = None
    if attempt is None or not ATTEMPT_MIN <= attempt <= ATTEMPT_MAX:
        errors["manufacture_attempt"] = [
            f"Manufacture attempt must be a whole number from {ATTEMPT_MIN} to {ATTEMPT_MAX}."
        ]
    if center.kind != OrganizationKind.CENTER:
        errors["center"] = [f"{center.name} is not a treatment center."]
    if facility.kind != OrganizationKind.FACILITY:
        errors["facility"] = [f"{facility.name} is not a manufacturing facility."]
    return errors


def open_batch(
    *,
    coi_din: str,
    coi_check: str,
    manufacture_attempt: int,
    center: Organization,
    facility: Organization,
    protocol_id: str,
    protocol_version: str,
    actor: User,
    occurred_at: dt.datetime | None = None,
) -> Batch:
    """Open the batch record of one manufacturing attempt when its tissue has arrived.

    `occurred_at`: when the tissue arrived (the receiving scan), if earlier than now: the batch's
    opening (`opened_at`), its first status and its audit event are dated then, and keep when
    they were recorded.
    """
    require(
        policies.can_open_batch(actor, facility),
        "Only the manufacturing facility's staff open its batch records.",
    )
    coi_din = (coi_din or "").strip().upper().replace(" ", "")
    coi_check = (coi_check or "").strip().upper()
    errors = _open_errors(coi_din, coi_check, manufacture_attempt, center, facility)
    try:
        load_protocol(protocol_id, protocol_version)
    except ProtocolNotFound as missing:
        errors["protocol_id"] = [str(missing)]
    if errors:
        raise InvalidInput(errors)
    taken = InvalidInput(
        {
            "coi_din": [
                f"{coi_display(coi_din, coi_check)} already has a batch for manufacture attempt "
                f"{manufacture_attempt}."
            ]
        }
    )
    recorded = timezone.now()
    if occurred_at is not None:
        check_occurred_at(occurred_at, now=recorded)
    now = occurred_at or recorded
    with transaction.atomic():
        # A colleague's scan may open the same batch at the same moment: one of the two is told.
        batch = create_unless_taken(
            Batch,
            taken,
            {"coi_din": coi_din, "manufacture_attempt": manufacture_attempt},
            coi_check=coi_check,
            center=center,
            facility=facility,
            protocol_id=protocol_id,
            protocol_version=protocol_version,
            status=BatchStatus.TISSUE_RECEIVED,
            status_changed_at=now,
            opened_at=now,
            created_by=actor,
        )
        BatchTransition.objects.create(
            batch=batch,
            from_status="",
            to_status=BatchStatus.TISSUE_RECEIVED,
            occurred_at=now,
            recorded_at=recorded,
            actor=actor,
            reason="Batch opened: tissue received at the facility.",
        )
        record_written(
            Action.BATCH_OPEN, batch, actor=actor, subject_id=subject_of(coi_din),
            occurred_at=occurred_at,
        )  # fmt: skip
    return batch


REASON_TOO_LONG = "Reason can be at most {max_length} characters ({length})."
_REASON_REQUIRED = {
    BatchStatus.REJECTED: "Reason for rejecting the batch is required.",
    BatchStatus.STOPPED: "Reason for stopping the batch is required (who asked, and when).",
}
_NOTE_WORDS = TextWords(too_long="Note can be at most {max_length} characters ({length}).")


def advance_batch(
    batch: Batch,
    to_status: str,
    *,
    actor: User,
    reason: str = "",
    rep_started_on: dt.date | None = None,
    occurred_at: dt.datetime | None = None,
) -> Batch:
    """Move the batch to `to_status`. Entering the REP records its start date (day 0): today
    where the facility is, or `rep_started_on` when the record follows the bench.
    `occurred_at`: when the change happened, if earlier than now (see `move_batch`)."""
    require(policies.can_view_batch(actor, batch), "You may not see this batch.")
    if to_status not in BatchStatus.values:
        raise InvalidInput({"to_status": [f"“{to_status}” is not a batch status."]})
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = locked_batch(batch)
        BATCH_WORKFLOW.check(BatchStatus(locked.status), BatchStatus(to_status))
        require(
            policies.can_advance_batch(actor, locked, to_status),
            f"Your role may not move a batch to “{status_label(to_status)}”.",
        )
        errors: dict[str, list[str]] = {}
        words = TextWords(required=_REASON_REQUIRED.get(to_status), too_long=REASON_TOO_LONG)
        reason = check_text(errors, "reason", reason, max_length=REASON_MAX, words=words)
        today = local_today(locked.facility.time_zone)
        if to_status == BatchStatus.REP:
            start = rep_started_on or today
            if start > today:
                errors["rep_started_on"] = [f"REP start {start} is after today ({today})."]
            elif start < local_datetime(locked.opened_at, locked.facility.time_zone).date():
                errors["rep_started_on"] = [f"REP start {start} is before the tissue arrived."]
        if errors:
            raise InvalidInput(errors)
        rep_start = {"rep_started_on": rep_started_on or today}
        move_batch(
            locked,
            to_status,
            actor=actor,
            reason=reason,
            also_set=rep_start if to_status == BatchStatus.REP else None,
            occurred_at=occurred_at,
        )
    return locked


# --- tissue receipt and the harvest plan --------------------------------------------------------


def record_tissue_receipt(
    batch: Batch,
    *,
    received_at: dt.datetime,
    weight_g: Decimal,
    fragments: int,
    actor: User,
    note: str = "",
) -> TissueReceipt:
    require(policies.can_record_batch_step(actor, batch), NOT_RECORDER)
    errors: dict[str, list[str]] = {}
    note = check_text(errors, "note", note, max_length=NOTE_MAX, words=_NOTE_WORDS)
    check_number(
        errors, "weight_g", weight_g, label="Tissue weight", unit="g",
        minimum=WEIGHT_MIN_G, maximum=WEIGHT_MAX_G, places=3,
    )  # fmt: skip
    check_number(
        errors, "fragments", fragments, label="Fragments", unit="fragments",
        minimum=Decimal(FRAGMENTS_MIN), maximum=Decimal(FRAGMENTS_MAX), places=0, whole=True,
    )  # fmt: skip
    check_moment(errors, "received_at", received_at, label="Received at")
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        locked = locked_batch(batch)
        require_status(locked, (BatchStatus.TISSUE_RECEIVED,), "The tissue receipt")
        if TissueReceipt.objects.filter(batch=locked).exists():
            raise InvalidInput({"__all__": ["The tissue receipt of this batch is recorded."]})
        receipt = TissueReceipt.objects.create(
            batch=locked, received_at=received_at, weight_g=exact(weight_g, 3), fragments=fragments,
            note=note, recorded_by=actor,
        )  # fmt: skip
        record_written(
            Action.TISSUE_RECEIPT_RECORD, receipt, actor=actor,
            subject_id=subject_of(locked.coi_din),
            occurred_at=audit_time(receipt, received_at),
        )  # fmt: skip
    return receipt


def plan_harvest(
    batch: Batch,
    *,
    planned_harvest_on: dt.date,
    actor: User,
    occurred_at: dt.datetime | None = None,
) -> Batch:
    """Set (or change) the planned harvest date; the forecast is made for that day.
    `occurred_at`: when the plan was made, if earlier than now (the window is counted from that
    day, where the facility is)."""
    require(policies.can_record_batch_step(actor, batch), NOT_RECORDER)
    if not isinstance(planned_harvest_on, dt.date):
        raise InvalidInput({"planned_harvest_on": ["Planned harvest date is required."]})
    if occurred_at is not None:
        check_occurred_at(occurred_at, now=timezone.now())
    with transaction.atomic():
        locked = locked_batch(batch)
        require_status(locked, PLANNABLE, "The harvest date")
        if occurred_at is None:
            today = local_today(locked.facility.time_zone)
        else:
            today = local_datetime(occurred_at, locked.facility.time_zone).date()
        planned_day = "today" if occurred_at is None else "the day it was planned"
        earliest = max(filter(None, (locked.rep_started_on, today)))
        latest = today + dt.timedelta(days=HARVEST_HORIZON_DAYS)
        if not earliest <= planned_harvest_on <= latest:
            raise InvalidInput(
                {
                    "planned_harvest_on": [
                        f"Planned harvest date must be from {earliest} ({planned_day} or the REP "
                        f"start, whichever is later) to {latest} ({HARVEST_HORIZON_DAYS} days "
                        "ahead)."
                    ]
                }
            )
        if locked.planned_harvest_on == planned_harvest_on:
            return locked
        before = snapshot(locked)
        locked.planned_harvest_on = planned_harvest_on
        locked.save(update_fields=["planned_harvest_on", "updated_at"])
        record_written(
            Action.BATCH_PLAN_HARVEST, locked, actor=actor, before=before,
            subject_id=subject_of(locked.coi_din),
            occurred_at=occurred_at,
        )  # fmt: skip
    return locked


# --- REP counts ----------------------------------------------------------------------------------


def _count_errors(
    item: Mapping[str, Any], prefix: str, start: dt.date | None, time_zone: str
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    check_number(
        errors, f"{prefix}day", item.get("day"), label="REP day", unit="days",
        minimum=Decimal(0), maximum=Decimal(REP_DAY_MAX), places=0, whole=True,
    )  # fmt: skip
    check_number(
        errors, f"{prefix}viable_cells", item.get("viable_cells"), label="Viable cells",
        unit="cells", minimum=Decimal(1), maximum=REP_CELLS_MAX, places=0,
    )  # fmt: skip
    check_number(
        errors, f"{prefix}viability_percent", item.get("viability_percent"), label="Viability",
        unit="%", minimum=Decimal(0), maximum=Decimal(100), places=1,
    )  # fmt: skip
    counted_at = item.get("counted_at")
    check_moment(errors, f"{prefix}counted_at", counted_at, label="Counted at")
    if start is not None and not errors:
        on = local_datetime(counted_at, time_zone).date()  # type: ignore[arg-type]
        if (on - start).days != item["day"]:
            errors[f"{prefix}day"] = [
                f"Day {item['day']} does not match the count date {on}: the REP started on "
                f"{start} (day 0), so {on} is day {(on - start).days}."
            ]
    return errors


def record_rep_counts(
    batch: Batch, *, counts: Sequence[Mapping[str, Any]], actor: User
) -> list[RepCount]:
    """Record daily counts (`day`, `viable_cells` in cells, `viability_percent`, `counted_at`),
    all of them or none: an instrument's list is refused whole if one count is wrong."""
    require(policies.can_record_batch_step(actor, batch), NOT_RECORDER)
    if not counts:
        raise InvalidInput({"counts": ["Give at least one count."]})
    single = len(counts) == 1
    with transaction.atomic():
        locked = locked_batch(batch)
        require_status(locked, (BatchStatus.REP,), "REP counts")
        tz = locked.facility.time_zone
        errors: dict[str, list[str]] = {}
        taken = dict(RepCount.objects.filter(batch=locked).values_list("day", "counted_at"))
        seen: dict[Any, int] = {}
        for i, item in enumerate(counts):
            prefix = "" if single else f"counts.{i}."
            item_errors = _count_errors(item, prefix, locked.rep_started_on, tz)
            day = item.get("day")
            if not item_errors and day in taken:
                item_errors[f"{prefix}day"] = [f"Day {day} already has a count."]
            elif not item_errors and day in seen:
                item_errors[f"{prefix}day"] = [f"Day {day} is also count {seen[day] + 1} here."]
            seen.setdefault(day, i)
            errors.update(item_errors)
        if errors:
            raise InvalidInput(errors)
        created = []
        for item in counts:
            count = RepCount.objects.create(
                batch=locked, day=item["day"], counted_at=item["counted_at"],
                viable_cells=exact(item["viable_cells"], 0),
                viability_percent=exact(item["viability_percent"], 1), recorded_by=actor,
            )  # fmt: skip
            record_written(
                Action.REP_COUNT_RECORD, count, actor=actor, subject_id=subject_of(locked.coi_din),
                occurred_at=audit_time(count, count.counted_at),
            )  # fmt: skip
            created.append(count)
    return created


def record_rep_count(
    batch: Batch,
    *,
    day: int,
    viable_cells: Decimal,
    viability_percent: Decimal,
    counted_at: dt.datetime,
    actor: User,
) -> RepCount:
    item = {
        "day": day,
        "viable_cells": viable_cells,
        "viability_percent": viability_percent,
        "counted_at": counted_at,
    }
    return record_rep_counts(batch, counts=[item], actor=actor)[0]
