"""Who may see and change a patient. Deny by default: each predicate names what allows it.

A manufacturing facility's staff never hold VIEW_PATIENT_IDENTITY, so every predicate here is
false for them (21 CFR 1271.290(c); minimum necessary).
"""

from __future__ import annotations

from typing import Any

from tilcare.accounts.models import Organization, User
from tilcare.accounts.roles import Perm
from tilcare.patients.models import Patient

# What a refused write says, the same on the pages, the API and in the services.
CHANGE_REFUSED = "You may not change this patient's record."
CONSENT_REFUSED = "You may not record consent for this patient."
MEASUREMENT_REFUSED = "You may not record measurements for this patient."


def _staff_of(user: Any, center_id: int | None) -> bool:
    return (
        isinstance(user, User)
        and user.is_authenticated
        and user.is_active
        and user.organization_id is not None
        and user.organization_id == center_id
    )


def can_view_typed_text(
    user: Any, *, author_organization_id: int | None, center_id: int | None
) -> bool:
    """May `user` read free text a person typed on a record of a center's patient (an item's
    description, a milestone's reference, a note, a reason)?

    Typed text may name the patient by mistake. It is shown to the organization whose staff typed
    it, and to the center's own staff who may see its patients' identity; a manufacturing facility
    never reads what the center typed. The one rule for pages, the API and printed labels.
    """
    if not (isinstance(user, User) and user.is_authenticated and user.is_active):
        return False
    if user.organization_id is not None and user.organization_id == author_organization_id:
        return True
    return _staff_of(user, center_id) and user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY)


def can_view_patient(user: Any, patient: Patient) -> bool:
    return _staff_of(user, patient.center_id) and user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY)


def can_create_patient(user: Any, center: Organization) -> bool:
    return (
        center.is_center and _staff_of(user, center.pk) and user.has_perm_code(Perm.CREATE_PATIENT)
    )


def can_change_patient(user: Any, patient: Patient) -> bool:
    return _staff_of(user, patient.center_id) and user.has_perm_code(Perm.CHANGE_PATIENT)


def can_record_consent(user: Any, patient: Patient) -> bool:
    return _staff_of(user, patient.center_id) and user.has_perm_code(Perm.RECORD_CONSENT)


def can_record_measurement(user: Any, patient: Patient) -> bool:
    return _staff_of(user, patient.center_id) and user.has_perm_code(Perm.RECORD_MEASUREMENT)


def can_view_own_record(user: Any, patient: Patient) -> bool:
    """The patient themself, through the portal."""
    return (
        isinstance(user, User)
        and user.is_authenticated
        and user.is_active
        and user.has_perm_code(Perm.VIEW_OWN_RECORD)
        and patient.portal_user_id == user.pk
    )
