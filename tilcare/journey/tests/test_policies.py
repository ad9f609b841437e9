"""Who may see and move a journey: every role, in its own organization and in another one.

The journey belongs to center A and is manufactured by facility F. "own" means a user of center A
(center roles) or of facility F (facility roles); "other" means center B or facility G.
The expected tables are written out here so a change to roles or policies is a deliberate one.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from tilcare.accounts.choices import FACILITY_ROLES, Role
from tilcare.journey import policies, selectors
from tilcare.journey.choices import MilestoneKind, Stage
from tilcare.journey.tests.factories import open_journey_for
from tilcare.patients.tests.factories import (
    CenterFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

R = Role
S = Stage
ALL_ROLES = list(Role)
ROLE_IDS = [r.value for r in Role]
SCOPES = ["own", "other"]

CENTER_STAFF = {
    R.NAVIGATOR,
    R.FINANCIAL_COORDINATOR,
    R.SOCIAL_WORKER,
    R.SURGEON,
    R.PHYSICIAN,
    R.NURSE,
    R.PHARMACIST,
    R.CENTER_ADMIN,
}

# Roles that may view the journey / see who the patient is / read its audit trail, in their
# own organization. Facility roles see the journey by COI identifier only.
VIEW = CENTER_STAFF | {R.MANUFACTURING_TECH, R.QA_REVIEWER}
VIEW_IDENTITY = CENTER_STAFF
VIEW_AUDIT = CENTER_STAFF

# Roles that may move a journey into each stage (own center only).
ADVANCE: dict[Stage, set[Role]] = {
    S.REFERRAL: set(),
    S.SCREENING: {R.NAVIGATOR, R.PHYSICIAN},
    S.FINANCIAL_CLEARANCE: {R.NAVIGATOR, R.PHYSICIAN},
    S.RESECTION_SCHEDULED: {R.NAVIGATOR, R.PHYSICIAN, R.SURGEON},
    S.TISSUE_PROCURED: {R.NAVIGATOR, R.SURGEON},
    S.AT_MANUFACTURING: {R.NAVIGATOR},
    S.PRODUCT_RELEASED: {R.NAVIGATOR},
    S.PRODUCT_AT_CENTER: {R.NAVIGATOR},
    S.LYMPHODEPLETION: {R.NAVIGATOR, R.PHYSICIAN, R.NURSE},
    S.INFUSION: {R.PHYSICIAN, R.NURSE},
    S.IL2: {R.PHYSICIAN, R.NURSE},
    S.INPATIENT_RECOVERY: {R.PHYSICIAN, R.NURSE},
    S.FOLLOW_UP: {R.NAVIGATOR, R.PHYSICIAN, R.NURSE},
    S.COMPLETED: {R.NAVIGATOR, R.PHYSICIAN},
    S.WITHDRAWN: {R.NAVIGATOR, R.PHYSICIAN, R.CENTER_ADMIN},
}
REMANUFACTURE = {R.NAVIGATOR, R.PHYSICIAN, R.SURGEON}

RECORD_FINANCIAL_CLEARANCE = {R.FINANCIAL_COORDINATOR}
RECORD_OTHER_MILESTONES = {R.NAVIGATOR, R.SURGEON, R.PHYSICIAN, R.NURSE, R.PHARMACIST}
SIGN_ELIGIBILITY = {R.PHYSICIAN}
PLAN = {R.NAVIGATOR, R.SURGEON, R.PHYSICIAN, R.CENTER_ADMIN}
EDIT_ELIGIBILITY = {R.NAVIGATOR, R.PHYSICIAN}
CREATE_JOURNEY = {R.NAVIGATOR, R.PHYSICIAN, R.CENTER_ADMIN}


@pytest.fixture
def world():
    """Center A's journey, manufactured by facility F; center B and facility G are outsiders."""
    center_a, center_b = CenterFactory(), CenterFactory(isbt_fin="W5678")
    facility_f, facility_g = FacilityFactory(), FacilityFactory()
    navigator = UserFactory(role=R.NAVIGATOR, organization=center_a)
    journey = open_journey_for(PatientFactory(center=center_a), navigator)
    journey.manufacturing_facility = facility_f
    journey.save(update_fields=["manufacturing_facility"])
    return {
        ("center", "own"): center_a,
        ("center", "other"): center_b,
        ("facility", "own"): facility_f,
        ("facility", "other"): facility_g,
        "journey": journey,
    }


def user_of(world, role: Role, scope: str, **extra):
    kind = "facility" if role in FACILITY_ROLES else "center"
    return UserFactory(role=role, organization=world[(kind, scope)], **extra)


def own(role: Role, scope: str, allowed: set[Role]) -> bool:
    return scope == "own" and role in allowed


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_view_predicates(world, role, scope):
    # Given a user of this role in their own or another organization
    user = user_of(world, role, scope)
    journey = world["journey"]

    # When the view predicates are asked / Then they follow the table
    assert (
        policies.can_view_journey(user, journey),
        policies.can_view_journey_identity(user, journey),
        policies.can_view_audit(user, journey),
    ) == (own(role, scope, VIEW), own(role, scope, VIEW_IDENTITY), own(role, scope, VIEW_AUDIT))


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_visible_to_lists_the_journey_exactly_when_it_may_be_viewed(world, role, scope):
    user = user_of(world, role, scope)

    visible = list(selectors.visible_to(user))

    assert visible == ([world["journey"]] if own(role, scope, VIEW) else [])


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_can_advance_journey_per_target_stage(world, role, scope):
    # Given an open journey in referral and a user of this role
    user = user_of(world, role, scope)
    journey = world["journey"]

    # When asked for every target stage / Then only the table's roles of its own center may
    answers = {target: policies.can_advance_journey(user, journey, target) for target in Stage}
    assert answers == {target: own(role, scope, ADVANCE[target]) for target in Stage}


@pytest.mark.parametrize("source", [S.AT_MANUFACTURING, S.PRODUCT_RELEASED, S.PRODUCT_AT_CENTER])
@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_can_advance_journey_for_remanufacture(world, role, source):
    user = user_of(world, role, "own")
    journey = world["journey"]
    journey.stage = source

    assert policies.can_advance_journey(user, journey, S.RESECTION_SCHEDULED) == (
        role in REMANUFACTURE
    )


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_can_record_milestone_per_kind(world, role, scope):
    # Given a user of this role
    user = user_of(world, role, scope)
    journey = world["journey"]

    # When asked for every milestone kind
    answers = {kind: policies.can_record_milestone(user, journey, kind) for kind in MilestoneKind}

    # Then financial clearance is the financial coordinator's alone, the rest the clinicians'
    assert answers == {
        kind: own(
            role,
            scope,
            RECORD_FINANCIAL_CLEARANCE
            if kind == MilestoneKind.FINANCIAL_CLEARANCE
            else RECORD_OTHER_MILESTONES,
        )
        for kind in MilestoneKind
    }


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_can_sign_eligibility_is_the_own_centers_physicians(world, role, scope):
    user = user_of(world, role, scope)

    assert policies.can_sign_eligibility(user, world["journey"]) == own(
        role, scope, SIGN_ELIGIBILITY
    )


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_plan_edit_and_create_predicates(world, role, scope):
    user = user_of(world, role, scope)
    journey = world["journey"]

    assert (
        policies.can_plan_journey(user, journey),
        policies.can_edit_eligibility(user, journey),
        policies.can_create_journey(user, journey.patient),
    ) == (
        own(role, scope, PLAN),
        own(role, scope, EDIT_ELIGIBILITY),
        own(role, scope, CREATE_JOURNEY),
    )


def every_write_predicate(user, journey) -> dict[str, bool]:
    answers = {
        f"advance:{target.value}": policies.can_advance_journey(user, journey, target)
        for target in Stage
    }
    answers.update(
        {
            f"milestone:{kind.value}": policies.can_record_milestone(user, journey, kind)
            for kind in MilestoneKind
        }
    )
    answers.update(
        {
            "plan": policies.can_plan_journey(user, journey),
            "edit_eligibility": policies.can_edit_eligibility(user, journey),
            "sign_eligibility": policies.can_sign_eligibility(user, journey),
        }
    )
    return answers


def every_answer(user, journey) -> dict[str, bool]:
    """Every write predicate's answer, and whether `user` may view the journey, its identity and
    its audit trail, and open a journey for its patient."""
    answers = every_write_predicate(user, journey)
    answers.update(
        {
            "view": policies.can_view_journey(user, journey),
            "identity": policies.can_view_journey_identity(user, journey),
            "audit": policies.can_view_audit(user, journey),
            "create": policies.can_create_journey(user, journey.patient),
        }
    )
    return answers


@pytest.mark.parametrize("closed", [S.COMPLETED, S.WITHDRAWN])
@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_a_closed_journey_can_be_viewed_but_not_changed(world, role, closed):
    # Given a closed journey and a user of its own organization
    user = user_of(world, role, "own")
    journey = world["journey"]
    journey.stage = closed

    # When asked / Then every write predicate says no; viewing is unchanged
    answers = every_write_predicate(user, journey)
    assert answers == dict.fromkeys(answers, False)
    assert policies.can_view_journey(user, journey) == (role in VIEW)


@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_an_inactive_user_is_denied_everything(world, role):
    user = user_of(world, role, "own", is_active=False)
    journey = world["journey"]

    answers = every_answer(user, journey)
    assert answers == dict.fromkeys(answers, False)
    assert list(selectors.visible_to(user)) == []


@pytest.mark.parametrize("role", ALL_ROLES, ids=ROLE_IDS)
def test_a_user_without_organization_is_denied_everything(world, role):
    user = UserFactory(role=role, organization=None)
    journey = world["journey"]

    answers = every_write_predicate(user, journey)
    answers["view"] = policies.can_view_journey(user, journey)
    answers["identity"] = policies.can_view_journey_identity(user, journey)
    assert answers == dict.fromkeys(answers, False)
    assert list(selectors.visible_to(user)) == []


def test_an_anonymous_visitor_is_denied_everything(world):
    visitor = AnonymousUser()
    journey = world["journey"]

    answers = every_answer(visitor, journey)
    assert answers == dict.fromkeys(answers, False)
    assert list(selectors.visible_to(visitor)) == []


@pytest.mark.parametrize(
    "role", sorted(FACILITY_ROLES), ids=sorted(r.value for r in FACILITY_ROLES)
)
def test_a_facility_sees_nothing_before_the_journey_is_assigned_to_it(world, role):
    # Given a journey not yet assigned to any facility
    journey = world["journey"]
    journey.manufacturing_facility = None
    journey.save(update_fields=["manufacturing_facility"])
    user = user_of(world, role, "own")

    # When asked / Then the facility does not see it
    assert policies.can_view_journey(user, journey) is False
    assert list(selectors.visible_to(user)) == []


def test_the_tables_cover_every_role_and_stage():
    assert set(ADVANCE) == set(Stage)
    assert CENTER_STAFF | FACILITY_ROLES | {R.PATIENT} == set(Role)
