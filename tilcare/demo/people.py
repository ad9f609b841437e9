"""The demo's invented people and their schedule: the staff (one login per role), the 18 patients
with the stage each journey has reached, and the days after referral on which each stage begins.

The data are invented; any resemblance to a real person is accidental. `builder` walks them
through the services.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

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
    # A journey at "Product at center" whose lymphodepletion order is written and awaits the
    # pharmacist's verification ("awaiting_verification"); empty: none written yet.
    lymphodepletion_order: str = ""
    portal_user: str = ""
    phone: str = ""


def _patient(row: dict[str, Any]) -> PatientSpec:
    """One `[[patient]]` table of people.toml, its stored choice values read back as choices."""
    row = dict(row)
    choices = {
        "sex": Sex(row.pop("sex")),
        "cancer_type": CancerType(row.pop("cancer_type")),
        "disease_stage": DiseaseStage(row.pop("disease_stage")),
        "braf_status": BrafStatus(row.pop("braf_status")),
        "stage": Stage(row.pop("stage")),
        "protocol": Protocol(row.pop("protocol", Protocol.LIFILEUCEL_US_2024)),
    }
    therapies = tuple(
        Therapy(TherapyClass(kind), agent, started, ended)
        for kind, agent, started, ended in row.pop("therapies")
    )
    contacts = tuple(
        (name, ContactRelationship(relationship), phone, primary)
        for name, relationship, phone, primary in row.pop("contacts")
    )
    done_roles = tuple(Role(role) for role in row.pop("done_roles", ()))
    withdrawn = row.pop("withdrawal", None)
    withdrawal = None
    if withdrawn is not None:
        withdrawal = Withdrawal(
            from_stage=Stage(withdrawn["from_stage"]),
            days_after_entering=withdrawn["days_after_entering"],
            reason=WithdrawalReason(withdrawn["reason"]),
            note=withdrawn["note"],
            failed_criteria=tuple(withdrawn.get("failed_criteria", ())),
        )
    return PatientSpec(
        **row,
        **choices,
        therapies=therapies,
        contacts=contacts,
        done_roles=done_roles,
        withdrawal=withdrawal,
    )


# The patients are data, kept in people.toml beside this module: one table each, in walking order.
PATIENTS: tuple[PatientSpec, ...] = tuple(
    _patient(row)
    for row in tomllib.loads(
        resources.files(__package__).joinpath("people.toml").read_text(encoding="utf-8")
    )["patient"]
)
