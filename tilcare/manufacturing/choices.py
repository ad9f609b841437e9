"""Limits for manufacturing capacity, named once so that forms, API and services say the same."""

from __future__ import annotations

from django.db import models

from tilcare.core.workflow import TransitionTable
from tilcare.identity.choices import MANUFACTURE_ATTEMPT_MAX, MANUFACTURE_ATTEMPT_MIN

# Places in one slot: a facility runs at least one process a day and, in the largest current
# cleanrooms, not more than a few dozen; 50 catches a typing slip (500) without limiting anyone.
CAPACITY_MIN = 1
CAPACITY_MAX = 50
# How far ahead a facility may open slots (days).
SLOT_HORIZON_DAYS = 366
NOTE_MAX = 200
CANCEL_REASON_MAX = 400
# The manufacture attempt's limits are the chain of identity's, the same for items, bookings and
# batches.
ATTEMPT_MIN = MANUFACTURE_ATTEMPT_MIN
ATTEMPT_MAX = MANUFACTURE_ATTEMPT_MAX


# --- The batch record ---------------------------------------------------------------------------


class BatchStatus(models.TextChoices):
    TISSUE_RECEIVED = "tissue_received", "Tissue received"
    PRE_REP = "pre_rep", "Pre-REP cultures"
    SCREENING = "screening", "Reactivity screen"
    REP = "rep", "Rapid expansion (REP)"
    HARVESTED = "harvested", "Harvested and formulated"
    RELEASE_TESTING = "release_testing", "Release testing"
    RELEASED = "released", "Released"
    RELEASED_EXCEPTION = "released_exception", "Released under exception"
    REJECTED = "rejected", "Rejected"
    # Not a manufacturing failure: the patient's treatment ended (the center withdrew them), so
    # the product is no longer wanted. It is never counted with rejections and asks the
    # treating physician for no re-manufacture decision.
    STOPPED = "stopped", "Stopped: patient withdrawn"


# Where a batch may end before release: a failure (rejected) or the center's withdrawal (stopped).
_ENDS = (BatchStatus.REJECTED, BatchStatus.STOPPED)

# The batch workflow as a table: each status and where it may go next (DESIGN.md rule 5).
BATCH_TRANSITIONS: dict[str, frozenset[str]] = {
    BatchStatus.TISSUE_RECEIVED: frozenset({BatchStatus.PRE_REP, *_ENDS}),
    BatchStatus.PRE_REP: frozenset({BatchStatus.SCREENING, *_ENDS}),
    BatchStatus.SCREENING: frozenset({BatchStatus.REP, *_ENDS}),
    BatchStatus.REP: frozenset({BatchStatus.HARVESTED, *_ENDS}),
    BatchStatus.HARVESTED: frozenset({BatchStatus.RELEASE_TESTING, *_ENDS}),
    BatchStatus.RELEASE_TESTING: frozenset(
        {BatchStatus.RELEASED, BatchStatus.RELEASED_EXCEPTION, *_ENDS}
    ),
    BatchStatus.RELEASED: frozenset(),
    BatchStatus.RELEASED_EXCEPTION: frozenset(),
    BatchStatus.REJECTED: frozenset(),
    BatchStatus.STOPPED: frozenset(),
}

BATCH_WORKFLOW = TransitionTable("batch", BATCH_TRANSITIONS, {s: s.label for s in BatchStatus})


class ReleaseTestKind(models.TextChoices):
    VIABLE_CELL_DOSE = "viable_cell_dose", "Total viable cells (dose)"
    VIABILITY = "viability", "Viability"
    IDENTITY_PURITY = "identity_purity", "Identity / purity (e.g. CD3+ %)"
    STERILITY = "sterility", "Sterility"
    ENDOTOXIN = "endotoxin", "Endotoxin"
    MYCOPLASMA = "mycoplasma", "Mycoplasma"
    POTENCY = "potency", "Potency"


class Disposition(models.TextChoices):
    RELEASE = "release", "Release"
    RELEASE_EXCEPTION = "release_exception", "Release under exception"
    REJECT = "reject", "Reject"
