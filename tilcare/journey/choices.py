"""The journey workflow as data: stages, the transition table, who moves what, milestones, tasks.

`services.advance()` is the only code that changes a journey's stage; it reads everything here.
Guards (what must be true before entering a stage) are in `guards.py` because they read records.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from tilcare.accounts.choices import Role
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.core.workflow import TransitionTable


class Stage(models.TextChoices):
    REFERRAL = "referral", "Referral"
    SCREENING = "screening", "Screening and eligibility"
    FINANCIAL_CLEARANCE = "financial_clearance", "Financial clearance"
    RESECTION_SCHEDULED = "resection_scheduled", "Resection scheduled"
    TISSUE_PROCURED = "tissue_procured", "Tissue procured"
    AT_MANUFACTURING = "at_manufacturing", "At manufacturing"
    PRODUCT_RELEASED = "product_released", "Product released"
    PRODUCT_AT_CENTER = "product_at_center", "Product at center"
    LYMPHODEPLETION = "lymphodepletion", "Lymphodepletion"
    INFUSION = "infusion", "Infusion"
    IL2 = "il2", "IL-2"
    INPATIENT_RECOVERY = "inpatient_recovery", "Inpatient recovery"
    FOLLOW_UP = "follow_up", "Discharged / follow-up"
    COMPLETED = "completed", "Completed"
    WITHDRAWN = "withdrawn", "Withdrawn"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)
TERMINAL_STAGES = frozenset({Stage.COMPLETED, Stage.WITHDRAWN})
ACTIVE_STAGES: tuple[Stage, ...] = tuple(s for s in Stage if s not in TERMINAL_STAGES)

# The stages where a product has been or is being made; a failed product goes back to resection.
REMANUFACTURE_FROM = frozenset(
    {Stage.AT_MANUFACTURING, Stage.PRODUCT_RELEASED, Stage.PRODUCT_AT_CENTER}
)

_FORWARD: dict[Stage, frozenset[Stage]] = {
    Stage.REFERRAL: frozenset({Stage.SCREENING}),
    Stage.SCREENING: frozenset({Stage.FINANCIAL_CLEARANCE}),
    Stage.FINANCIAL_CLEARANCE: frozenset({Stage.RESECTION_SCHEDULED}),
    Stage.RESECTION_SCHEDULED: frozenset({Stage.TISSUE_PROCURED}),
    Stage.TISSUE_PROCURED: frozenset({Stage.AT_MANUFACTURING}),
    Stage.AT_MANUFACTURING: frozenset({Stage.PRODUCT_RELEASED}),
    Stage.PRODUCT_RELEASED: frozenset({Stage.PRODUCT_AT_CENTER}),
    Stage.PRODUCT_AT_CENTER: frozenset({Stage.LYMPHODEPLETION}),
    Stage.LYMPHODEPLETION: frozenset({Stage.INFUSION}),
    # IL-2 may not be given at all (the patient is judged ineligible for it after infusion).
    Stage.INFUSION: frozenset({Stage.IL2, Stage.INPATIENT_RECOVERY}),
    Stage.IL2: frozenset({Stage.INPATIENT_RECOVERY}),
    Stage.INPATIENT_RECOVERY: frozenset({Stage.FOLLOW_UP}),
    Stage.FOLLOW_UP: frozenset({Stage.COMPLETED}),
}


def _table() -> dict[Stage, frozenset[Stage]]:
    table: dict[Stage, frozenset[Stage]] = {}
    for stage in Stage:
        targets = set(_FORWARD.get(stage, frozenset()))
        if stage not in TERMINAL_STAGES:
            targets.add(Stage.WITHDRAWN)
        if stage in REMANUFACTURE_FROM:
            targets.add(Stage.RESECTION_SCHEDULED)
        table[stage] = frozenset(targets)
    return table


# The transition table: every allowed (from, to) pair, and nothing else.
TRANSITIONS: dict[Stage, frozenset[Stage]] = _table()
STAGE_LABELS: dict[Stage, str] = {s: s.label for s in Stage}
JOURNEY_WORKFLOW = TransitionTable("journey", TRANSITIONS, STAGE_LABELS)


class TransitionKind(models.TextChoices):
    CREATE = "create", "Journey opened"
    ADVANCE = "advance", "Advanced"
    WITHDRAW = "withdraw", "Withdrawn"
    REMANUFACTURE = "remanufacture", "Re-manufacture"


def transition_kind(source: Stage, target: Stage) -> TransitionKind:
    if target == Stage.WITHDRAWN:
        return TransitionKind.WITHDRAW
    if source in REMANUFACTURE_FROM and target == Stage.RESECTION_SCHEDULED:
        return TransitionKind.REMANUFACTURE
    return TransitionKind.ADVANCE


class WithdrawalReason(models.TextChoices):
    DISEASE_PROGRESSION = "disease_progression", "Disease progression"
    DEATH = "death", "Death"
    INELIGIBLE = "ineligible", "Ineligible"
    PATIENT_DECISION = "patient_decision", "Patient decision"
    MANUFACTURING_FAILURE = "manufacturing_failure", "Manufacturing failure"
    OTHER = "other", "Other"


class Protocol(models.TextChoices):
    """Treatment protocols a journey can follow (their numbers live in versioned protocol files)."""

    LIFILEUCEL_US_2024 = "lifileucel-us-2024", "Lifileucel (Amtagvi), US label 2024"
    NKI_TIL_2022 = "nki-til-2022", "NKI phase 3 TIL (Rohaan 2022)"


# The protocol file (id and version in `tilcare/protocols/data/`) each journey protocol follows:
# its doses, windows and rules, and the center settings the center activates for it.
PROTOCOL_FILES: dict[str, ProtocolRef] = {
    Protocol.LIFILEUCEL_US_2024: ProtocolRef("lifileucel_us", "2024"),
    Protocol.NKI_TIL_2022: ProtocolRef("nki_phase3", "2022"),
}


class FacilityChange(models.TextChoices):
    """Whether the journey's manufacturing facility may be changed, by its stage."""

    FREE = "free", "May change with the plan"
    WITH_REASON = "with_reason", "Only as an explicit change with a reason"
    FIXED = "fixed", "Fixed: the product of this attempt was made there"


# Until the tumor is resected the facility is a plan like the dates: it changes with the plan.
# From resection until QA releases the product the tissue is on its way to, or in culture at, that
# facility (its batch is open): another facility is chosen only as an explicit, audited change with
# a reason (a transfer or a correction). Once a product exists it was made by that facility, which
# stays on record; a new manufacturing attempt (re-manufacture) may choose another one.
FACILITY_CHANGE_WITH_REASON = frozenset({Stage.TISSUE_PROCURED, Stage.AT_MANUFACTURING})
FACILITY_FIXED = frozenset(
    {
        Stage.PRODUCT_RELEASED,
        Stage.PRODUCT_AT_CENTER,
        Stage.LYMPHODEPLETION,
        Stage.INFUSION,
        Stage.IL2,
        Stage.INPATIENT_RECOVERY,
        Stage.FOLLOW_UP,
        *TERMINAL_STAGES,
    }
)
# Who may move a journey's tissue or culture to another facility mid-manufacture.
FACILITY_CHANGE_ROLES = frozenset({Role.NAVIGATOR, Role.PHYSICIAN})

# Who completes any open task of the center, besides the role a task is for: the coordinator.
TASK_COORDINATOR_ROLES = frozenset({Role.NAVIGATOR})


# Roles that may move a journey INTO each stage. Withdrawal has its own permission.
ADVANCE_ROLES: dict[Stage, frozenset[Role]] = {
    Stage.SCREENING: frozenset({Role.NAVIGATOR, Role.PHYSICIAN}),
    Stage.FINANCIAL_CLEARANCE: frozenset({Role.NAVIGATOR, Role.PHYSICIAN}),
    Stage.RESECTION_SCHEDULED: frozenset({Role.NAVIGATOR, Role.PHYSICIAN, Role.SURGEON}),
    Stage.TISSUE_PROCURED: frozenset({Role.NAVIGATOR, Role.SURGEON}),
    Stage.AT_MANUFACTURING: frozenset({Role.NAVIGATOR}),
    Stage.PRODUCT_RELEASED: frozenset({Role.NAVIGATOR}),
    Stage.PRODUCT_AT_CENTER: frozenset({Role.NAVIGATOR}),
    Stage.LYMPHODEPLETION: frozenset({Role.NAVIGATOR, Role.PHYSICIAN, Role.NURSE}),
    Stage.INFUSION: frozenset({Role.PHYSICIAN, Role.NURSE}),
    Stage.IL2: frozenset({Role.PHYSICIAN, Role.NURSE}),
    Stage.INPATIENT_RECOVERY: frozenset({Role.PHYSICIAN, Role.NURSE}),
    Stage.FOLLOW_UP: frozenset({Role.NAVIGATOR, Role.PHYSICIAN, Role.NURSE}),
    Stage.COMPLETED: frozenset({Role.NAVIGATOR, Role.PHYSICIAN}),
}


class MilestoneKind(models.TextChoices):
    """Facts recorded along the way that guards check. Some belong to one manufacturing attempt."""

    FINANCIAL_CLEARANCE = "financial_clearance", "Financial clearance (coverage and authorization)"
    RESECTION_PERFORMED = "resection_performed", "Tumor resection performed"
    TISSUE_RECEIVED = "tissue_received", "Tissue received at the manufacturing facility"
    PRODUCT_RELEASED = "product_released", "Product released by the facility's QA"
    PRODUCT_RECEIVED = "product_received", "Product received at the center"
    IL2_CONFIRMED = (
        "il2_confirmed",
        "IL-2 (aldesleukin) supply for the protocol's maximum number of doses confirmed by "
        "pharmacy",
    )
    BED_RESERVED = "bed_reserved", "Inpatient bed reserved for the infusion and IL-2"
    PROGRESSION_CHECKED = (
        "progression_checked",
        "Disease status re-assessed before lymphodepletion (no progression that changes the plan)",
    )
    LAST_FLUDARABINE = "last_fludarabine", "Last fludarabine dose given"
    INFUSION_DONE = "infusion_done", "TIL product infused"
    DISCHARGED = "discharged", "Discharged from hospital"
    FOLLOW_UP_COMPLETE = "follow_up_complete", "Follow-up schedule completed"


# Milestones that describe one manufacturing attempt: a re-manufacture needs them again.
PER_ATTEMPT_MILESTONES = frozenset(
    {
        MilestoneKind.RESECTION_PERFORMED,
        MilestoneKind.TISSUE_RECEIVED,
        MilestoneKind.PRODUCT_RELEASED,
        MilestoneKind.PRODUCT_RECEIVED,
        # A re-manufactured product comes weeks later: the bed is booked and the disease
        # re-assessed again for its own lymphodepletion.
        MilestoneKind.BED_RESERVED,
        MilestoneKind.PROGRESSION_CHECKED,
    }
)


@dataclass(frozen=True)
class TaskTemplate:
    """A stage's task: due `due_in_days` after the stage is entered, or, for a task tied to a
    planned date (`anchor`, a Journey field), `anchor_offset_days` from that date once it is
    planned, so the task list says what the plan says (and follows it when it moves)."""

    title: str
    role: Role
    due_in_days: int
    anchor: str = ""
    anchor_offset_days: int = 0


# The physician's task when a signed eligibility checklist is amended (its signature voided).
SIGN_AGAIN_TASK = "Review the amended eligibility checklist and sign it again"
SIGN_AGAIN_DUE_IN_DAYS = 2

# The navigator's booking of a manufacturing start (the demo ticks it when it books one).
BOOK_SLOT_TASK = "Book the manufacturing slot"

# Lymphodepletion starts on Day −7 (cyclophosphamide, then fludarabine to Day −1, both
# protocols): what must be in place before it is due the day before, Day −8.
BEFORE_LYMPHODEPLETION_DAYS = -8


# Tasks created for the responsible role when a journey enters a stage.
STAGE_TASKS: dict[Stage, tuple[TaskTemplate, ...]] = {
    Stage.REFERRAL: (
        TaskTemplate(
            "Call the patient and collect referral records and pathology", Role.NAVIGATOR, 2
        ),
    ),
    Stage.SCREENING: (
        TaskTemplate(
            "Book screening: echocardiogram, pulmonary function, labs, imaging", Role.NAVIGATOR, 5
        ),
        TaskTemplate("Review eligibility and sign the eligibility checklist", Role.PHYSICIAN, 7),
    ),
    Stage.FINANCIAL_CLEARANCE: (
        TaskTemplate(
            "Verify benefits and obtain prior authorization", Role.FINANCIAL_COORDINATOR, 10
        ),
        TaskTemplate("Assess caregiver, lodging and travel support", Role.SOCIAL_WORKER, 7),
    ),
    Stage.RESECTION_SCHEDULED: (
        TaskTemplate(
            "Resect a lesion of at least 1.5 cm for TIL manufacturing",
            Role.SURGEON,
            14,
            anchor="planned_resection_on",
        ),
        TaskTemplate(BOOK_SLOT_TASK, Role.NAVIGATOR, 3),
        TaskTemplate("Book the tissue courier for the resection day", Role.NAVIGATOR, 3),
    ),
    Stage.TISSUE_PROCURED: (
        TaskTemplate("Confirm tissue receipt at the manufacturing facility", Role.NAVIGATOR, 2),
    ),
    Stage.AT_MANUFACTURING: (
        TaskTemplate("Track manufacturing and plan the admission window", Role.NAVIGATOR, 21),
    ),
    Stage.PRODUCT_RELEASED: (
        TaskTemplate("Confirm shipment date and receiving pharmacy", Role.NAVIGATOR, 3),
    ),
    Stage.PRODUCT_AT_CENTER: (
        TaskTemplate(
            "Confirm IL-2 (aldesleukin) supply before lymphodepletion",
            Role.PHARMACIST,
            2,
            anchor="planned_infusion_on",
            anchor_offset_days=BEFORE_LYMPHODEPLETION_DAYS,
        ),
        TaskTemplate(
            "Order lymphodepletion and confirm the infusion date",
            Role.PHYSICIAN,
            3,
            anchor="planned_infusion_on",
            anchor_offset_days=BEFORE_LYMPHODEPLETION_DAYS,
        ),
        TaskTemplate(
            "Reserve the inpatient bed for the infusion and IL-2",
            Role.NAVIGATOR,
            3,
            anchor="planned_infusion_on",
            anchor_offset_days=BEFORE_LYMPHODEPLETION_DAYS,
        ),
        TaskTemplate(
            "Re-assess disease status before lymphodepletion",
            Role.PHYSICIAN,
            3,
            anchor="planned_infusion_on",
            anchor_offset_days=BEFORE_LYMPHODEPLETION_DAYS,
        ),
    ),
    Stage.LYMPHODEPLETION: (
        TaskTemplate("Verify lymphodepletion doses against the orders", Role.PHARMACIST, 1),
        TaskTemplate(
            "Give lymphodepletion and record the last fludarabine dose (Day −1)",
            Role.NURSE,
            7,
            anchor="planned_infusion_on",
            anchor_offset_days=-1,
        ),
    ),
    Stage.INFUSION: (
        TaskTemplate(
            "Two-person bedside identity check, then infuse (Day 0)",
            Role.NURSE,
            1,
            anchor="planned_infusion_on",
        ),
    ),
    Stage.IL2: (
        TaskTemplate("Assess before each IL-2 dose and record give / hold", Role.NURSE, 1),
    ),
    Stage.INPATIENT_RECOVERY: (
        TaskTemplate("Review counts and discharge criteria daily", Role.PHYSICIAN, 1),
    ),
    Stage.FOLLOW_UP: (
        TaskTemplate(
            "Schedule follow-up visits and the first response assessment", Role.NAVIGATOR, 7
        ),
    ),
}


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
