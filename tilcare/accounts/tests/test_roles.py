"""The role -> permission table, and the rules a user's role and organization must follow."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tilcare.accounts.choices import CENTER_ROLES, FACILITY_ROLES, Role
from tilcare.accounts.roles import ROLE_PERMISSIONS, Perm, permissions_for
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, UserFactory

ROLE_IDS = [r.value for r in Role]
FACILITY_ROLE_LIST = sorted(FACILITY_ROLES)
PATIENT_PERMISSIONS = {p for p in Perm if p.value.startswith("patients.")}


def test_every_role_has_an_entry_and_no_entry_is_not_a_role():
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_every_role_belongs_to_exactly_one_kind_of_organization():
    covered = CENTER_ROLES | FACILITY_ROLES
    overlap = CENTER_ROLES & FACILITY_ROLES

    assert covered == set(Role)
    assert overlap == set()


@pytest.mark.parametrize("role", FACILITY_ROLE_LIST, ids=[r.value for r in FACILITY_ROLE_LIST])
def test_facility_roles_never_see_patient_identity(role):
    # A manufacturing facility never sees who the patient is (21 CFR 1271.290(c)).
    granted = ROLE_PERMISSIONS[role]

    assert Perm.VIEW_PATIENT_IDENTITY not in granted
    assert granted & PATIENT_PERMISSIONS == set()
    # What a facility may do is all by COI identifier: no permission reads the patient record
    assert not any(p.value.startswith(("patients.", "portal.")) for p in granted)
    assert Perm.VIEW_JOURNEY not in granted
    assert Perm.VIEW_AUDIT not in granted
    assert Perm.VIEW_JOURNEY_COI_ONLY in granted


def test_patient_permissions_are_the_patients_app_codes():
    codes = {p for p in Perm if p.value.startswith("patients.")}

    assert codes == {
        Perm.VIEW_PATIENT_IDENTITY,
        Perm.CREATE_PATIENT,
        Perm.CHANGE_PATIENT,
        Perm.RECORD_CONSENT,
        Perm.RECORD_MEASUREMENT,
    }


def test_the_patient_role_holds_only_its_own_record():
    assert ROLE_PERMISSIONS[Role.PATIENT] == {Perm.VIEW_OWN_RECORD}


@pytest.mark.parametrize("role", sorted(set(Role) - {Role.PATIENT}))
def test_no_staff_role_holds_the_patients_own_record_permission(role):
    assert Perm.VIEW_OWN_RECORD not in ROLE_PERMISSIONS[role]


@pytest.mark.parametrize(
    ("perm", "roles"),
    [
        (Perm.SIGN_ELIGIBILITY, {Role.PHYSICIAN}),
        (Perm.RECORD_FINANCIAL_CLEARANCE, {Role.FINANCIAL_COORDINATOR}),
        (Perm.MANAGE_CENTER, {Role.CENTER_ADMIN}),
        (Perm.WITHDRAW_JOURNEY, {Role.NAVIGATOR, Role.PHYSICIAN, Role.CENTER_ADMIN}),
        (
            Perm.ADVANCE_JOURNEY,
            {Role.NAVIGATOR, Role.SURGEON, Role.PHYSICIAN, Role.NURSE},
        ),
        (Perm.VIEW_JOURNEY_COI_ONLY, {Role.MANUFACTURING_TECH, Role.QA_REVIEWER}),
        (
            Perm.USE_CLINICAL_CALCULATORS,
            {Role.NAVIGATOR, Role.SURGEON, Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST},
        ),
        (
            Perm.USE_MANUFACTURING_CALCULATORS,
            {Role.PHYSICIAN, Role.PHARMACIST, Role.MANUFACTURING_TECH, Role.QA_REVIEWER},
        ),
    ],
    ids=lambda value: value.value if isinstance(value, Perm) else "",
)
def test_sensitive_permissions_are_held_by_exactly_these_roles(perm, roles):
    holders = {role for role, granted in ROLE_PERMISSIONS.items() if perm in granted}

    assert holders == roles


@pytest.mark.parametrize("role", list(Role), ids=ROLE_IDS)
def test_permissions_for_reads_the_table(role):
    assert permissions_for(role) == ROLE_PERMISSIONS[role]
    assert permissions_for(role.value) == ROLE_PERMISSIONS[role]


@pytest.mark.parametrize("role", ["", None, "superuser", "NAVIGATOR", "admin"])
def test_an_unknown_or_empty_role_has_no_permission(role):
    assert permissions_for(role) == frozenset()


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role), ids=ROLE_IDS)
def test_a_user_has_exactly_the_roles_permissions(role):
    user = UserFactory(role=role)

    assert user.permissions == ROLE_PERMISSIONS[role]
    assert all(user.has_perm_code(p) == (p in ROLE_PERMISSIONS[role]) for p in Perm)


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role), ids=ROLE_IDS)
@pytest.mark.parametrize(
    "standing",
    [
        pytest.param({"organization": None}, id="without organization"),
        pytest.param({"is_active": False}, id="inactive"),
    ],
)
def test_a_user_without_organization_or_inactive_has_no_permission(role, standing):
    user = UserFactory(role=role, **standing)

    assert user.permissions == frozenset()
    assert not any(user.has_perm_code(p) for p in Perm)


@pytest.mark.django_db
def test_a_user_with_an_unknown_role_string_has_no_permission():
    # Given a row whose role is not a Role value (e.g. left from an older release)
    user = UserFactory(role="chief_wizard", organization=CenterFactory())

    assert user.permissions == frozenset()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "organization_factory", "kind"),
    [
        *(
            pytest.param(role, CenterFactory, "treatment center", id=f"{role.value} at a center")
            for role in FACILITY_ROLE_LIST
        ),
        *(
            pytest.param(
                role, FacilityFactory, "manufacturing facility", id=f"{role.value} at a facility"
            )
            for role in sorted(CENTER_ROLES)
        ),
    ],
)
def test_a_role_cannot_belong_to_the_other_kind_of_organization(role, organization_factory, kind):
    user = UserFactory.build(role=role, organization=organization_factory())

    with pytest.raises(ValidationError) as refused:
        user.clean()

    assert refused.value.message_dict == {"role": [f"A {role.label} cannot belong to a {kind}."]}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role), ids=ROLE_IDS)
def test_each_role_is_accepted_in_its_own_kind_of_organization(role):
    organization = FacilityFactory() if role in FACILITY_ROLES else CenterFactory()
    user = UserFactory.build(role=role, organization=organization)

    user.clean()  # does not raise
