"""Journeys for tests, opened and moved only through the services (so every write is audited).

- `make_team(center)`: one user per center role at `center` (default a new CenterFactory center,
  FIN "W1234"), plus a manufacturing facility with a technologist and a QA reviewer.
- `riverside_team()` and `theodora_at(center)`: the named team and patient whose names pages show
  and whose identity a facility must never see.
- `open_journey_for(patient, actor)`: opens a lifileucel journey referred on REFERRED_ON.
- `satisfy(journey, code, users=team)`: records what one guard requirement (by its code in
  guards.GUARDS) needs, through the services, as the role that would record it in real life.
- `walk_to(journey, stage, users=team)`: satisfies every guard and advances, stage by stage, along
  the main path (referral … infusion → IL-2 → inpatient recovery … completed) until the journey is
  in `stage`. `Stage.WITHDRAWN` withdraws the journey from wherever it is. After a re-manufacture
  it continues from "Resection scheduled" with the new attempt's milestones.
- The lymphodepletion order requirement is met as a center meets it: the settings in force (the
  test values, signed, if none are), a height and weight (recorded if none), a physician's order
  with a creatinine drawn the center's today, and the pharmacist's verification.
- `journey_at(team, stage)`: a new patient of the team's center, their journey walked to `stage`.
- `make_item(journey, team, kind, number, now=...)`: an item row of the journey's COI, written
  directly (released a day before `now`, in date for 30 days), for tests of what scans and pages
  do with an item rather than of the item services.

Dates are fixed: referral REFERRED_ON, consents signed that day, resection planned 21 days and
infusion 56 days after it. Milestones are recorded one minute before now (the services refuse
future times), except a re-manufacture's resection date, which must follow the previous resection,
and the last fludarabine dose, recorded 25 hours before now so the infusion window (24 to 96 hours
after it) is open.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import Organization, User
from tilcare.core.timeutil import local_today
from tilcare.identity.choices import ITEM_CODES, ItemKind
from tilcare.identity.models import Item
from tilcare.journey import guards, services
from tilcare.journey.choices import ADVANCE_ROLES, MilestoneKind, Protocol, Stage, WithdrawalReason
from tilcare.journey.models import ELIGIBILITY_CRITERIA, Journey
from tilcare.journey.selectors import course_of
from tilcare.patients import services as patient_services
from tilcare.patients.choices import ConsentKind
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import (
    TEST_PASSWORD,
    CenterFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.selectors import active_activation, newer_inputs, open_order
from tilcare.treatment.services.orders import (
    order_lymphodepletion,
    reorder,
    verify_order,
)
from tilcare.treatment.tests.factories import activate

REFERRED_ON = dt.date(2026, 1, 5)
PLANNED_RESECTION_ON = REFERRED_ON + dt.timedelta(days=21)
PLANNED_INFUSION_ON = REFERRED_ON + dt.timedelta(days=56)
CONSENT_FORM_VERSION = "3.2"

# The main path through the table; INFUSION -> INPATIENT_RECOVERY (no IL-2) is not on it.
MAIN_PATH: tuple[Stage, ...] = (
    Stage.REFERRAL,
    Stage.SCREENING,
    Stage.FINANCIAL_CLEARANCE,
    Stage.RESECTION_SCHEDULED,
    Stage.TISSUE_PROCURED,
    Stage.AT_MANUFACTURING,
    Stage.PRODUCT_RELEASED,
    Stage.PRODUCT_AT_CENTER,
    Stage.LYMPHODEPLETION,
    Stage.INFUSION,
    Stage.IL2,
    Stage.INPATIENT_RECOVERY,
    Stage.FOLLOW_UP,
    Stage.COMPLETED,
)

# Who moves a journey into each stage in these walks (the first role ADVANCE_ROLES allows in
# this order of preference).
_ACTOR_PREFERENCE = (Role.NAVIGATOR, Role.PHYSICIAN, Role.NURSE, Role.SURGEON)


# Races between two writers: SQLite cannot run them (see the reason), PostgreSQL can.
POSTGRES_ONLY = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers on one database lock; two in-process connections to the "
    "in-memory test database cannot race, so concurrency is tested on PostgreSQL only.",
)


@dataclass(frozen=True)
class CareTeam:
    center: Organization
    facility: Organization
    navigator: User
    physician: User
    surgeon: User
    nurse: User
    pharmacist: User
    financial_coordinator: User
    social_worker: User
    center_admin: User
    manufacturing_tech: User
    qa_reviewer: User

    def by_role(self, role: Role | str) -> User:
        user: User = getattr(self, Role(role).value)
        return user

    def mover_into(self, stage: Stage) -> User:
        """A user whose role may move a journey into `stage` (the navigator where none may)."""
        allowed = ADVANCE_ROLES.get(stage)
        if not allowed:
            return self.navigator
        role = next(r for r in _ACTOR_PREFERENCE if r in allowed)
        return self.by_role(role)


def make_team(center: Organization | None = None, facility: Organization | None = None) -> CareTeam:
    center = center or CenterFactory()
    facility = facility or FacilityFactory()

    def member(role: Role, organization: Organization, credentials: str = "") -> User:
        user: User = UserFactory(role=role, organization=organization, credentials=credentials)
        return user

    return CareTeam(
        center=center,
        facility=facility,
        navigator=member(Role.NAVIGATOR, center, "RN"),
        physician=member(Role.PHYSICIAN, center, "MD"),
        surgeon=member(Role.SURGEON, center, "MD"),
        nurse=member(Role.NURSE, center, "RN"),
        pharmacist=member(Role.PHARMACIST, center, "PharmD"),
        financial_coordinator=member(Role.FINANCIAL_COORDINATOR, center),
        social_worker=member(Role.SOCIAL_WORKER, center, "LCSW"),
        center_admin=member(Role.CENTER_ADMIN, center),
        manufacturing_tech=member(Role.MANUFACTURING_TECH, facility),
        qa_reviewer=member(Role.QA_REVIEWER, facility),
    )


def riverside_team(**facility_fields: object) -> CareTeam:
    """`make_team` at the Riverside Cancer Center (FIN W1234) and the Northgate Cell Therapy
    facility (with `facility_fields`, such as its time zone): named, because pages and answers are
    checked for the names they show."""
    return make_team(
        CenterFactory(name="Riverside Cancer Center", isbt_fin="W1234"),
        FacilityFactory(name="Northgate Cell Therapy", **facility_fields),
    )


def theodora_at(center: Organization) -> Patient:
    """Theodora Lindqvist (MRN004512, born 1968-04-12), a patient of `center`: her identity is
    what a facility's pages and answers must never show."""
    patient: Patient = PatientFactory(
        center=center,
        given_name="Theodora",
        family_name="Lindqvist",
        mrn="MRN004512",
        date_of_birth=dt.date(1968, 4, 12),
    )
    return patient


def open_journey_for(
    patient: Patient,
    actor: User,
    *,
    protocol: str = Protocol.LIFILEUCEL_US_2024,
    referred_on: dt.date = REFERRED_ON,
) -> Journey:
    return services.open_journey(
        patient,
        actor=actor,
        protocol=protocol,
        referred_on=referred_on,
        referring_physician="Dr. Ana Ortiz",
    )


Satisfier = Callable[[Journey, "CareTeam"], None]


def milestone_time() -> dt.datetime:
    """A moment the services accept for a milestone: just before now."""
    return timezone.now() - dt.timedelta(minutes=1)


def _milestone(kind: MilestoneKind, role: Role, reference: str = "") -> Satisfier:
    def record(journey: Journey, users: CareTeam) -> None:
        services.record_milestone(
            journey,
            actor=users.by_role(role),
            kind=kind,
            occurred_at=milestone_time(),
            reference=reference,
        )

    return record


# The infusion window opens 24 h after the last fludarabine dose: walks record it this long ago.
LAST_FLUDARABINE_AGO = dt.timedelta(hours=25)


def _last_fludarabine(journey: Journey, users: CareTeam) -> None:
    services.record_milestone(
        journey,
        actor=users.nurse,
        kind=MilestoneKind.LAST_FLUDARABINE,
        occurred_at=timezone.now() - LAST_FLUDARABINE_AGO,
    )


def _infusion_window(journey: Journey, users: CareTeam) -> None:
    raise AssertionError(
        "Outside the infusion window: record the last fludarabine dose 24 to 96 hours before now "
        "(walks record it 25 hours before), or move the clock."
    )


def _consent(kind: ConsentKind) -> Satisfier:
    def record(journey: Journey, users: CareTeam) -> None:
        patient_services.record_consent(
            journey.patient,
            actor=users.navigator,
            kind=kind,
            form_version=CONSENT_FORM_VERSION,
            signed_on=journey.referred_on,
        )

    return record


def eligible_checklist_data() -> dict[str, object]:
    data: dict[str, object] = {field: True for field, _ in ELIGIBILITY_CRITERIA}
    data.update({"ecog": 1, "notes": "Meets protocol criteria."})
    return data


def _eligibility(journey: Journey, users: CareTeam) -> None:
    services.save_eligibility(journey, actor=users.physician, data=eligible_checklist_data())
    services.sign_eligibility(journey, actor=users.physician, password=TEST_PASSWORD)


def _diagnosis(journey: Journey, users: CareTeam) -> None:
    raise AssertionError(
        "The patient has no diagnosis; create the patient with one (PatientFactory does)."
    )


def _resection_planned(journey: Journey, users: CareTeam) -> None:
    if journey.manufacture_attempt > 1:
        plan_remanufacture(journey, users=users)
        return
    services.plan_journey(
        journey, actor=users.navigator, changes={"planned_resection_on": PLANNED_RESECTION_ON}
    )


def _facility(journey: Journey, users: CareTeam) -> None:
    services.plan_journey(
        journey, actor=users.navigator, changes={"manufacturing_facility": users.facility}
    )


def _infusion_planned(journey: Journey, users: CareTeam) -> None:
    resection = journey.planned_resection_on or PLANNED_RESECTION_ON
    services.plan_journey(
        journey,
        actor=users.navigator,
        changes={"planned_infusion_on": resection + dt.timedelta(days=35)},
    )


# A plausible serum creatinine (mg/dL) for the lymphodepletion orders of these walks.
ORDER_CREATININE = "0.9"
# The height and weight recorded when a walked patient has none yet.
ORDER_WEIGHT_KG, ORDER_HEIGHT_CM = "70.0", "170.0"


def _lymphodepletion_order(journey: Journey, users: CareTeam) -> None:
    """The physician orders lymphodepletion on the center's settings in force (activated with the
    test values if none are) and the latest height and weight (recorded if none are), with a
    creatinine drawn today; the pharmacist verifies it. An open order awaiting verification is
    verified; one whose inputs changed is written again first."""
    ref = journey.protocol_ref
    if active_activation(journey.center, ref) is None:
        activate(
            journey.center,
            pharmacist=users.pharmacist,
            physician=users.physician,
            protocol=(ref.protocol_id, ref.version),
        )
    today = local_today(journey.center.time_zone)
    if not journey.patient.measurements.exists():
        patient_services.record_measurement(
            journey.patient,
            actor=users.nurse,
            measured_on=today,
            weight_kg=ORDER_WEIGHT_KG,
            height_cm=ORDER_HEIGHT_CM,
        )
    order = open_order(journey.coi_din, journey.manufacture_attempt, OrderKind.LYMPHODEPLETION)
    if order is not None and newer_inputs(order) is not None:
        order = reorder(order, actor=users.physician, reason="Newer inputs recorded.")
    if order is None:
        order = order_lymphodepletion(
            course_of(journey),
            serum_creatinine_mg_per_dl=ORDER_CREATININE,
            creatinine_drawn_on=today,
            actor=users.physician,
        )
    if order.status == OrderStatus.AWAITING_VERIFICATION:
        verify_order(order, actor=users.pharmacist, password=TEST_PASSWORD)


# How each guard requirement (by code) is met, as the role that records it in real life.
SATISFIERS: dict[str, Satisfier] = {
    "diagnosis": _diagnosis,
    "consent_til": _consent(ConsentKind.TIL_THERAPY),
    "eligibility": _eligibility,
    "financial_clearance": _milestone(
        MilestoneKind.FINANCIAL_CLEARANCE, Role.FINANCIAL_COORDINATOR, "PA-2026-0001"
    ),
    "consent_tissue": _consent(ConsentKind.TISSUE_PROCUREMENT),
    "resection_planned": _resection_planned,
    "resection_performed": _milestone(MilestoneKind.RESECTION_PERFORMED, Role.SURGEON),
    "facility": _facility,
    "tissue_received": _milestone(MilestoneKind.TISSUE_RECEIVED, Role.NAVIGATOR),
    "product_released": _milestone(MilestoneKind.PRODUCT_RELEASED, Role.NAVIGATOR, "LOT-0001"),
    "product_received": _milestone(MilestoneKind.PRODUCT_RECEIVED, Role.PHARMACIST),
    "il2_confirmed": _milestone(MilestoneKind.IL2_CONFIRMED, Role.PHARMACIST),
    "infusion_planned": _infusion_planned,
    "bed_reserved": _milestone(MilestoneKind.BED_RESERVED, Role.NAVIGATOR, "Ward 7B"),
    "progression_checked": _milestone(MilestoneKind.PROGRESSION_CHECKED, Role.PHYSICIAN),
    "lymphodepletion_order": _lymphodepletion_order,
    "last_fludarabine": _last_fludarabine,
    "infusion_window": _infusion_window,
    "infusion_done": _milestone(MilestoneKind.INFUSION_DONE, Role.NURSE),
    "discharged": _milestone(MilestoneKind.DISCHARGED, Role.PHYSICIAN),
    "follow_up_complete": _milestone(MilestoneKind.FOLLOW_UP_COMPLETE, Role.NAVIGATOR),
}


def _fresh(journey: Journey) -> Journey:
    return Journey.objects.select_related("patient", "center").get(pk=journey.pk)


def satisfy(journey: Journey, code: str, *, users: CareTeam) -> Journey:
    """Record what requirement `code` needs (nothing if it is already met)."""
    requirement = next(r for reqs in guards.GUARDS.values() for r in reqs if r.code == code)
    if requirement.check(journey) is None:
        return journey
    SATISFIERS[code](journey, users)
    return _fresh(journey)


def prepare_for(
    journey: Journey, target: Stage, *, users: CareTeam, skip: frozenset[str] = frozenset()
) -> Journey:
    """Meet every requirement for entering `target` except the codes in `skip`."""
    journey = _fresh(journey)
    for requirement in guards.GUARDS.get(target, ()):
        if requirement.code not in skip:
            journey = satisfy(journey, requirement.code, users=users)
    return journey


def walk_to(journey: Journey, stage: Stage, *, users: CareTeam) -> Journey:
    """Advance `journey` through the services until it is in `stage`."""
    journey = _fresh(journey)
    if stage == Stage.WITHDRAWN:
        if journey.stage != Stage.WITHDRAWN:
            journey = services.advance(
                journey,
                Stage.WITHDRAWN,
                actor=users.navigator,
                withdrawal_reason=WithdrawalReason.PATIENT_DECISION,
            )
        return journey
    current = MAIN_PATH.index(Stage(journey.stage))
    goal = MAIN_PATH.index(stage)
    if goal < current:
        raise ValueError(f"walk_to cannot go back from {journey.stage} to {stage}.")
    for target in MAIN_PATH[current + 1 : goal + 1]:
        for requirement in guards.GUARDS.get(target, ()):
            journey = satisfy(journey, requirement.code, users=users)
        journey = services.advance(journey, target, actor=users.mover_into(target))
    assert journey.stage == stage
    return journey


def journey_at(team: CareTeam, stage: Stage) -> Journey:
    """A new patient of the team's center, their journey opened and walked to `stage`."""
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    return walk_to(journey, stage, users=team)


def plan_remanufacture(journey: Journey, *, users: CareTeam) -> Journey:
    """Plan the resection a re-manufacture needs: after the previous one, infusion unplanned."""
    services.plan_journey(
        journey,
        actor=users.navigator,
        changes={
            "planned_resection_on": local_today(journey.center.time_zone) + dt.timedelta(days=7),
            "planned_infusion_on": None,
        },
    )
    return _fresh(journey)


def make_item(
    journey: Journey,
    team: CareTeam,
    kind: str = ItemKind.PRODUCT_BAG,
    number: int = 1,
    *,
    now: dt.datetime | None = None,
    **fields: object,
) -> Item:
    """Item `number` of `kind` of the journey's COI and current attempt, released a day before
    `now` (default: now) and in date for 30 days, described by its kind and number, unless
    `fields` say otherwise."""
    now = now or timezone.now()
    values: dict[str, object] = {
        "released_at": now - dt.timedelta(days=1),
        "expires_at": now + dt.timedelta(days=30),
        "manufacture_attempt": journey.manufacture_attempt,
        "description": f"{kind} {number}",
        **fields,
    }
    return Item.objects.create(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        kind=kind,
        number=number,
        item_id=f"{journey.coi_din}-{ITEM_CODES[kind]}{number:02d}",
        center=journey.center,
        facility=team.facility,
        created_by=team.navigator,
        **values,
    )
