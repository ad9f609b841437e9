"""The demo's invented people and their schedule: the staff (one login per role), the 18 patients
with the stage each journey has reached, and the days after referral on which each stage begins.

The data are invented; any resemblance to a real person is accidental. `builder` walks them
through the services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tilcare.accounts.choices import Role
from tilcare.journey.choices import Protocol, Stage, WithdrawalReason
from tilcare.patients.choices import (
    BrafStatus,
    CancerType,
    ContactRelationship,
    DiseaseStage,
    Sex,
    TherapyClass,
)

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
