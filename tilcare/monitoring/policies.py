"""Who may record a patient's observations and who may read them. Deny by default.

Observations name the patient and are read beside their identity, so only the patient's own
center's staff who see identity read them; a nurse or a treating physician of that center records
them (and corrects them). A manufacturing facility's people never do, and a patient reads their
own through the portal, not here.
"""

from __future__ import annotations

from typing import Any

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.policies import is_active_member
from tilcare.accounts.roles import Perm
from tilcare.patients.models import Patient

RECORD_REFUSED = (
    "Only a nurse or a treating physician of this patient's center records observations."
)
VIEW_REFUSED = "Only this patient's center's clinical staff read the patient's observations."


def _center_staff(user: Any, patient: Patient, perm: Perm) -> bool:
    return (
        is_active_member(user)
        and user.organization_id == patient.center_id
        and user.organization.kind == OrganizationKind.CENTER
        and user.has_perm_code(perm)
    )


def can_record_observation(user: Any, patient: Patient) -> bool:
    """A nurse or a treating physician of the patient's center records (and corrects) an
    observation."""
    return _center_staff(user, patient, Perm.RECORD_OBSERVATION)


def can_view_observations(user: Any, patient: Patient) -> bool:
    """The patient's center's clinical staff who see the patient's identity."""
    return _center_staff(user, patient, Perm.VIEW_PATIENT_IDENTITY)


def can_set_course_baseline(user: Any, center: Any) -> bool:
    """The pharmacist verifying a course's lymphodepletion order sets the baseline it was
    calculated from (the only way a baseline is set)."""
    return (
        is_active_member(user)
        and user.organization_id == center.pk
        and center.kind == OrganizationKind.CENTER
        and user.has_perm_code(Perm.VERIFY_ORDER)
    )
