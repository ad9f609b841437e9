"""The demo program: one center, one manufacturing facility, a person per role, 18 patients.

Everything a clinician would enter is entered through the domain services, as the person whose
job it is (the navigator registers, the physician signs eligibility with a password, the finance
coordinator records clearance, the surgeon records the resection…), so every row has its audit
events and `tilcare audit verify` passes on the result. The people are in `people`; they are
invented, and must never be loaded into a database that holds real patients.

A demo is built in a few seconds, but its journeys were lived over months: each step is given to
the services with the time it happened (`_Walk.moment`), so the journey's stage, its timeline,
its tasks' due dates and the audit trail are dated then, and each audit event also keeps when it
was recorded (the build). What the services date by the clock alone (a signature is dated when
it is signed, 21 CFR 11.50; a dose is never recorded before its order's verification) is
replayed: the clock is set to the moment it happened (`clock.replayed_clock`), so those events
are dated and recorded then. The center's protocol settings were signed the day before the first
referral; QA's releases, the products' shipments and receipts, and each treatment course
(`course`: orders and their verification, doses, the infusion day, IL-2 dose by dose) are
replayed on their days. Eligibility signatures are the build's, and so is the release of the
product released today. The organizations and the people are created at the build too.

Every journey whose tissue was procured is also walked through the physical chain by
`tilcare.demo.chain`: labels, custody scans, shipments with their temperature logs, the
facility's batch record, QA's signed release and the product's receipt at the center. The tissue
receipt is a facility scan, the release a QA signature, the product's receipt the pharmacist's
scans: no one types those milestones.

Before a journey enters lymphodepletion its bed is reserved, its disease re-assessed and its
lymphodepletion order written by the physician and verified by the pharmacist the day before;
the IL-2 order on the infusion day. Evelyn Brooks, at "Product at center", has her
lymphodepletion order written today and awaiting the pharmacist's verification.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from tilcare.accounts import services as account_services
from tilcare.accounts.choices import OrganizationKind, Role
from tilcare.accounts.models import Organization, User
from tilcare.audit.models import AuditEvent
from tilcare.core.timeutil import (
    Place,
    day_start,
    local_datetime,
    local_moment,
    local_today,
    zone_of,
)
from tilcare.demo import chain
from tilcare.demo.clock import replayed_clock
from tilcare.demo.course import TreatmentCourse
from tilcare.demo.people import (
    CENTER_NAME,
    DEMO_PASSWORD,
    DEMO_USERS,
    FACILITY_NAME,
    PATIENTS,
    REMANUFACTURE_DELAY_DAYS,
    SCREENING_VISIT_DAY,
    STAGE_DAY,
    DemoUser,
    PatientSpec,
    Withdrawal,
)
from tilcare.demo.protocol_settings import activate_protocols
from tilcare.identity.models import Item
from tilcare.journey import services as journey_services
from tilcare.journey.choices import (
    ACTIVE_STAGES,
    MilestoneKind,
    Stage,
    TaskStatus,
)
from tilcare.journey.models import ELIGIBILITY_CRITERIA, Journey, Task
from tilcare.patients import services as patient_services
from tilcare.patients.choices import ConsentKind, Sex
from tilcare.patients.models import Patient
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.models import Order
from tilcare.treatment.services.orders import (
    Course,
    order_il2,
    order_lymphodepletion,
)


@dataclass
class DemoSummary:
    organizations: int
    users: int
    patients: int
    journeys: int
    audit_events: int
    journeys_by_stage: dict[str, int] = field(default_factory=dict)


def _create_user(spec: DemoUser, organization: Organization) -> User:
    return account_services.create_user(
        actor=None,
        organization=organization,
        username=spec.username,
        password=DEMO_PASSWORD,
        role=spec.role,
        first_name=spec.first_name,
        last_name=spec.last_name,
        credentials=spec.credentials,
        email=f"{spec.username}@riverside.example.org",
    )


def _elapsed_days(spec: PatientSpec) -> int:
    """Days from referral to today, from the stage the journey is in and how long it has been."""
    if spec.withdrawal is not None:
        w = spec.withdrawal
        return STAGE_DAY[w.from_stage] + w.days_after_entering + spec.days_in_stage
    extra = REMANUFACTURE_DELAY_DAYS if spec.remanufacture else 0
    return STAGE_DAY[spec.stage] + extra + spec.days_in_stage


def _reached(spec: PatientSpec, stage: Stage) -> bool:
    last = spec.withdrawal.from_stage if spec.withdrawal else spec.stage
    order = list(Stage)
    return last != Stage.WITHDRAWN and order.index(last) >= order.index(stage)


def chained(spec: PatientSpec) -> bool:
    """Is this journey walked through the physical chain (scans, shipments, batch record)? Every
    journey whose tissue was procured is."""
    return _reached(spec, Stage.TISSUE_PROCURED)


# The serum creatinine (mg/dL) drawn two days before lymphodepletion, by sex: within the
# laboratory's normal range, so the fludarabine dose follows the center's renal bands.
CREATININE_MG_PER_DL: dict[str, str] = {Sex.FEMALE: "0.8", Sex.MALE: "1.0"}
CREATININE_OTHERWISE = "0.9"

# Something that happened "today" is recorded no later than this long before the build.
RECORDED_BEFORE_NOW = dt.timedelta(minutes=5)


def lived_moment(place: Place, on: dt.date, at: dt.time, now: dt.datetime) -> dt.datetime:
    """The moment the place's clocks showed `at` on its local date `on`; if that is still to
    come, the latest moment of that same local day already past (`RECORDED_BEFORE_NOW` ago, but
    never before the day began). A step planned for 08:00 today, at 00:30, happened at 00:25
    today, never yesterday: the day a step happened on is what the bench and the ward count."""
    moment = local_moment(place, on, at)
    latest = now - RECORDED_BEFORE_NOW
    if moment <= latest:
        return moment
    start = day_start(place, on)
    if start > now:
        raise ValueError(f"{on} has not begun yet in {zone_of(place)} (now {now.isoformat()}).")
    return max(latest, start)


# The hour, on the center's clocks, each stage was entered on its day (`STAGE_DAY`): after what
# its guards need was recorded that day (the infusion at 14:00 before IL-2 at 18:00).
ENTERED_AT: dict[Stage, tuple[int, int]] = {
    Stage.SCREENING: (10, 0),
    Stage.FINANCIAL_CLEARANCE: (16, 0),
    Stage.RESECTION_SCHEDULED: (11, 0),
    Stage.TISSUE_PROCURED: (12, 0),
    Stage.AT_MANUFACTURING: (16, 0),
    Stage.PRODUCT_RELEASED: (17, 0),
    Stage.PRODUCT_AT_CENTER: (11, 0),
    Stage.LYMPHODEPLETION: (8, 0),
    Stage.INFUSION: (10, 0),
    Stage.IL2: (18, 0),
    Stage.INPATIENT_RECOVERY: (10, 0),
    Stage.FOLLOW_UP: (13, 0),
    Stage.COMPLETED: (12, 0),
}


@dataclass(frozen=True)
class EntryMilestone:
    """The one milestone a stage's guard needs, recorded `days` from the stage's day at `at`
    on the center's clocks, and who then moves the journey on."""

    kind: MilestoneKind
    days: int
    at: tuple[int, int]
    recorded_by: Role
    advanced_by: Role
    note: str


# The stages entered on one milestone alone.
ENTRY_MILESTONES: dict[Stage, EntryMilestone] = {
    Stage.LYMPHODEPLETION: EntryMilestone(
        MilestoneKind.IL2_CONFIRMED,
        -1,
        (14, 0),
        Role.PHARMACIST,
        Role.PHYSICIAN,
        "Aldesleukin vials for the full course on hand and reserved.",
    ),
    Stage.FOLLOW_UP: EntryMilestone(
        MilestoneKind.DISCHARGED,
        0,
        (12, 0),
        Role.PHYSICIAN,
        Role.NAVIGATOR,
        "ANC recovered; afebrile 48 h; discharged home with caregiver.",
    ),
    Stage.COMPLETED: EntryMilestone(
        MilestoneKind.FOLLOW_UP_COMPLETE,
        0,
        (11, 0),
        Role.NAVIGATOR,
        Role.PHYSICIAN,
        "One-year follow-up complete; ongoing partial response (RECIST 1.1). "
        "Care returned to the referring oncologist.",
    ),
}


class _Walk:
    """Walks one journey forward through the services, each step by the person who does it.

    Each step is dated when it happened (`moment`, set as each stage is entered): the services
    date the stage, the timeline, the tasks and the audit events then, and the audit events
    keep the time they were recorded. With no moment, a step happens now (the day of the build).
    """

    def __init__(
        self,
        cast: Mapping[Role, User],
        center: Organization,
        facility: Organization,
        journey: Journey,
        spec: PatientSpec,
        number: int,
        now: dt.datetime,
    ) -> None:
        self.cast = cast
        self.center = center
        self.facility = facility
        self.journey = journey
        self.spec = spec
        self.number = number
        # The build's "now": the center's and the facility's today are counted from it, each in
        # its own zone (they differ by a day for some hours when the zones are far apart).
        self.now = now
        self.center_today = local_today(center, now)
        self.facility_today = local_today(facility, now)
        # Days added to the usual schedule once a re-manufacture has started again.
        self.shift = 0
        # When the step being walked happened (None: now).
        self.moment: dt.datetime | None = None
        self.chain = (
            chain.Chain(cast, lambda: self.journey, self.at, self.bench_at, self.facility_today)
            if chained(spec)
            else None
        )
        self.treatment = TreatmentCourse(self)

    def today(self) -> int:
        """Today, in days after the referral on the (shifted) schedule (the same number at the
        center and at the facility: a day is counted on each one's own calendar)."""
        return (self.center_today - self.day(0)).days

    def day(self, offset: int) -> dt.date:
        """The center's calendar date `offset` days after the referral (shifted)."""
        return self.journey.referred_on + dt.timedelta(days=offset + self.shift)

    def bench_date(self, offset: int) -> dt.date:
        """The facility's calendar date of the same day: as many days before the facility's
        today as `day(offset)` is before the center's."""
        return self.day(offset) + (self.facility_today - self.center_today)

    def at(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        """A moment at the center: `hour:minute` on its clocks, `offset` days after referral."""
        return lived_moment(self.center, self.day(offset), dt.time(hour, minute), self.now)

    def bench_at(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        """A moment at the facility: `hour:minute` on its clocks, on the same day."""
        return lived_moment(self.facility, self.bench_date(offset), dt.time(hour, minute), self.now)

    def day_after_entering(self) -> dt.datetime:
        """15:00 at the center the day after the journey entered its stage (today's latest
        moment already past, if that is today or still to come)."""
        entered = local_datetime(self.journey.stage_entered_at, self.center).date()
        on = min(entered + dt.timedelta(days=1), self.center_today)
        return lived_moment(self.center, on, dt.time(15, 0), self.now)

    def when(self) -> dt.datetime | None:
        """The walk's moment, never before the journey entered its current stage."""
        if self.moment is None:
            return None
        return max(self.moment, self.journey.stage_entered_at)

    def advance(
        self, target: Stage, role: Role, reason: str = "", withdrawal_reason: str = ""
    ) -> None:
        self.journey = journey_services.advance(
            self.journey,
            target,
            actor=self.cast[role],
            reason=reason,
            withdrawal_reason=withdrawal_reason,
            occurred_at=self.when(),
        )

    def milestone(
        self,
        kind: MilestoneKind,
        when: dt.datetime,
        role: Role,
        reference: str = "",
        note: str = "",
    ) -> None:
        journey_services.record_milestone(
            self.journey,
            actor=self.cast[role],
            kind=kind,
            occurred_at=when,
            reference=reference,
            note=note,
        )

    def plan(self, **changes: object) -> None:
        self.journey = journey_services.plan_journey(
            self.journey, actor=self.cast[Role.NAVIGATOR], changes=changes, occurred_at=self.when()
        )

    def finish_tasks(self, roles: tuple[Role, ...] | None = None) -> None:
        """Complete the open tasks of the current stage, each by the role it is for."""
        tasks = Task.objects.filter(
            journey=self.journey, stage=self.journey.stage, status=TaskStatus.OPEN
        ).order_by("id")
        for task in tasks:
            if roles is None or task.role in roles:
                journey_services.complete_task(
                    task, actor=self.cast[Role(task.role)], occurred_at=self.when()
                )

    def eligibility(self, failed: tuple[str, ...] = ()) -> None:
        spec = self.spec
        data: dict[str, object] = {name: name not in failed for name, _ in ELIGIBILITY_CRITERIA}
        data["ecog"] = spec.ecog
        data["notes"] = (
            f"ECOG {spec.ecog}. LVEF {spec.lvef_percent}% on echocardiogram. "
            f"Pulmonary function tests adequate. Brain MRI without metastases. "
            f"Target lesion for manufacturing: {spec.lesion}."
        )
        physician = self.cast[Role.PHYSICIAN]
        journey_services.save_eligibility(
            self.journey, actor=physician, data=data, occurred_at=self.when()
        )
        if not failed:
            # A signature is dated when it is signed, never back-dated (21 CFR 11.50): the
            # trail shows this one on the day the demo was built.
            journey_services.sign_eligibility(self.journey, actor=physician, password=DEMO_PASSWORD)

    def walk_to(self, final: Stage) -> None:
        """Enter each stage after the current one up to `final`, in the table's order."""
        path = [*ACTIVE_STAGES, Stage.COMPLETED]
        start = path.index(Stage(self.journey.stage))
        for target in path[start + 1 : path.index(final) + 1]:
            self.enter(target)

    def enter(self, target: Stage) -> None:
        """Record what the stage's guards need, finish the stage's tasks, then move."""
        patient = self.journey.patient
        n = self.number
        self.moment = self.at(STAGE_DAY[target], *ENTERED_AT[target])
        if target == Stage.SCREENING:
            self.finish_tasks()
            self.advance(target, Role.NAVIGATOR)
        elif target == Stage.FINANCIAL_CLEARANCE:
            signed = self.day(SCREENING_VISIT_DAY)
            physician, navigator = self.cast[Role.PHYSICIAN], self.cast[Role.NAVIGATOR]
            for kind, version, who in (
                (ConsentKind.TIL_THERAPY, "RCC-TIL-01 v3.2", physician),
                (ConsentKind.TISSUE_PROCUREMENT, "RCC-TP-02 v2.0", physician),
                (ConsentKind.DATA_SHARING, "RCC-DS-04 v1.4", navigator),
            ):
                patient_services.record_consent(
                    patient,
                    actor=who,
                    kind=kind,
                    form_version=version,
                    signed_on=signed,
                    occurred_at=self.at(SCREENING_VISIT_DAY, 10, 30),
                )
            if self.spec.portal_user:
                patient_services.record_consent(
                    patient,
                    actor=navigator,
                    kind=ConsentKind.PORTAL,
                    form_version="RCC-PORTAL v1.1",
                    signed_on=signed,
                    occurred_at=self.at(SCREENING_VISIT_DAY, 10, 45),
                )
            self.eligibility()
            self.finish_tasks()
            self.advance(target, Role.NAVIGATOR)
        elif target == Stage.RESECTION_SCHEDULED:
            self.milestone(
                MilestoneKind.FINANCIAL_CLEARANCE,
                self.at(STAGE_DAY[target] - 2, 15, 30),
                Role.FINANCIAL_COORDINATOR,
                reference=f"PA-{self.day(0):%y}-{40210 + n * 37:06d}",
                note=f"{self.spec.payer}: benefits verified, prior authorization approved; "
                "out-of-pocket estimate reviewed with the patient.",
            )
            self.finish_tasks()
            self.plan(
                manufacturing_facility=self.facility,
                planned_resection_on=self.day(STAGE_DAY[Stage.TISSUE_PROCURED]),
            )
            self.advance(target, Role.SURGEON)
        elif target == Stage.TISSUE_PROCURED:
            self.milestone(
                MilestoneKind.RESECTION_PERFORMED,
                self.at(STAGE_DAY[target], 9, 40),
                Role.SURGEON,
                reference=f"OR-{self.day(0):%y}-{3100 + n * 11 + self.shift:05d}",
                note=f"Resected {self.spec.lesion}; labelled with the COI identifier and "
                "packed for the courier.",
            )
            if self.chain is not None:
                self.chain.collect_and_dispatch(STAGE_DAY[target], lesion=self.spec.lesion)
            self.finish_tasks()
            self.advance(target, Role.SURGEON)
        elif target == Stage.AT_MANUFACTURING:
            if self.chain is not None:
                # The facility's scan records the receipt; a re-manufacture's technologist
                # first scans the container of the stopped attempt by mistake (blocked).
                first = Item.objects.filter(
                    coi_din=self.journey.coi_din, manufacture_attempt=1, kind="tumor_specimen"
                ).first()
                self.chain.receive_tissue(
                    STAGE_DAY[target], mix_up_first=first if self.shift else None
                )
            else:
                self.milestone(
                    MilestoneKind.TISSUE_RECEIVED,
                    self.at(STAGE_DAY[target], 11, 15),
                    Role.NAVIGATOR,
                    note=f"{FACILITY_NAME} confirmed receipt; container intact, temperature "
                    "within range.",
                )
            self.finish_tasks()
            self.plan(planned_infusion_on=self.day(STAGE_DAY[Stage.INFUSION]))
            self.advance(target, Role.NAVIGATOR)
        elif target == Stage.PRODUCT_RELEASED:
            if self.chain is not None and not _reached(self.spec, Stage.PRODUCT_AT_CENTER):
                # The bench to the harvest, the release tests, and QA's signed release, which
                # records the milestone and asks the navigator to move the journey on. The
                # signature is today's, so the journey moves on today.
                self.moment = None
                self.chain.manufacture(growth=chain.GROWTH_ON_COURSE, through_day=self.today())
                self.chain.harvest_and_test()
                self.chain.release(DEMO_PASSWORD)
            elif self.chain is not None:
                # Released on its day: QA signs with the clock replayed to then, and the
                # journey moves on after the signature.
                day = STAGE_DAY[target]
                self.chain.manufacture(growth=chain.GROWTH_ON_COURSE, through_day=day)
                self.chain.harvest_and_test()
                signed = self.bench_at(day, 15, 0)
                with replayed_clock(signed):
                    self.chain.release(DEMO_PASSWORD)
                self.moment = max(self.moment, signed + dt.timedelta(minutes=30))
            else:
                self.milestone(
                    MilestoneKind.PRODUCT_RELEASED,
                    self.at(STAGE_DAY[target], 16, 0),
                    Role.NAVIGATOR,
                    reference=f"Lot NL-{self.journey.coi_din[-6:]}",
                    note="Certificate of analysis received: all release tests within "
                    "specification.",
                )
            self.finish_tasks()
            self.advance(target, Role.NAVIGATOR)
            if self.moment is not None and self.chain is not None:
                with replayed_clock(self.moment + dt.timedelta(minutes=30)):
                    self.chain.ship_product()
            elif self.chain is not None:
                self.chain.ship_product()
        elif target == Stage.PRODUCT_AT_CENTER:
            received = self.at(STAGE_DAY[target], 10, 20)
            if self.chain is not None:
                # The pharmacist scans each bag in: the last one records the receipt.
                with replayed_clock(received):
                    self.chain.receive_product(received)
            else:
                self.milestone(
                    MilestoneKind.PRODUCT_RECEIVED,
                    received,
                    Role.PHARMACIST,
                    reference=f"Shipper NL-{self.journey.coi_din[-6:]}",
                    note="Cryoshipper received; temperature log within range; stored in "
                    "vapor-phase liquid nitrogen.",
                )
            self.finish_tasks()
            self.advance(target, Role.NAVIGATOR)
        elif target == Stage.INFUSION:
            # The last fludarabine dose given, the move 24 h or more after it; then the day at
            # the bedside.
            self.treatment.lymphodepletion_doses()
            self.moment = self.treatment.infusion_entered()
            self.finish_tasks()
            self.advance(target, Role.NURSE)
            self.treatment.infusion_day()
        elif target == Stage.IL2:
            # The infusion's end is on its checklist; IL-2 is assessed and decided dose by dose.
            self.finish_tasks()
            self.advance(target, Role.PHYSICIAN)
            self.treatment.il2_doses()
        elif target in ENTRY_MILESTONES:
            entry = ENTRY_MILESTONES[target]
            when = self.at(STAGE_DAY[target] + entry.days, *entry.at)
            self.milestone(entry.kind, when, entry.recorded_by, note=entry.note)
            if target == Stage.LYMPHODEPLETION:
                self.ready_for_lymphodepletion()
            self.finish_tasks()
            self.advance(target, entry.advanced_by)
            if target == Stage.LYMPHODEPLETION and self.spec.stage == target:
                self.treatment.lymphodepletion_doses()
        elif target == Stage.INPATIENT_RECOVERY:
            self.finish_tasks()
            self.advance(target, Role.PHYSICIAN)

    def course(self) -> Course:
        """The journey's course, as its orders name it."""
        return Course(
            center=self.center,
            patient=self.journey.patient,
            coi_din=self.journey.coi_din,
            coi_check=self.journey.coi_check,
            manufacture_attempt=self.journey.manufacture_attempt,
            protocol=self.journey.protocol_ref,
        )

    def order(self, kind: OrderKind) -> Order:
        """The physician writes the course's order of `kind` on the settings in force and the
        latest height and weight, now (the clock replayed to when it was written, or the
        build); the pharmacist verifies it with a signature (`TreatmentCourse.verify`)."""
        physician = self.cast[Role.PHYSICIAN]
        if kind == OrderKind.IL2:
            order = order_il2(self.course(), actor=physician)
        else:
            order = order_lymphodepletion(
                self.course(),
                serum_creatinine_mg_per_dl=CREATININE_MG_PER_DL.get(
                    self.spec.sex, CREATININE_OTHERWISE
                ),
                creatinine_drawn_on=min(
                    self.day(STAGE_DAY[Stage.LYMPHODEPLETION] - 2), self.center_today
                ),
                actor=physician,
            )
        return order

    def ready_for_lymphodepletion(self) -> None:
        """What the gate into lymphodepletion needs besides the product and the IL-2 supply: the
        bed booked, the disease re-assessed, and the lymphodepletion order verified."""
        day = STAGE_DAY[Stage.LYMPHODEPLETION]
        self.milestone(
            MilestoneKind.PROGRESSION_CHECKED,
            self.at(day - 2, 16, 0),
            Role.PHYSICIAN,
            note="Restaging CT and brain MRI reviewed: no progression that changes the plan.",
        )
        self.milestone(
            MilestoneKind.BED_RESERVED,
            self.at(day - 1, 11, 0),
            Role.NAVIGATOR,
            reference=f"7B-{10 + self.number:02d}",
            note="Cellular therapy unit bed held from admission through the IL-2 course.",
        )
        with replayed_clock(self.at(day - 1, 15, 0)):
            order = self.order(OrderKind.LYMPHODEPLETION)
        self.treatment.verify(order, self.at(day - 1, 16, 0))

    def remanufacture(self) -> None:
        """The first culture stalled in the REP and the facility stopped it: start again from a
        new resection (attempt 2)."""
        receipt = STAGE_DAY[Stage.AT_MANUFACTURING]
        stalled = receipt + chain.BENCH_DAY["rep_start"] + max(chain.GROWTH_STALLED)
        if self.chain is not None:
            self.chain.manufacture(growth=chain.GROWTH_STALLED, through_day=stalled)
            self.chain.reject(
                "Growth stalled in the REP (0.14 × 10⁹ viable cells on day 7): the dose range "
                "cannot be reached by the planned harvest day.",
                day=stalled,
            )
        # The physician decided the day after the count that showed the stall: the rejection's
        # decision task (opened at the rejection) and the stage's tasks are done then.
        self.moment = self.at(stalled + 1, 10, 0)
        self.finish_tasks()
        delay = REMANUFACTURE_DELAY_DAYS
        self.plan(
            planned_resection_on=self.day(STAGE_DAY[Stage.TISSUE_PROCURED] + delay),
            planned_infusion_on=self.day(STAGE_DAY[Stage.INFUSION] + delay),
        )
        self.advance(
            Stage.RESECTION_SCHEDULED,
            Role.PHYSICIAN,
            reason="Attempt 1 stopped by the facility: growth stalled in the REP, below what "
            "the dose range needs. The facility recommends a new resection; patient agrees.",
        )
        self.shift = REMANUFACTURE_DELAY_DAYS

    def withdraw(self, withdrawal: Withdrawal) -> None:
        stopped_on = STAGE_DAY[withdrawal.from_stage] + withdrawal.days_after_entering
        self.moment = self.at(stopped_on, 15, 0)
        if withdrawal.failed_criteria:
            self.eligibility(failed=withdrawal.failed_criteria)
        if self.chain is not None and withdrawal.from_stage == Stage.AT_MANUFACTURING:
            self.chain.manufacture(growth=chain.GROWTH_ON_COURSE, through_day=stopped_on)
        self.advance(
            Stage.WITHDRAWN,
            Role.PHYSICIAN,
            reason=withdrawal.note,
            withdrawal_reason=withdrawal.reason,
        )
        if self.chain is not None and withdrawal.from_stage == Stage.AT_MANUFACTURING:
            self.chain.stop(
                # Why the patient was withdrawn is clinical and stays at the center.
                "Stopped at the center's request: the treating physician withdrew the patient "
                "from therapy.",
                day=stopped_on,
            )


def _own_phone(contact_phone: str) -> str:
    """A number next to the caregiver's, still in the 555-01xx range kept for fiction."""
    return contact_phone[:-1] + str((int(contact_phone[-1]) + 5) % 10)


def _register(
    spec: PatientSpec,
    center: Organization,
    cast: Mapping[Role, User],
    referred_on: dt.date,
    registered: dt.datetime,
) -> Patient:
    """The navigator registers the patient on the day of the referral (at `registered`)."""
    navigator = cast[Role.NAVIGATOR]
    months = dt.timedelta(days=30)
    patient = patient_services.create_patient(
        actor=navigator,
        center=center,
        occurred_at=registered,
        data={
            "mrn": spec.mrn,
            "given_name": spec.given_name,
            "family_name": spec.family_name,
            "date_of_birth": spec.date_of_birth,
            "sex": spec.sex,
            "phone": spec.phone or _own_phone(spec.contacts[0][2]),
            "email": f"{spec.given_name}.{spec.family_name}".lower().replace("'", "")
            + "@example.com",
            "preferred_language": "English",
            "cancer_type": spec.cancer_type,
            "disease_stage": spec.disease_stage,
            "braf_status": spec.braf_status,
            "diagnosed_on": referred_on - spec.diagnosed_months_before * months,
        },
    )
    for name, relationship, phone, caregiver in spec.contacts:
        patient_services.add_contact(
            patient,
            actor=navigator,
            occurred_at=registered,
            data={
                "name": name,
                "relationship": relationship,
                "phone": phone,
                "is_caregiver": caregiver,
            },
        )
    for therapy in spec.therapies:
        patient_services.add_prior_therapy(
            patient,
            actor=navigator,
            occurred_at=registered,
            data={
                "therapy_class": therapy.therapy_class,
                "agent": therapy.agent,
                "started_on": referred_on - therapy.started_months_before * months,
                "ended_on": referred_on - therapy.ended_months_before * months,
            },
        )
    return patient


def _measure(
    spec: PatientSpec,
    patient: Patient,
    cast: Mapping[Role, User],
    referred_on: dt.date,
    now: dt.datetime,
) -> None:
    """One or two weights: at screening, and at the visit the day before admission for
    lymphodepletion (the orders are computed from it), each recorded at the visit."""
    elapsed = _elapsed_days(spec)
    weight = Decimal(spec.weight_kg)
    visits: list[tuple[int, Decimal, Role]] = [
        (SCREENING_VISIT_DAY if elapsed > SCREENING_VISIT_DAY else 0, weight, Role.NAVIGATOR)
    ]
    if _reached(spec, Stage.LYMPHODEPLETION):
        weight -= Decimal("1.2")
        visits.append((STAGE_DAY[Stage.LYMPHODEPLETION] - 1, weight, Role.NURSE))
    for offset, kg, role in visits:
        measured_on = referred_on + dt.timedelta(days=offset)
        patient_services.record_measurement(
            patient,
            actor=cast[role],
            measured_on=measured_on,
            weight_kg=kg,
            height_cm=spec.height_cm,
            occurred_at=lived_moment(patient.center, measured_on, dt.time(10, 0), now),
        )


def build_demo(
    center_time_zone: str = "America/New_York", facility_time_zone: str = "America/Chicago"
) -> DemoSummary:
    """Create the demo program in an empty database, in one transaction.

    The zones are the center's and the facility's (the demo's are New York and Chicago); each
    counts its days on its own calendar, whatever the hour of the build."""
    now = timezone.now()
    with transaction.atomic():
        center = account_services.create_organization(
            actor=None,
            name=CENTER_NAME,
            kind=OrganizationKind.CENTER,
            isbt_fin="W1234",
            time_zone=center_time_zone,
            phone="+1 (212) 555-0100",
            after_hours_phone="+1 (212) 555-0199",
            address="2100 Riverside Avenue, New York, NY 10027",
        )
        facility = account_services.create_organization(
            actor=None,
            name=FACILITY_NAME,
            kind=OrganizationKind.FACILITY,
            time_zone=facility_time_zone,
            phone="+1 (312) 555-0140",
            after_hours_phone="+1 (312) 555-0149",
            address="800 Northlake Boulevard, Chicago, IL 60611",
        )
        users = {
            spec.username: _create_user(spec, facility if spec.at_facility else center)
            for spec in DEMO_USERS
        }
        cast = {Role(u.role): u for u in users.values() if u.role != Role.PATIENT}
        today = local_today(center, now)
        # The facility's QA set its thresholds and specifications the day before the program's
        # first referral.
        first_referral = today - dt.timedelta(days=max(map(_elapsed_days, PATIENTS)))
        chain.set_facility_specifications(
            facility,
            cast[Role.QA_REVIEWER],
            ("lifileucel_us", "nki_phase3"),
            lived_moment(facility, first_referral - dt.timedelta(days=1), dt.time(10, 0), now),
        )
        # The pharmacist and the physician signed the center's protocol settings the day before
        # the first referral (the clock replayed to then: a signature is dated when it is
        # signed), so every order of the program is computed on the settings in force.
        with replayed_clock(
            lived_moment(center, first_referral - dt.timedelta(days=1), dt.time(11, 0), now)
        ):
            activate_protocols(center, cast)
        for number, spec in enumerate(PATIENTS, start=1):
            referred_on = today - dt.timedelta(days=_elapsed_days(spec))
            # Registered, and the journey opened, on the day of the referral.
            registered = lived_moment(center, referred_on, dt.time(9, 0), now)
            patient = _register(spec, center, cast, referred_on, registered)
            _measure(spec, patient, cast, referred_on, now)
            if spec.portal_user:
                patient_services.link_portal_user(
                    patient,
                    actor=cast[Role.CENTER_ADMIN],
                    user=users[spec.portal_user],
                    occurred_at=registered,
                )
            journey = journey_services.open_journey(
                patient,
                actor=cast[Role.NAVIGATOR],
                protocol=spec.protocol,
                referred_on=referred_on,
                referring_physician=spec.referring_physician,
                occurred_at=lived_moment(center, referred_on, dt.time(9, 30), now),
            )
            walk = _Walk(cast, center, facility, journey, spec, number, now)
            if spec.withdrawal is not None:
                walk.walk_to(spec.withdrawal.from_stage)
                walk.withdraw(spec.withdrawal)
            elif spec.remanufacture:
                walk.walk_to(Stage.AT_MANUFACTURING)
                walk.remanufacture()
                walk.walk_to(spec.stage)
            else:
                walk.walk_to(spec.stage)
            if walk.chain is not None and spec.stage == Stage.AT_MANUFACTURING:
                walk.chain.manufacture(growth=chain.GROWTH_ON_COURSE, through_day=walk.today())
            if spec.lymphodepletion_order == OrderStatus.AWAITING_VERIFICATION:
                walk.order(OrderKind.LYMPHODEPLETION)
            # What the team has done since the stage began was done the day after it began.
            walk.moment = walk.day_after_entering()
            walk.finish_tasks(spec.done_roles)
        # The facility's calendar, and a start booked for each journey whose resection is next.
        chain.open_slots_and_book(
            cast,
            facility,
            local_today(facility, now),
            list(Journey.objects.filter(stage=Stage.RESECTION_SCHEDULED).order_by("id")),
            now,
        )
        by_stage: dict[str, int] = {}
        for stage in Journey.objects.values_list("stage", flat=True):
            by_stage[stage] = by_stage.get(stage, 0) + 1
        return DemoSummary(
            organizations=Organization.objects.count(),
            users=User.objects.count(),
            patients=Patient.objects.count(),
            journeys=Journey.objects.count(),
            audit_events=AuditEvent.objects.count(),
            journeys_by_stage=by_stage,
        )
