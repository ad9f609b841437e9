"""The demo program: one center, one manufacturing facility, a person per role, 18 patients.

Everything a clinician would enter is entered through the domain services, as the person whose
job it is (the navigator registers, the physician signs eligibility with a password, the finance
coordinator records clearance, the surgeon records the resection…), so every row has its audit
events and `tilcare audit verify` passes on the result. The data are invented; any resemblance to
a real person is accidental. Never load them into a database that holds real patients.

Two things are adjusted after the walk, on purpose and only here: a demo is built in a few
seconds, but its journeys must look as if they had been lived over months (see `_age_journey`).

The journeys that have not gone past "Product released" (`chained`) are also walked through the
physical chain by `tilcare.demo.chain`: labels, custody scans, shipments with their temperature
logs, the facility's batch record and QA's signed release. The tissue receipt is a facility
scan, the release a QA signature: no one types those milestones. Journeys further along were
recorded from the center's paper record, milestones only (a signature is dated when it is
written, so a demo built today cannot hold a release signed months ago).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from tilcare.accounts import services as account_services
from tilcare.accounts.choices import OrganizationKind, Role
from tilcare.accounts.models import Organization, User
from tilcare.audit.models import AuditEvent
from tilcare.core.timeutil import local_today
from tilcare.demo import chain
from tilcare.identity.models import Item
from tilcare.journey import services as journey_services
from tilcare.journey.choices import (
    ACTIVE_STAGES,
    MilestoneKind,
    Protocol,
    Stage,
    TaskStatus,
    WithdrawalReason,
)
from tilcare.journey.models import ELIGIBILITY_CRITERIA, Journey, Task
from tilcare.patients import services as patient_services
from tilcare.patients.choices import (
    BrafStatus,
    CancerType,
    ConsentKind,
    ContactRelationship,
    DiseaseStage,
    Sex,
    TherapyClass,
)
from tilcare.patients.models import Patient

# Printed by `tilcare demo` and listed in the README: demo accounts only, never real patients.
DEMO_PASSWORD = "tilcare-demo-2026"

CENTER_NAME = "Riverside Cancer Center"
FACILITY_NAME = "Northlake Cell Therapy Facility"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    credentials: str
    role: Role
    at_facility: bool = False

    @property
    def organization_name(self) -> str:
        return FACILITY_NAME if self.at_facility else CENTER_NAME

    @property
    def printed_name(self) -> str:
        name = f"{self.first_name} {self.last_name}"
        return f"{name}, {self.credentials}" if self.credentials else name


# One login per role. The "patient" login is James Whitaker's own portal account.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("navigator", "Dana", "Whitfield", "RN, OCN", Role.NAVIGATOR),
    DemoUser("finance", "Andre", "Bell", "CRCR", Role.FINANCIAL_COORDINATOR),
    DemoUser("social", "Teresa", "Alvarez", "LCSW", Role.SOCIAL_WORKER),
    DemoUser("surgeon", "Samuel", "Okafor", "MD, FACS", Role.SURGEON),
    DemoUser("physician", "Priya", "Raman", "MD", Role.PHYSICIAN),
    DemoUser("nurse", "Kevin", "Brennan", "RN, BSN", Role.NURSE),
    DemoUser("pharmacist", "Hannah", "Kim", "PharmD, BCOP", Role.PHARMACIST),
    DemoUser("admin", "Laura", "Chen", "MHA", Role.CENTER_ADMIN),
    DemoUser("labtech", "Diego", "Santos", "MLS(ASCP)", Role.MANUFACTURING_TECH, at_facility=True),
    DemoUser("qa", "Ingrid", "Novak", "PhD", Role.QA_REVIEWER, at_facility=True),
    DemoUser("patient", "James", "Whitaker", "", Role.PATIENT),
)

# The usual schedule, in days after referral, of the day a journey enters each stage. It follows
# the lifileucel path in DESIGN.md section 1: about 22 days at the facility, lymphodepletion on
# days −7 to −1, infusion on day 0 (referral + 69), discharge about two weeks later, and a year
# of follow-up.
STAGE_DAY: dict[Stage, int] = {
    Stage.REFERRAL: 0,
    Stage.SCREENING: 4,
    Stage.FINANCIAL_CLEARANCE: 12,
    Stage.RESECTION_SCHEDULED: 26,
    Stage.TISSUE_PROCURED: 33,
    Stage.AT_MANUFACTURING: 34,
    Stage.PRODUCT_RELEASED: 57,
    Stage.PRODUCT_AT_CENTER: 60,
    Stage.LYMPHODEPLETION: 62,
    Stage.INFUSION: 69,
    Stage.IL2: 69,
    Stage.INPATIENT_RECOVERY: 71,
    Stage.FOLLOW_UP: 82,
    Stage.COMPLETED: 82 + 365,
}
# A re-manufacture starts again from a new resection 37 days after the first.
REMANUFACTURE_DELAY_DAYS = 37
SCREENING_VISIT_DAY = 9
FOLLOW_UP_VISIT_DAY = 110


@dataclass(frozen=True)
class Therapy:
    therapy_class: TherapyClass
    agent: str
    # Months before the referral; the line of therapy ended when the disease progressed.
    started_months_before: int
    ended_months_before: int


@dataclass(frozen=True)
class Withdrawal:
    from_stage: Stage
    days_after_entering: int
    reason: WithdrawalReason
    note: str
    # For an ineligible patient: the criteria the physician found not met.
    failed_criteria: tuple[str, ...] = ()


@dataclass(frozen=True)
class PatientSpec:
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: Sex
    cancer_type: CancerType
    disease_stage: DiseaseStage
    braf_status: BrafStatus
    diagnosed_months_before: int
    therapies: tuple[Therapy, ...]
    contacts: tuple[tuple[str, ContactRelationship, str, bool], ...]
    weight_kg: str
    height_cm: str
    ecog: int
    lesion: str
    lvef_percent: int
    payer: str
    referring_physician: str
    stage: Stage
    days_in_stage: int
    protocol: Protocol = Protocol.LIFILEUCEL_US_2024
    # Roles whose tasks of the current stage are already done (the rest stay open).
    done_roles: tuple[Role, ...] = ()
    withdrawal: Withdrawal | None = None
    remanufacture: bool = False
    portal_user: str = ""
    phone: str = ""


_PD1 = TherapyClass.ANTI_PD1
_CTLA4 = TherapyClass.ANTI_CTLA4
_LAG3 = TherapyClass.ANTI_LAG3
_BRAF = TherapyClass.BRAF_INHIBITOR
_MEK = TherapyClass.MEK_INHIBITOR
_SPOUSE = ContactRelationship.SPOUSE
_CHILD = ContactRelationship.CHILD
_SIBLING = ContactRelationship.SIBLING
_PARENT = ContactRelationship.PARENT
_FRIEND = ContactRelationship.FRIEND
_CUT = CancerType.MELANOMA_CUTANEOUS
_WT = BrafStatus.WILD_TYPE
_V600 = BrafStatus.V600_MUTANT


def _nivo_ipi(start: int, end: int) -> tuple[Therapy, ...]:
    return (
        Therapy(_PD1, "nivolumab", start, end),
        Therapy(_CTLA4, "ipilimumab", start, start - 3),
    )


def _dab_tram(start: int, end: int) -> tuple[Therapy, ...]:
    return (Therapy(_BRAF, "dabrafenib", start, end), Therapy(_MEK, "trametinib", start, end))


def _enco_bini(start: int, end: int) -> tuple[Therapy, ...]:
    return (Therapy(_BRAF, "encorafenib", start, end), Therapy(_MEK, "binimetinib", start, end))


PATIENTS: tuple[PatientSpec, ...] = (
    PatientSpec(
        "RCC4481207", "Gloria", "Esposito", dt.date(1961, 9, 14), Sex.FEMALE, _CUT,
        DiseaseStage.IV_M1B, _WT, 26, (Therapy(_PD1, "pembrolizumab", 20, 3),),
        (("Richard Esposito", _SPOUSE, "(917) 555-0134", True),),
        "68.2", "163.0", 1, "left inguinal lymph node, 2.6 cm", 62,
        "Medicare Part B with Medigap Plan G",
        "Alan Pierce, MD (Lakeside Oncology Associates)", Stage.REFERRAL, 1,
    ),
    PatientSpec(
        "RCC4481533", "Marcus", "Johnson", dt.date(1972, 3, 2), Sex.MALE, _CUT,
        DiseaseStage.IV_M1C, _V600, 30,
        (*_nivo_ipi(24, 12), *_dab_tram(11, 2)),
        (("Denise Johnson", _SPOUSE, "(718) 555-0188", True),),
        "91.4", "182.5", 1, "right axillary lymph node, 3.1 cm", 58,
        "Commercial PPO (employer plan)",
        "Renee Castillo, MD (Hudson Valley Hematology-Oncology)", Stage.SCREENING, 5,
    ),
    PatientSpec(
        "RCC4481790", "Linh", "Tran", dt.date(1985, 11, 23), Sex.FEMALE,
        CancerType.MELANOMA_ACRAL, DiseaseStage.IV_M1A, _WT, 19,
        (
            Therapy(_PD1, "nivolumab", 14, 2),
            Therapy(_LAG3, "relatlimab (with nivolumab)", 14, 2),
        ),
        (
            ("Quang Tran", _PARENT, "(646) 555-0172", True),
            ("Mai Tran", _SIBLING, "(646) 555-0173", False),
        ),
        "54.6", "157.5", 0, "subcutaneous nodule, right thigh, 2.2 cm", 64,
        "Commercial HMO (marketplace plan)",
        "Owen Fitzgerald, MD (Riverside dermatologic oncology)", Stage.FINANCIAL_CLEARANCE, 13,
        done_roles=(Role.SOCIAL_WORKER,),
    ),
    PatientSpec(
        "RCC4482016", "Robert", "Kowalski", dt.date(1958, 6, 30), Sex.MALE, _CUT,
        DiseaseStage.IV_M1B, _V600, 34,
        (Therapy(_PD1, "pembrolizumab", 28, 14), *_enco_bini(13, 2)),
        (("Helen Kowalski", _SPOUSE, "(201) 555-0119", True),),
        "84.0", "178.0", 1, "right lung lower lobe nodule, 2.4 cm (VATS)", 57,
        "Medicare Advantage (prior authorization required)",
        "Alan Pierce, MD (Lakeside Oncology Associates)", Stage.RESECTION_SCHEDULED, 5,
        done_roles=(),
    ),
    PatientSpec(
        "RCC4482244", "Aisha", "Rahman", dt.date(1979, 1, 17), Sex.FEMALE,
        CancerType.MELANOMA_MUCOSAL, DiseaseStage.IV_M1C, _WT, 22,
        _nivo_ipi(18, 3),
        (("Imran Rahman", _SPOUSE, "(347) 555-0156", True),),
        "61.8", "160.0", 1, "liver segment VI metastasis, 3.4 cm (laparoscopic)", 60,
        "Commercial PPO (union plan)",
        "Grace Obi, MD (Brooklyn Cancer Care)", Stage.TISSUE_PROCURED, 3,
    ),
    PatientSpec(
        "RCC4482471", "James", "Whitaker", dt.date(1966, 8, 9), Sex.MALE, _CUT,
        DiseaseStage.IV_M1B, _WT, 28, (Therapy(_PD1, "pembrolizumab", 22, 4),),
        (
            ("Susan Whitaker", _SPOUSE, "(914) 555-0163", True),
            ("Emily Whitaker", _CHILD, "(914) 555-0164", False),
        ),
        "88.6", "180.3", 0, "left axillary lymph node, 3.0 cm", 61,
        "Commercial PPO (employer plan)",
        "Alan Pierce, MD (Lakeside Oncology Associates)", Stage.AT_MANUFACTURING, 18,
        portal_user="patient", phone="(914) 555-0160",
    ),
    PatientSpec(
        "RCC4482698", "Carmen", "Delgado", dt.date(1970, 4, 25), Sex.FEMALE, _CUT,
        DiseaseStage.III_UNRESECTABLE, _V600, 31,
        (Therapy(_PD1, "nivolumab", 26, 12), *_dab_tram(11, 3)),
        (("Luis Delgado", _SPOUSE, "(973) 555-0127", True),),
        "72.5", "165.1", 1, "in-transit subcutaneous metastasis, left calf, 2.1 cm", 63,
        "Medicaid (New York State)",
        "Renee Castillo, MD (Hudson Valley Hematology-Oncology)", Stage.AT_MANUFACTURING, 9,
        remanufacture=True,
    ),
    PatientSpec(
        "RCC4482925", "Thomas", "Nguyen", dt.date(1983, 12, 5), Sex.MALE,
        CancerType.MELANOMA_UNKNOWN_PRIMARY, DiseaseStage.IV_M1A, _WT, 20,
        (Therapy(_PD1, "pembrolizumab", 17, 9), *_nivo_ipi(8, 2)),
        (("Kimberly Nguyen", _SPOUSE, "(516) 555-0141", True),),
        "79.1", "175.2", 0, "right cervical lymph node, 2.9 cm", 65,
        "Commercial PPO (employer plan)",
        "Grace Obi, MD (Brooklyn Cancer Care)", Stage.PRODUCT_RELEASED, 0,
        protocol=Protocol.NKI_TIL_2022,
    ),
    PatientSpec(
        "RCC4483152", "Evelyn", "Brooks", dt.date(1955, 2, 19), Sex.FEMALE, _CUT,
        DiseaseStage.IV_M1B, _WT, 40, (Therapy(_PD1, "nivolumab", 30, 5),),
        (("Mark Brooks", _CHILD, "(203) 555-0195", True),),
        "66.3", "161.3", 1, "right inguinal lymph node, 2.7 cm", 59,
        "Medicare Part B with Medigap Plan G",
        "Owen Fitzgerald, MD (Riverside dermatologic oncology)", Stage.PRODUCT_AT_CENTER, 1,
    ),
    PatientSpec(
        "RCC4483389", "Daniel", "Okonkwo", dt.date(1976, 7, 11), Sex.MALE,
        CancerType.MELANOMA_ACRAL, DiseaseStage.IV_M1C, _WT, 27,
        (Therapy(_PD1, "pembrolizumab", 22, 12), *_nivo_ipi(11, 3)),
        (("Ngozi Okonkwo", _SPOUSE, "(718) 555-0110", True),),
        "95.2", "185.4", 0, "left popliteal lymph node, 2.5 cm", 62,
        "Commercial PPO (employer plan)",
        "Grace Obi, MD (Brooklyn Cancer Care)", Stage.LYMPHODEPLETION, 4,
        done_roles=(Role.PHARMACIST,),
    ),
    PatientSpec(
        "RCC4483616", "Rachel", "Schneider", dt.date(1988, 5, 3), Sex.FEMALE, _CUT,
        DiseaseStage.IV_M1B, _V600, 21,
        (*_nivo_ipi(18, 8), *_enco_bini(7, 2)),
        (("Jonah Schneider", _SPOUSE, "(212) 555-0181", True),),
        "58.9", "170.2", 0, "right axillary lymph node, 3.3 cm", 66,
        "Commercial PPO (employer plan)",
        "Alan Pierce, MD (Lakeside Oncology Associates)", Stage.INFUSION, 0,
    ),
    PatientSpec(
        "RCC4483843", "William", "Harper", dt.date(1962, 10, 28), Sex.MALE, _CUT,
        DiseaseStage.IV_M1C, _WT, 33, (Therapy(_PD1, "pembrolizumab", 25, 4),),
        (("Margaret Harper", _SPOUSE, "(631) 555-0137", True),),
        "82.7", "176.5", 1, "subcutaneous nodule, back, 2.0 cm", 58,
        "Medicare Part B with employer retiree coverage",
        "Renee Castillo, MD (Hudson Valley Hematology-Oncology)", Stage.IL2, 1,
    ),
    PatientSpec(
        "RCC4484070", "Sofia", "Petrov", dt.date(1974, 9, 8), Sex.FEMALE, _CUT,
        DiseaseStage.IV_M1A, _V600, 29,
        (Therapy(_PD1, "nivolumab", 24, 13), *_dab_tram(12, 3)),
        (("Nikolai Petrov", _SPOUSE, "(917) 555-0149", True),),
        "63.4", "167.6", 0, "left supraclavicular lymph node, 2.3 cm", 64,
        "Commercial PPO (employer plan)",
        "Owen Fitzgerald, MD (Riverside dermatologic oncology)", Stage.INPATIENT_RECOVERY, 6,
        done_roles=(Role.PHYSICIAN,),
    ),
    PatientSpec(
        "RCC4484297", "Michael", "O'Connor", dt.date(1969, 1, 30), Sex.MALE, _CUT,
        DiseaseStage.IV_M1B, _WT, 32,
        (Therapy(_PD1, "pembrolizumab", 26, 10), Therapy(_CTLA4, "ipilimumab", 9, 6)),
        (("Brendan O'Connor", _SIBLING, "(718) 555-0176", True),),
        "86.9", "181.0", 0, "right axillary lymph node, 3.6 cm", 60,
        "Commercial PPO (employer plan)",
        "Alan Pierce, MD (Lakeside Oncology Associates)", Stage.FOLLOW_UP, 30,
        done_roles=(Role.NAVIGATOR,),
    ),
    PatientSpec(
        "RCC4484524", "Grace", "Liu", dt.date(1981, 3, 14), Sex.FEMALE, _CUT,
        DiseaseStage.IV_M1B, _WT, 24, _nivo_ipi(20, 4),
        (("Wei Chen", _SPOUSE, "(646) 555-0158", True),),
        "57.2", "162.6", 0, "left inguinal lymph node, 2.8 cm", 63,
        "Commercial PPO (marketplace plan)",
        "Grace Obi, MD (Brooklyn Cancer Care)", Stage.FOLLOW_UP, 95,
        protocol=Protocol.NKI_TIL_2022, done_roles=(Role.NAVIGATOR,),
    ),
    PatientSpec(
        "RCC4484751", "Frank", "DeLuca", dt.date(1953, 11, 2), Sex.MALE, _CUT,
        DiseaseStage.IV_M1A, _WT, 36, (Therapy(_PD1, "pembrolizumab", 30, 6),),
        (("Angela DeLuca", _SPOUSE, "(201) 555-0102", True),),
        "80.4", "172.7", 1, "right axillary lymph node, 2.7 cm", 57,
        "Medicare Part B with Medigap Plan G",
        "Alan Pierce, MD (Lakeside Oncology Associates)", Stage.COMPLETED, 40,
    ),
    PatientSpec(
        "RCC4484978", "Patricia", "Walsh", dt.date(1964, 6, 21), Sex.FEMALE, _CUT,
        DiseaseStage.IV_M1C, _V600, 25,
        (*_nivo_ipi(21, 10), *_dab_tram(9, 2)),
        (("Colleen Walsh", _CHILD, "(914) 555-0123", True),),
        "70.1", "166.4", 1, "left axillary lymph node, 2.9 cm", 59,
        "Commercial PPO (employer plan)",
        "Renee Castillo, MD (Hudson Valley Hematology-Oncology)", Stage.WITHDRAWN, 20,
        withdrawal=Withdrawal(
            Stage.AT_MANUFACTURING,
            14,
            WithdrawalReason.DISEASE_PROGRESSION,
            "New brain metastases on MRI while the product was in manufacturing; referred for "
            "stereotactic radiosurgery and no longer a candidate for lymphodepletion.",
        ),
    ),
    PatientSpec(
        "RCC4485205", "Harold", "Jensen", dt.date(1949, 12, 12), Sex.MALE, _CUT,
        DiseaseStage.IV_M1B, _WT, 30, (Therapy(_PD1, "pembrolizumab", 24, 3),),
        (
            ("Ruth Jensen", _SPOUSE, "(631) 555-0190", True),
            ("Carl Jensen", _FRIEND, "(631) 555-0191", False),
        ),
        "77.8", "174.0", 2, "right axillary lymph node, 2.5 cm", 38,
        "Medicare Part B with Medigap Plan N",
        "Owen Fitzgerald, MD (Riverside dermatologic oncology)", Stage.WITHDRAWN, 60,
        withdrawal=Withdrawal(
            Stage.SCREENING,
            12,
            WithdrawalReason.INELIGIBLE,
            "Not fit for high-dose IL-2: LVEF 38% on echocardiogram and ECOG 2.",
            failed_criteria=("cardiac_ok", "performance_status_ok", "fit_for_il2"),
        ),
    ),
)  # fmt: skip


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
    """Is this journey walked through the physical chain (scans, shipments, batch record)?"""
    return _reached(spec, Stage.TISSUE_PROCURED) and not _reached(spec, Stage.PRODUCT_AT_CENTER)


class _Walk:
    """Walks one journey forward through the services, each step by the person who does it."""

    def __init__(
        self,
        cast: Mapping[Role, User],
        center: Organization,
        facility: Organization,
        journey: Journey,
        spec: PatientSpec,
        number: int,
    ) -> None:
        self.cast = cast
        self.center = center
        self.facility = facility
        self.journey = journey
        self.spec = spec
        self.number = number
        self.tz = zoneinfo.ZoneInfo(center.time_zone)
        # Days added to the usual schedule once a re-manufacture has started again.
        self.shift = 0
        self.chain = chain.Chain(cast, lambda: self.journey, self.at) if chained(spec) else None

    def today(self) -> int:
        """Today, in days after the referral on the (shifted) schedule."""
        return (local_today(self.center.time_zone) - self.day(0)).days

    def day(self, offset: int) -> dt.date:
        return self.journey.referred_on + dt.timedelta(days=offset + self.shift)

    def at(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        moment = dt.datetime.combine(self.day(offset), dt.time(hour, minute), tzinfo=self.tz)
        # Something that happened "today" cannot be recorded later than now.
        return min(moment, timezone.now() - dt.timedelta(minutes=5))

    def advance(
        self, target: Stage, role: Role, reason: str = "", withdrawal_reason: str = ""
    ) -> None:
        self.journey = journey_services.advance(
            self.journey,
            target,
            actor=self.cast[role],
            reason=reason,
            withdrawal_reason=withdrawal_reason,
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
            self.journey, actor=self.cast[Role.NAVIGATOR], changes=changes
        )

    def finish_tasks(self, roles: tuple[Role, ...] | None = None) -> None:
        """Complete the open tasks of the current stage, each by the role it is for."""
        tasks = Task.objects.filter(
            journey=self.journey, stage=self.journey.stage, status=TaskStatus.OPEN
        ).order_by("id")
        for task in tasks:
            if roles is None or task.role in roles:
                journey_services.complete_task(task, actor=self.cast[Role(task.role)])

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
        journey_services.save_eligibility(self.journey, actor=physician, data=data)
        if not failed:
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
                    patient, actor=who, kind=kind, form_version=version, signed_on=signed
                )
            if self.spec.portal_user:
                patient_services.record_consent(
                    patient,
                    actor=navigator,
                    kind=ConsentKind.PORTAL,
                    form_version="RCC-PORTAL v1.1",
                    signed_on=signed,
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
            if self.chain is not None:
                # The bench to the harvest, the release tests, and QA's signed release, which
                # records the milestone and asks the navigator to move the journey on.
                self.chain.manufacture(growth=chain.GROWTH_ON_COURSE, through_day=self.today())
                self.chain.harvest_and_test()
                self.chain.release(DEMO_PASSWORD)
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
            if self.chain is not None:
                self.chain.ship_product()
        elif target == Stage.PRODUCT_AT_CENTER:
            self.milestone(
                MilestoneKind.PRODUCT_RECEIVED,
                self.at(STAGE_DAY[target], 10, 20),
                Role.PHARMACIST,
                reference=f"Shipper NL-{self.journey.coi_din[-6:]}",
                note="Cryoshipper received; temperature log within range; stored in vapor-phase "
                "liquid nitrogen.",
            )
            self.finish_tasks()
            self.advance(target, Role.NAVIGATOR)
        elif target == Stage.LYMPHODEPLETION:
            self.milestone(
                MilestoneKind.IL2_CONFIRMED,
                self.at(STAGE_DAY[target] - 1, 14, 0),
                Role.PHARMACIST,
                note="Aldesleukin vials for the full course on hand and reserved.",
            )
            self.finish_tasks()
            self.advance(target, Role.PHYSICIAN)
        elif target == Stage.INFUSION:
            self.milestone(
                MilestoneKind.LAST_FLUDARABINE,
                self.at(STAGE_DAY[target] - 1, 9, 0),
                Role.NURSE,
                note="Day −1: fludarabine dose 5 of 5 given.",
            )
            self.finish_tasks()
            self.advance(target, Role.NURSE)
        elif target == Stage.IL2:
            self.milestone(
                MilestoneKind.INFUSION_DONE,
                self.at(STAGE_DAY[target], 14, 0),
                Role.NURSE,
                note="Day 0: two-person bedside identity check matched; infusion completed "
                "without reaction.",
            )
            self.finish_tasks()
            self.advance(target, Role.PHYSICIAN)
        elif target == Stage.INPATIENT_RECOVERY:
            self.finish_tasks()
            self.advance(target, Role.PHYSICIAN)
        elif target == Stage.FOLLOW_UP:
            self.milestone(
                MilestoneKind.DISCHARGED,
                self.at(STAGE_DAY[target], 12, 0),
                Role.PHYSICIAN,
                note="ANC recovered; afebrile 48 h; discharged home with caregiver.",
            )
            self.finish_tasks()
            self.advance(target, Role.NAVIGATOR)
        elif target == Stage.COMPLETED:
            self.milestone(
                MilestoneKind.FOLLOW_UP_COMPLETE,
                self.at(STAGE_DAY[target], 11, 0),
                Role.NAVIGATOR,
                note="One-year follow-up complete; ongoing partial response (RECIST 1.1). "
                "Care returned to the referring oncologist.",
            )
            self.finish_tasks()
            self.advance(target, Role.PHYSICIAN)

    def remanufacture(self) -> None:
        """The first culture stalled in the REP and the facility stopped it: start again from a
        new resection (attempt 2)."""
        if self.chain is not None:
            receipt = STAGE_DAY[Stage.AT_MANUFACTURING]
            self.chain.manufacture(
                growth=chain.GROWTH_STALLED,
                through_day=receipt + chain.BENCH_DAY["rep_start"] + max(chain.GROWTH_STALLED),
            )
            self.chain.reject(
                "Growth stalled in the REP (0.14 × 10⁹ viable cells on day 7): the dose range "
                "cannot be reached by the planned harvest day."
            )
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
        if withdrawal.failed_criteria:
            self.eligibility(failed=withdrawal.failed_criteria)
        stopped_on = STAGE_DAY[withdrawal.from_stage] + withdrawal.days_after_entering
        if self.chain is not None and withdrawal.from_stage == Stage.AT_MANUFACTURING:
            self.chain.manufacture(growth=chain.GROWTH_ON_COURSE, through_day=stopped_on)
        self.advance(
            Stage.WITHDRAWN,
            Role.PHYSICIAN,
            reason=withdrawal.note,
            withdrawal_reason=withdrawal.reason,
        )
        if self.chain is not None and withdrawal.from_stage == Stage.AT_MANUFACTURING:
            self.chain.reject("Stopped at the center's request: the patient was withdrawn.")


def _own_phone(contact_phone: str) -> str:
    """A number next to the caregiver's, still in the 555-01xx range kept for fiction."""
    return contact_phone[:-1] + str((int(contact_phone[-1]) + 5) % 10)


def _register(
    spec: PatientSpec, center: Organization, cast: Mapping[Role, User], referred_on: dt.date
) -> Patient:
    navigator = cast[Role.NAVIGATOR]
    months = dt.timedelta(days=30)
    patient = patient_services.create_patient(
        actor=navigator,
        center=center,
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
            data={
                "therapy_class": therapy.therapy_class,
                "agent": therapy.agent,
                "started_on": referred_on - therapy.started_months_before * months,
                "ended_on": referred_on - therapy.ended_months_before * months,
            },
        )
    return patient


def _measure(
    spec: PatientSpec, patient: Patient, cast: Mapping[Role, User], referred_on: dt.date
) -> None:
    """One to three weights: at screening, on admission for lymphodepletion, at follow-up."""
    elapsed = _elapsed_days(spec)
    weight = Decimal(spec.weight_kg)
    visits: list[tuple[int, Decimal, Role]] = [
        (SCREENING_VISIT_DAY if elapsed > SCREENING_VISIT_DAY else 0, weight, Role.NAVIGATOR)
    ]
    if _reached(spec, Stage.LYMPHODEPLETION):
        weight -= Decimal("1.2")
        visits.append((STAGE_DAY[Stage.LYMPHODEPLETION], weight, Role.NURSE))
    if _reached(spec, Stage.FOLLOW_UP) and elapsed > FOLLOW_UP_VISIT_DAY:
        visits.append((FOLLOW_UP_VISIT_DAY, weight - Decimal("3.4"), Role.NAVIGATOR))
    for offset, kg, role in visits:
        patient_services.record_measurement(
            patient,
            actor=cast[role],
            measured_on=referred_on + dt.timedelta(days=offset),
            weight_kg=kg,
            height_cm=spec.height_cm,
        )


def _age_journey(journey: Journey, spec: PatientSpec) -> None:
    """Make the journey look lived: the stage entered days ago, its open tasks due since then.

    Only the demo does this. Services stamp the stage and the tasks with "now", and a demo built
    in seconds would otherwise show every patient on day 0 of their stage with nothing overdue.
    The journey and its tasks are working state, not audited rows; the audit trail and the
    append-only transition log are never touched, so `tilcare audit verify` still passes.
    """
    days = dt.timedelta(days=spec.days_in_stage)
    Journey.objects.filter(pk=journey.pk).update(stage_entered_at=timezone.now() - days)
    for task in Task.objects.filter(journey=journey, status=TaskStatus.OPEN):
        # Tasks were created with due dates counted from today; count them from the stage entry.
        Task.objects.filter(pk=task.pk).update(due_on=task.due_on - days)


def build_demo() -> DemoSummary:
    """Create the demo program in an empty database, in one transaction."""
    with transaction.atomic():
        center = account_services.create_organization(
            actor=None,
            name=CENTER_NAME,
            kind=OrganizationKind.CENTER,
            isbt_fin="W1234",
            time_zone="America/New_York",
            phone="+1 (212) 555-0100",
            after_hours_phone="+1 (212) 555-0199",
            address="2100 Riverside Avenue, New York, NY 10027",
        )
        facility = account_services.create_organization(
            actor=None,
            name=FACILITY_NAME,
            kind=OrganizationKind.FACILITY,
            time_zone="America/Chicago",
            phone="+1 (312) 555-0140",
            after_hours_phone="+1 (312) 555-0149",
            address="800 Northlake Boulevard, Chicago, IL 60611",
        )
        users = {
            spec.username: _create_user(spec, facility if spec.at_facility else center)
            for spec in DEMO_USERS
        }
        cast = {Role(u.role): u for u in users.values() if u.role != Role.PATIENT}
        chain.set_facility_specifications(
            facility, cast[Role.QA_REVIEWER], ("lifileucel_us", "nki_phase3")
        )
        today = local_today(center.time_zone)
        for number, spec in enumerate(PATIENTS, start=1):
            referred_on = today - dt.timedelta(days=_elapsed_days(spec))
            patient = _register(spec, center, cast, referred_on)
            _measure(spec, patient, cast, referred_on)
            if spec.portal_user:
                patient_services.link_portal_user(
                    patient, actor=cast[Role.CENTER_ADMIN], user=users[spec.portal_user]
                )
            journey = journey_services.open_journey(
                patient,
                actor=cast[Role.NAVIGATOR],
                protocol=spec.protocol,
                referred_on=referred_on,
                referring_physician=spec.referring_physician,
            )
            walk = _Walk(cast, center, facility, journey, spec, number)
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
            walk.finish_tasks(spec.done_roles)
            _age_journey(walk.journey, spec)
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
