"""What each status needs before a batch may enter it, in words the technologist reads on the
page: the list `move_batch` refuses with and the batch page shows beside each next step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tilcare.manufacturing.choices import BatchStatus, Disposition
from tilcare.manufacturing.models import (
    Batch,
    Culture,
    CultureSelection,
    QaDisposition,
    RepCount,
    TissueReceipt,
)


def _tissue(batch: Batch) -> str | None:
    if TissueReceipt.objects.filter(batch=batch).exists():
        return None
    return "Record the tissue receipt (weight and fragments) first."


def _cultures(batch: Batch) -> str | None:
    if Culture.objects.filter(batch=batch).exists():
        return None
    return "Record at least one pre-REP culture first."


def _selection(batch: Batch) -> str | None:
    if CultureSelection.objects.filter(batch=batch).exists():
        return None
    return "Select the cultures for the REP (who and why) first."


def _rep_counts(batch: Batch) -> str | None:
    if RepCount.objects.filter(batch=batch).exists():
        return None
    return "Record at least one REP count before the harvest."


def _disposition(decision: str, needs_ack: bool) -> Callable[[Batch], str | None]:
    label = Disposition(decision).label

    def check(batch: Batch) -> str | None:
        found = QaDisposition.objects.filter(batch=batch, decision=decision).first()
        if found is None or found.qa_signature_id is None:
            return f"QA's signed disposition “{label}” is not on file."
        if needs_ack and found.physician_acknowledged_at is None:
            return "The treating physician has not yet acknowledged the release under exception."
        return None

    return check


@dataclass(frozen=True)
class Guard:
    code: str
    requirement: str
    check: Callable[[Batch], str | None]


GUARDS: dict[str, tuple[Guard, ...]] = {
    BatchStatus.PRE_REP: (Guard("tissue_receipt", "Tissue receipt recorded", _tissue),),
    BatchStatus.SCREENING: (Guard("cultures", "Pre-REP cultures recorded", _cultures),),
    BatchStatus.REP: (Guard("selection", "Cultures selected for the REP", _selection),),
    BatchStatus.HARVESTED: (Guard("rep_counts", "REP counts recorded", _rep_counts),),
    BatchStatus.RELEASED: (
        Guard("disposition", "QA disposition signed", _disposition(Disposition.RELEASE, False)),
    ),
    BatchStatus.RELEASED_EXCEPTION: (
        Guard(
            "disposition",
            "QA disposition signed, physician acknowledged",
            _disposition(Disposition.RELEASE_EXCEPTION, True),
        ),
    ),
}


def unmet_reasons(batch: Batch, to_status: str) -> list[str]:
    return [r for guard in GUARDS.get(to_status, ()) if (r := guard.check(batch)) is not None]
