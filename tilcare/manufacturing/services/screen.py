"""Writes of the pre-REP part of a batch record: cultures and their counts, the reactivity screen
imported from the plate reader's CSV, and the selection of the cultures that go into the REP.

- A culture is recorded while the batch is in "Pre-REP cultures"; its count may be corrected
  until the selection (the before and after are both in the audit trail).
- The screen is imported in "Reactivity screen", all or nothing (`reactivity_csv` for the
  format): a refused file names the line of each problem and leaves nothing behind. Each culture
  has one screen reading; a second file may add cultures, not repeat them, and the same file is
  never imported twice.
- The selection is a person's decision, made once, with the reason, and with the facility's
  reactivity thresholds (no defaults) and the ranking they produced stored beside it.

A count's audit event is dated with its `counted_at` (see `tilcare.audit.times`); an import or a
selection entered after the fact takes `occurred_at=`, kept as its own time, never before the
batch entered "Reactivity screen".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import check_occurred_at, record_event, record_written
from tilcare.audit.times import audit_time
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.validation import TextWords, check_text
from tilcare.identity.services.alerts import subject_of
from tilcare.manufacturing import policies
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.models import (
    Batch,
    Culture,
    CultureSelection,
    ReactivityImport,
    ReactivityReading,
)
from tilcare.manufacturing.reactivity_csv import (
    CULTURE_ID,
    CULTURE_ID_RULE,
    ReactivityCsvError,
    parse_reactivity_csv,
)
from tilcare.manufacturing.selectors.forecast import (
    parse_thresholds,
    ranking_document,
    screen_ranking,
    screened_readings,
)
from tilcare.manufacturing.services.steps import (
    check_moment,
    check_number,
    exact,
    locked_batch,
    require_status,
)

# A pre-REP culture holds up to some 10⁸ cells; 10¹¹ catches a slip by a factor of 1000.
CULTURE_CELLS_MAX = Decimal("1E11")
FILE_NAME_MAX = 200
REASON_MAX = 400
NOT_RECORDER = "Only the facility's manufacturing technologists record batch steps."
_SELECTION_WORDS = TextWords(
    required="Reason for the selection is required (why these cultures).",
    too_long="Reason can be at most {max_length} characters ({length}).",
)


def _count_errors(
    viable_cells: Any, viability_percent: Any, counted_at: Any
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    check_number(
        errors, "viable_cells", viable_cells, label="Viable cells", unit="cells",
        minimum=Decimal(0), maximum=CULTURE_CELLS_MAX, places=0,
    )  # fmt: skip
    check_number(
        errors, "viability_percent", viability_percent, label="Viability", unit="%",
        minimum=Decimal(0), maximum=Decimal(100), places=1,
    )  # fmt: skip
    check_moment(errors, "counted_at", counted_at, label="Counted at")
    return errors


def _culture_errors(item: Mapping[str, Any], prefix: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    culture_id = str(item.get("culture_id") or "").strip()
    if not CULTURE_ID.match(culture_id):
        errors[f"{prefix}culture_id"] = [f"Culture id “{culture_id}” must be {CULTURE_ID_RULE}."]
    counted = [item.get(k) for k in ("viable_cells", "viability_percent", "counted_at")]
    if any(value not in (None, "") for value in counted):
        errors.update({f"{prefix}{k}": v for k, v in _count_errors(*counted).items()})
    return errors


def record_cultures(
    batch: Batch, *, cultures: Sequence[Mapping[str, Any]], actor: User
) -> list[Culture]:
    """Pre-REP cultures (fragments or wells), each `culture_id` with its count (`viable_cells`
    in cells, `viability_percent`, `counted_at`) when it is known: all three or none. A list is
    recorded whole or refused whole."""
    require(policies.can_record_batch_step(actor, batch), NOT_RECORDER)
    if not cultures:
        raise InvalidInput({"cultures": ["Give at least one culture."]})
    single = len(cultures) == 1
    errors: dict[str, list[str]] = {}
    for i, item in enumerate(cultures):
        errors.update(_culture_errors(item, "" if single else f"cultures.{i}."))
    if errors:
        raise InvalidInput(errors)
    created = []
    with transaction.atomic():
        locked = locked_batch(batch)
        require_status(locked, (BatchStatus.PRE_REP,), "A new culture")
        taken = set(Culture.objects.filter(batch=locked).values_list("culture_id", flat=True))
        for i, item in enumerate(cultures):
            culture_id = str(item["culture_id"]).strip()
            if culture_id in taken:
                field = "culture_id" if single else f"cultures.{i}.culture_id"
                raise InvalidInput({field: [f"Culture {culture_id} is already recorded."]})
            taken.add(culture_id)
            cells, viability = item.get("viable_cells"), item.get("viability_percent")
            culture = Culture.objects.create(
                batch=locked, culture_id=culture_id,
                viable_cells=None if cells in (None, "") else exact(cells, 0),
                viability_percent=None if viability in (None, "") else exact(viability, 1),
                counted_at=item.get("counted_at") or None, recorded_by=actor,
            )  # fmt: skip
            record_written(
                Action.CULTURE_RECORD, culture, actor=actor, subject_id=subject_of(locked.coi_din),
                occurred_at=audit_time(culture, culture.counted_at),
            )  # fmt: skip
            created.append(culture)
    return created


def record_culture(
    batch: Batch,
    *,
    culture_id: str,
    actor: User,
    viable_cells: Decimal | None = None,
    viability_percent: Decimal | None = None,
    counted_at: dt.datetime | None = None,
) -> Culture:
    """One pre-REP culture, with its count when it is known."""
    item = {
        "culture_id": culture_id,
        "viable_cells": viable_cells,
        "viability_percent": viability_percent,
        "counted_at": counted_at,
    }
    return record_cultures(batch, cultures=[item], actor=actor)[0]


def record_culture_count(
    batch: Batch,
    *,
    culture_id: str,
    viable_cells: Decimal,
    viability_percent: Decimal,
    counted_at: dt.datetime,
    actor: User,
) -> Culture:
    """Record or correct a culture's count, until the cultures are selected."""
    require(policies.can_record_batch_step(actor, batch), NOT_RECORDER)
    errors = _count_errors(viable_cells, viability_percent, counted_at)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        locked = locked_batch(batch)
        require_status(locked, (BatchStatus.PRE_REP, BatchStatus.SCREENING), "A culture count")
        culture = Culture.objects.filter(batch=locked, culture_id=culture_id).first()
        if culture is None:
            raise InvalidInput({"culture_id": [f"Culture {culture_id} is not in this batch."]})
        before = snapshot(culture)
        culture.viable_cells = exact(viable_cells, 0)
        culture.viability_percent = exact(viability_percent, 1)
        culture.counted_at = counted_at
        culture.save(update_fields=["viable_cells", "viability_percent", "counted_at"])
        record_written(
            Action.CULTURE_COUNT, culture, actor=actor, before=before,
            subject_id=subject_of(locked.coi_din),
            occurred_at=audit_time(culture, counted_at),
        )  # fmt: skip
    return culture


# --- the reactivity screen ----------------------------------------------------------------------


def _screen_time(batch: Batch, occurred_at: dt.datetime | None) -> dt.datetime:
    """When a screen step happened: now, or `occurred_at` if earlier, never before the batch
    entered "Reactivity screen" (the batch is locked and in that status)."""
    now = timezone.now()
    if occurred_at is None:
        return now
    check_occurred_at(occurred_at, now=now)
    if occurred_at < batch.status_changed_at:
        since = batch.status_changed_at.astimezone(dt.UTC)
        raise InvalidInput(
            {
                "occurred_at": [
                    "The time it happened cannot be before the batch entered the reactivity "
                    f"screen ({since:%d %b %Y %H:%M} UTC)."
                ]
            }
        )
    return occurred_at


def import_reactivity_csv(
    batch: Batch,
    *,
    file_name: str,
    content: bytes,
    actor: User,
    occurred_at: dt.datetime | None = None,
) -> ReactivityImport:
    """Import a plate-reader CSV whole, or refuse it whole with the line of each problem
    (errors on the field "file"). `occurred_at`: when it was imported, if earlier than now."""
    require(policies.can_record_batch_step(actor, batch), NOT_RECORDER)
    name = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "upload.csv"
    if len(name) > FILE_NAME_MAX:
        name = name[: FILE_NAME_MAX - 4] + ".csv"
    sha256 = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        locked = locked_batch(batch)
        require_status(locked, (BatchStatus.SCREENING,), "The reactivity screen")
        imported_at = _screen_time(locked, occurred_at)
        earlier = ReactivityImport.objects.filter(batch=locked, sha256=sha256).first()
        if earlier is not None:
            raise InvalidInput(
                {
                    "file": [
                        f"This file was already imported as “{earlier.file_name}” on "
                        f"{earlier.imported_at:%Y-%m-%d %H:%M} UTC (same content); nothing was "
                        "imported again."
                    ]
                }
            )
        cultures = {c.culture_id: c for c in Culture.objects.filter(batch=locked)}
        try:
            rows = parse_reactivity_csv(content, known_culture_ids=cultures.keys())
        except ReactivityCsvError as refused:
            raise InvalidInput({"file": refused.messages()}) from None
        screened = {
            r.culture.culture_id: r
            for r in ReactivityReading.objects.filter(culture__batch=locked).select_related(
                "culture", "source"
            )
        }
        repeated = [
            f"Line {row.line}, culture_id: culture {row.culture_id} already has a screen "
            f"reading (line {screened[row.culture_id].line_number} of "
            f"“{screened[row.culture_id].source.file_name}”); a culture is screened once."
            for row in rows
            if row.culture_id in screened
        ]
        if repeated:
            raise InvalidInput({"file": repeated})
        source = ReactivityImport.objects.create(
            batch=locked, file_name=name, sha256=sha256, imported_at=imported_at,
            imported_by=actor,
        )  # fmt: skip
        ReactivityReading.objects.bulk_create(
            ReactivityReading(
                source=source,
                culture=cultures[row.culture_id],
                line_number=row.line,
                ifn_gamma_tumor_pg_per_ml=row.ifn_gamma_tumor_pg_per_ml,
                ifn_gamma_control_pg_per_ml=row.ifn_gamma_control_pg_per_ml,
                cd137_tumor_percent=row.cd137_tumor_percent,
                cd137_control_percent=row.cd137_control_percent,
            )
            for row in rows
        )
        after = snapshot(source) | {"cultures": [row.culture_id for row in rows]}
        record_event(
            Action.REACTIVITY_IMPORT, source, actor=actor, after=after,
            subject_id=subject_of(locked.coi_din), occurred_at=occurred_at,
        )  # fmt: skip
    return source


def select_cultures(
    batch: Batch,
    *,
    culture_ids: Iterable[str],
    reason: str,
    thresholds: Mapping[str, Any],
    actor: User,
    occurred_at: dt.datetime | None = None,
) -> CultureSelection:
    """Record which screened cultures go into the REP, who chose them and why, with the
    facility's thresholds and the ranking they produced. `occurred_at`: when they were chosen,
    if earlier than now."""
    require(
        policies.can_select_cultures(actor, batch),
        "Only the facility's manufacturing technologists select cultures for the REP.",
    )
    wanted = [str(c).strip() for c in culture_ids if str(c).strip()]
    errors: dict[str, list[str]] = {}
    if not wanted:
        errors["culture_ids"] = ["Select at least one culture for the REP."]
    elif len(set(wanted)) != len(wanted):
        errors["culture_ids"] = ["Each culture may be selected once."]
    reason = check_text(errors, "reason", reason, max_length=REASON_MAX, words=_SELECTION_WORDS)
    try:
        limits = parse_thresholds(thresholds)
    except InvalidInput as refused:
        errors.update(refused.errors)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        locked = locked_batch(batch)
        require_status(locked, (BatchStatus.SCREENING,), "The culture selection")
        selected_at = _screen_time(locked, occurred_at)
        if CultureSelection.objects.filter(batch=locked).exists():
            raise InvalidInput({"__all__": ["The cultures of this batch are already selected."]})
        readings = screened_readings(locked)
        if not readings:
            raise InvalidInput({"__all__": ["Import the reactivity screen before selecting."]})
        screened = {r.culture.culture_id: r.culture for r in readings}
        imported = max(r.source.imported_at for r in readings)
        if selected_at < imported:
            raise InvalidInput(
                {
                    "occurred_at": [
                        "The cultures cannot be selected before their screen was imported "
                        f"({imported.astimezone(dt.UTC):%d %b %Y %H:%M} UTC)."
                    ]
                }
            )
        unknown = [c for c in wanted if c not in screened]
        if unknown:
            raise InvalidInput(
                {"culture_ids": [f"Not screened in this batch: {', '.join(unknown)}."]}
            )
        ranking = screen_ranking(readings, limits)
        document = ranking_document(ranking, selected=sorted(wanted))
        selection = CultureSelection.objects.create(
            batch=locked, reason=reason, selected_at=selected_at, selected_by=actor,
            ranking_json=json.dumps(document, ensure_ascii=False, sort_keys=True),
        )  # fmt: skip
        selection.cultures.set([screened[c] for c in wanted])
        after = snapshot(selection) | {"cultures": sorted(wanted)}
        record_event(
            Action.CULTURE_SELECTION_RECORD, selection, actor=actor, after=after,
            reason=reason, subject_id=subject_of(locked.coi_din), occurred_at=occurred_at,
        )  # fmt: skip
    return selection
