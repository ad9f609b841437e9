"""What must be true before a journey may enter each stage, in words a nurse understands.

Each requirement is a named check that returns None when met or the reason it is not. The journey
page shows the requirements of the next stage as its checklist; `services.advance()` refuses a
move while any is unmet.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from tilcare.audit.models import Signature
from tilcare.audit.selectors import list_signatures_for
from tilcare.audit.services import object_type_of, signature_is_valid
from tilcare.clinical.dosing.schedule import InfusionWindowStatus, ScheduleStatus
from tilcare.core.timeutil import local_datetime, nurse_time
from tilcare.identity.choices import MANUFACTURE_ATTEMPT_MAX
from tilcare.journey.choices import (
    FACILITY_CHANGE_WITH_REASON,
    FACILITY_FIXED,
    PER_ATTEMPT_MILESTONES,
    FacilityChange,
    MilestoneKind,
    Stage,
    TransitionKind,
    transition_kind,
)
from tilcare.journey.models import EligibilityChecklist, Journey, Milestone
from tilcare.manufacturing.models import Batch
from tilcare.patients.choices import ConsentKind
from tilcare.patients.selectors import active_consent
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.models import Order, ProtocolActivation
from tilcare.treatment.selectors import (
    active_activation,
    infusion_of_course,
    infusion_window_at,
    last_fludarabine_given,
    newer_inputs,
    open_order,
)

ELIGIBILITY_MEANING = "Eligibility confirmed by treating physician"


@dataclass(frozen=True)
class Requirement:
    code: str
    label: str
    check: Callable[[Journey], str | None]
    # For a requirement that depends on the clock: the same check judged at a given moment (the
    # move's), which `check` judges at now.
    timed: Callable[[Journey, dt.datetime], str | None] | None = None

    def judge(self, journey: Journey, at: dt.datetime | None = None) -> str | None:
        if at is not None and self.timed is not None:
            return self.timed(journey, at)
        return self.check(journey)


@dataclass(frozen=True)
class RequirementStatus:
    code: str
    label: str
    met: bool
    reason: str


def current_milestone(journey: Journey, kind: MilestoneKind) -> Milestone | None:
    """The latest non-voided milestone of this kind (of the current attempt where it applies)."""
    found = journey.milestones.filter(kind=kind, voided_at__isnull=True)
    if kind in PER_ATTEMPT_MILESTONES:
        found = found.filter(attempt=journey.manufacture_attempt)
    return found.order_by("-occurred_at", "-id").first()


def _milestone(kind: MilestoneKind, missing: str) -> Callable[[Journey], str | None]:
    def check(journey: Journey) -> str | None:
        return None if current_milestone(journey, kind) else missing

    return check


def _diagnosis(journey: Journey) -> str | None:
    if journey.patient.has_diagnosis:
        return None
    return "The patient's diagnosis (cancer type and stage) is not recorded."


def _consent(kind: ConsentKind, missing: str) -> Callable[[Journey], str | None]:
    def check(journey: Journey) -> str | None:
        return None if active_consent(journey.patient, kind) else missing

    return check


def latest_eligibility_signature(checklist: EligibilityChecklist) -> Signature | None:
    return (
        list_signatures_for(object_type_of(checklist), str(checklist.public_id))
        .filter(meaning=ELIGIBILITY_MEANING)
        .order_by("signed_at", "id")
        .last()
    )


def eligibility_signature_voided(checklist: EligibilityChecklist, signature: Signature) -> bool:
    """Was this signature voided by an amendment? A voided signature stays void even if the
    checklist is later amended back to what was signed: only a new signature counts."""
    return checklist.voided_signature_id == signature.pk


def valid_eligibility_signature(journey: Journey) -> tuple[bool, str]:
    checklist = EligibilityChecklist.objects.filter(journey=journey).first()
    if checklist is None:
        return False, "The eligibility checklist has not been filled in."
    signature = latest_eligibility_signature(checklist)
    if signature is None:
        return False, "The eligibility checklist is not yet signed by a physician."
    if eligibility_signature_voided(checklist, signature):
        return False, (
            "The eligibility checklist was amended after it was signed; a physician must review "
            "it and sign it again."
        )
    if not signature_is_valid(signature, checklist):
        return False, (
            "The eligibility checklist changed after it was signed; a physician must sign it again."
        )
    return True, ""


def _eligibility(journey: Journey) -> str | None:
    ok, reason = valid_eligibility_signature(journey)
    return None if ok else reason


def _resection_planned(journey: Journey) -> str | None:
    if journey.planned_resection_on is None:
        return "No resection date is planned."
    previous = (
        journey.milestones.filter(
            kind=MilestoneKind.RESECTION_PERFORMED,
            voided_at__isnull=True,
            attempt__lt=journey.manufacture_attempt,
        )
        .order_by("-occurred_at")
        .first()
    )
    # Planned dates are the center's calendar days, so compare with the resection's local date.
    if previous and journey.planned_resection_on <= (
        local_datetime(previous.occurred_at, journey.center.time_zone).date()
    ):
        return "Plan a new resection date after the previous resection for re-manufacture."
    return None


def facility_change(journey: Journey) -> FacilityChange:
    """May the manufacturing facility change now, and how (see `choices.FacilityChange`)?

    The stage decides; a batch already open for this attempt counts as manufacturing started
    whatever the stage says. A journey with no facility yet may choose its first one with the
    plan until a product exists (the facility is required only to enter manufacturing)."""
    stage = Stage(journey.stage)
    if stage in FACILITY_FIXED:
        return FacilityChange.FIXED
    if journey.manufacturing_facility_id is None:
        return FacilityChange.FREE
    if (
        stage in FACILITY_CHANGE_WITH_REASON
        or Batch.objects.filter(
            coi_din=journey.coi_din, manufacture_attempt=journey.manufacture_attempt
        ).exists()
    ):
        return FacilityChange.WITH_REASON
    return FacilityChange.FREE


def _facility(journey: Journey) -> str | None:
    if journey.manufacturing_facility_id is None:
        return "No manufacturing facility is chosen for this journey."
    return None


def _infusion_planned(journey: Journey) -> str | None:
    return None if journey.planned_infusion_on else "No infusion date (Day 0) is planned."


def _lymphodepletion_order(journey: Journey) -> str | None:
    """The course's open lymphodepletion order, verified by pharmacy on inputs that are still the
    patient's latest and settings still in force."""
    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    if order is None:
        return "No lymphodepletion order has been verified by pharmacy."
    if order.status != OrderStatus.VERIFIED:
        return "The lymphodepletion order awaits the pharmacist's verification."
    return newer_inputs(order)


def _verified_lymphodepletion(journey: Journey) -> Order | None:
    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    return order if order is not None and order.status == OrderStatus.VERIFIED else None


@dataclass(frozen=True)
class LastFludarabine:
    """When the course's last fludarabine dose was given, and the verified lymphodepletion order
    whose settings count the window (None for a journey recorded before orders existed)."""

    at: dt.datetime
    order: Order | None


def last_fludarabine(journey: Journey) -> LastFludarabine | None:
    """The verified order's last fludarabine dose recorded as given or, for journeys recorded
    before doses were, the "Last fludarabine dose given" milestone; None while neither is."""
    order = _verified_lymphodepletion(journey)
    given = last_fludarabine_given(order) if order is not None else None
    if given is not None:
        return LastFludarabine(given, order)
    milestone = current_milestone(journey, MilestoneKind.LAST_FLUDARABINE)
    return LastFludarabine(milestone.occurred_at, order) if milestone is not None else None


def _window_settings(journey: Journey, last: LastFludarabine) -> ProtocolActivation | None:
    """The order's settings; without an order, the center's settings in force."""
    if last.order is not None:
        return last.order.activation
    return active_activation(journey.center, journey.protocol_ref)


def infusion_window_for(journey: Journey, now: dt.datetime) -> InfusionWindowStatus | None:
    """Where `now` falls in the infusion window, or None before the last fludarabine dose is
    given (or while no center settings are in force to count it from)."""
    last = last_fludarabine(journey)
    if last is None:
        return None
    activation = _window_settings(journey, last)
    return None if activation is None else infusion_window_at(activation, last.at, now)


def _last_fludarabine(journey: Journey) -> str | None:
    if last_fludarabine(journey) is None:
        return "The last fludarabine dose has not been recorded."
    return None


def _hours(hours: Decimal) -> str:
    return f"{hours.normalize():f} h"


NO_WINDOW_SETTINGS = (
    "The infusion window cannot be counted: no center settings are in force for this protocol. "
    "A pharmacist and a treating physician sign them on the protocol's settings page."
)


def _within_window_at(journey: Journey, now: dt.datetime) -> str | None:
    last = last_fludarabine(journey)
    if last is None:
        return None  # the last fludarabine requirement names what is missing
    activation = _window_settings(journey, last)
    if activation is None:
        return NO_WINDOW_SETTINGS
    window = infusion_window_at(activation, last.at, now)
    zone = journey.center.time_zone
    if window.status is ScheduleStatus.TOO_EARLY:
        return (
            f"The infusion window opens at {nurse_time(window.allowed_from, zone)} "
            f"({_hours(window.earliest_hours)} after the last fludarabine dose)."
        )
    if window.status is ScheduleStatus.TOO_LATE:
        return (
            f"The infusion window closed at {nurse_time(window.allowed_until, zone)} "
            f"({_hours(window.latest_hours)} after the last fludarabine dose): the cells are not "
            "infused outside it; the treating physician decides what happens next."
        )
    return None


def _within_window(journey: Journey) -> str | None:
    return _within_window_at(journey, timezone.now())


_FINANCIAL = Requirement(
    "financial_clearance",
    "Financial clearance recorded",
    _milestone(MilestoneKind.FINANCIAL_CLEARANCE, "Financial clearance is not yet recorded."),
)
_PRODUCT_AT_CENTER = Requirement(
    "product_received",
    "Product received at the center",
    _milestone(MilestoneKind.PRODUCT_RECEIVED, "Product not yet received at the center."),
)


def _infused(journey: Journey) -> str | None:
    """The infusion's end recorded on the bedside checklist of the current attempt, or (for an
    infusion recorded before the checklist, or given elsewhere) the milestone."""
    infusion = infusion_of_course(journey.coi_din, journey.manufacture_attempt)
    if infusion is not None and infusion.ended_at is not None:
        return None
    if current_milestone(journey, MilestoneKind.INFUSION_DONE) is not None:
        return None
    if infusion is not None and infusion.started_at is not None:
        started = nurse_time(infusion.started_at, journey.center.time_zone)
        return f"The infusion started {started}; record its end on the infusion checklist."
    return "The infusion has not been recorded."


_INFUSED = Requirement("infusion_done", "Infusion recorded", _infused)

GUARDS: dict[Stage, tuple[Requirement, ...]] = {
    Stage.SCREENING: (Requirement("diagnosis", "Diagnosis recorded", _diagnosis),),
    Stage.FINANCIAL_CLEARANCE: (
        Requirement(
            "consent_til",
            "TIL therapy consent on file",
            _consent(ConsentKind.TIL_THERAPY, "The patient's TIL therapy consent is not on file."),
        ),
    ),
    Stage.RESECTION_SCHEDULED: (
        Requirement("eligibility", "Eligibility checklist signed by a physician", _eligibility),
        _FINANCIAL,
        Requirement(
            "consent_tissue",
            "Tissue procurement consent on file",
            _consent(
                ConsentKind.TISSUE_PROCUREMENT,
                "The patient's consent for tumor tissue procurement is not on file.",
            ),
        ),
        Requirement("resection_planned", "Resection date planned", _resection_planned),
    ),
    Stage.TISSUE_PROCURED: (
        Requirement(
            "resection_performed",
            "Resection recorded",
            _milestone(MilestoneKind.RESECTION_PERFORMED, "The resection has not been recorded."),
        ),
    ),
    Stage.AT_MANUFACTURING: (
        Requirement("facility", "Manufacturing facility chosen", _facility),
        _FINANCIAL,
        Requirement(
            "tissue_received",
            "Tissue received by the facility",
            _milestone(
                MilestoneKind.TISSUE_RECEIVED,
                "The facility has not confirmed receipt of the tissue.",
            ),
        ),
    ),
    Stage.PRODUCT_RELEASED: (
        Requirement(
            "product_released",
            "Product released by the facility's QA",
            _milestone(MilestoneKind.PRODUCT_RELEASED, "The product has not been released by QA."),
        ),
    ),
    Stage.PRODUCT_AT_CENTER: (_PRODUCT_AT_CENTER,),
    Stage.LYMPHODEPLETION: (
        _PRODUCT_AT_CENTER,
        Requirement(
            "il2_confirmed",
            "IL-2 supply for the protocol's maximum number of doses confirmed by pharmacy",
            _milestone(
                MilestoneKind.IL2_CONFIRMED,
                "Pharmacy has not confirmed an IL-2 (aldesleukin) supply covering the protocol's "
                "maximum number of doses.",
            ),
        ),
        Requirement("infusion_planned", "Infusion date planned", _infusion_planned),
        Requirement(
            "bed_reserved",
            "Inpatient bed reserved",
            _milestone(
                MilestoneKind.BED_RESERVED,
                "No inpatient bed is reserved for the infusion and IL-2.",
            ),
        ),
        Requirement(
            "progression_checked",
            "Disease re-assessed before lymphodepletion",
            _milestone(
                MilestoneKind.PROGRESSION_CHECKED,
                "The disease has not been re-assessed for progression before lymphodepletion.",
            ),
        ),
        Requirement(
            "lymphodepletion_order",
            "Lymphodepletion order verified by pharmacy",
            _lymphodepletion_order,
        ),
    ),
    Stage.INFUSION: (
        Requirement("last_fludarabine", "Last fludarabine dose given", _last_fludarabine),
        Requirement(
            "infusion_window",
            "Within the infusion window",
            _within_window,
            timed=_within_window_at,
        ),
    ),
    Stage.IL2: (_INFUSED,),
    Stage.INPATIENT_RECOVERY: (_INFUSED,),
    Stage.FOLLOW_UP: (
        Requirement(
            "discharged",
            "Discharge recorded",
            _milestone(MilestoneKind.DISCHARGED, "The discharge has not been recorded."),
        ),
    ),
    Stage.COMPLETED: (
        Requirement(
            "follow_up_complete",
            "Follow-up schedule completed",
            _milestone(
                MilestoneKind.FOLLOW_UP_COMPLETE, "The follow-up schedule is not yet complete."
            ),
        ),
    ),
}


def evaluate(
    journey: Journey, target: Stage, at: dt.datetime | None = None
) -> list[RequirementStatus]:
    """Every requirement for entering `target`, met or not, in the order they are declared;
    judged at `at` (a move dated in the past) where the clock matters, else now."""
    statuses = []
    for requirement in GUARDS.get(target, ()):
        reason = requirement.judge(journey, at)
        statuses.append(
            RequirementStatus(requirement.code, requirement.label, reason is None, reason or "")
        )
    return statuses


def evaluate_move(
    journey: Journey, target: Stage, at: dt.datetime | None = None
) -> list[RequirementStatus]:
    """The requirements of moving `journey` from its stage to `target`, judged as after the move.

    Withdrawal needs nothing but its coded reason. A re-manufacture starts a new attempt, so its
    per-attempt requirements are judged for that new attempt, exactly as `advance()` will.
    """
    kind = transition_kind(Stage(journey.stage), target)
    if kind == TransitionKind.WITHDRAW:
        return []
    if kind == TransitionKind.REMANUFACTURE:
        if journey.manufacture_attempt >= MANUFACTURE_ATTEMPT_MAX:
            return [_LAST_ATTEMPT]
        journey = copy.copy(journey)
        journey.manufacture_attempt += 1
    return evaluate(journey, target, at)


# Items, slot bookings and batches take attempts 1 to 9 (identity.choices): a tenth attempt could
# never be labelled, booked or manufactured, so the re-manufacture is refused with the reason.
_LAST_ATTEMPT = RequirementStatus(
    "manufacture_attempt_limit",
    f"At most {MANUFACTURE_ATTEMPT_MAX} manufacture attempts",
    False,
    f"This is manufacture attempt {MANUFACTURE_ATTEMPT_MAX}, the last one tilcare records for a "
    "journey. The treating physician decides with the manufacturing facility how to go on; "
    "another attempt cannot be recorded on this journey.",
)


def unmet_reasons(journey: Journey, target: Stage, at: dt.datetime | None = None) -> list[str]:
    return [s.reason for s in evaluate(journey, target, at) if not s.met]
