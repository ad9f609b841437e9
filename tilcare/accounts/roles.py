"""The one role -> permissions table.

"What may a nurse do?" is the question an auditor asks, so the table is written role by role.
Object-level rules (same organization, record state) live in each domain's `policies.py`; this
table only says which kinds of action a role may ever take.
"""

from __future__ import annotations

from enum import StrEnum

from tilcare.accounts.choices import Role


class Perm(StrEnum):
    # Patient identity: name, date of birth, record number, contacts. Never granted to a facility.
    VIEW_PATIENT_IDENTITY = "patients.view_identity"
    CREATE_PATIENT = "patients.create"
    CHANGE_PATIENT = "patients.change"
    RECORD_CONSENT = "patients.record_consent"
    RECORD_MEASUREMENT = "patients.record_measurement"
    # Journeys as seen by the center (with identity) or the facility (COI identifier only).
    VIEW_JOURNEY = "journey.view"
    VIEW_JOURNEY_COI_ONLY = "journey.view_coi_only"
    CREATE_JOURNEY = "journey.create"
    ADVANCE_JOURNEY = "journey.advance"
    WITHDRAW_JOURNEY = "journey.withdraw"
    RECORD_MILESTONE = "journey.record_milestone"
    RECORD_FINANCIAL_CLEARANCE = "journey.record_financial_clearance"
    PLAN_JOURNEY = "journey.plan"
    EDIT_ELIGIBILITY = "journey.edit_eligibility"
    SIGN_ELIGIBILITY = "journey.sign_eligibility"
    COMPLETE_TASK = "journey.complete_task"
    VIEW_AUDIT = "audit.view"
    # The center's own settings (ISBT 128 FIN, time zone, phone numbers).
    MANAGE_CENTER = "accounts.manage_center"
    # The patient's own portal.
    VIEW_OWN_RECORD = "portal.view_own"
    # Stateless calculators (no patient record is read or written): doses, grades, scores at the
    # bedside and in the pharmacy; growth forecasts and culture ranking in the lab.
    # Chain of identity and custody (by COI identifier; never patient identity).
    VIEW_CUSTODY = "identity.view_custody"
    PRINT_LABEL = "identity.print_label"
    RECORD_CUSTODY = "identity.record_custody"
    MANAGE_SHIPMENT = "identity.manage_shipment"
    ACKNOWLEDGE_IDENTITY_ALERT = "identity.acknowledge_alert"
    # Manufacturing capacity: the facility keeps its slots, the center books them.
    MANAGE_SLOTS = "manufacturing.manage_slots"
    BOOK_SLOT = "manufacturing.book_slot"
    # The batch record at the facility: the technologist performs the process, QA reviews and
    # releases it (QA does not perform what it reviews), the treating physician acknowledges a
    # release under exception.
    RECORD_BATCH = "manufacturing.record_batch"
    END_BATCH = "manufacturing.end_batch"
    RELEASE_BATCH = "manufacturing.release_batch"
    MANAGE_RELEASE_SPECIFICATIONS = "manufacturing.manage_release_specifications"
    ACKNOWLEDGE_RELEASE_EXCEPTION = "manufacturing.acknowledge_release_exception"
    # A protocol's center settings (weight basis, BSA cap, renal bands, rounding...): entered
    # once per center and signed by a pharmacist and a treating physician before any dose is
    # calculated for a patient.
    ENTER_PROTOCOL_SETTINGS = "treatment.enter_protocol_settings"
    SIGN_PROTOCOL_SETTINGS = "treatment.sign_protocol_settings"
    # Orders computed from those settings: the treating physician writes, the pharmacist verifies.
    WRITE_ORDER = "treatment.write_order"
    VERIFY_ORDER = "treatment.verify_order"
    # Each ordered dose given, held or not given, recorded at the bedside.
    RECORD_ADMINISTRATION = "treatment.record_administration"
    # The infusion day at the bedside: premedication, thaw, the two-person identity check (each
    # person scans the wristband and every bag), start and end of the infusion.
    RECORD_INFUSION = "treatment.record_infusion"
    # IL-2 dose by dose: the nurse assesses and decides, the treating physician decides finally.
    ASSESS_IL2_DOSE = "treatment.assess_il2_dose"
    DECIDE_IL2_DOSE = "treatment.decide_il2_dose"
    # Vital signs, weight, fluid balance and laboratory values recorded on the patient (each
    # graded as it arrives), and a correction of one (a new entry that supersedes it).
    RECORD_OBSERVATION = "monitoring.record_observation"
    USE_CLINICAL_CALCULATORS = "calculators.use_clinical"
    USE_MANUFACTURING_CALCULATORS = "calculators.use_manufacturing"


_CLINICAL_READ = {
    Perm.VIEW_PATIENT_IDENTITY,
    Perm.VIEW_JOURNEY,
    Perm.VIEW_AUDIT,
    Perm.COMPLETE_TASK,
    Perm.VIEW_CUSTODY,
}
# Those who handle the specimen and the product at the center: label, scan, ship, receive.
_CENTER_HANDLING = {Perm.PRINT_LABEL, Perm.RECORD_CUSTODY, Perm.MANAGE_SHIPMENT}
_FACILITY = {
    Perm.VIEW_JOURNEY_COI_ONLY,
    Perm.VIEW_CUSTODY,
    Perm.PRINT_LABEL,
    Perm.RECORD_CUSTODY,
    Perm.MANAGE_SHIPMENT,
    Perm.USE_MANUFACTURING_CALCULATORS,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.NAVIGATOR: frozenset(
        _CLINICAL_READ
        | {
            Perm.CREATE_PATIENT,
            Perm.CHANGE_PATIENT,
            Perm.RECORD_CONSENT,
            Perm.RECORD_MEASUREMENT,
            Perm.CREATE_JOURNEY,
            Perm.ADVANCE_JOURNEY,
            Perm.WITHDRAW_JOURNEY,
            Perm.RECORD_MILESTONE,
            Perm.PLAN_JOURNEY,
            Perm.EDIT_ELIGIBILITY,
            Perm.USE_CLINICAL_CALCULATORS,
            *_CENTER_HANDLING,
            Perm.ACKNOWLEDGE_IDENTITY_ALERT,
            Perm.BOOK_SLOT,
        }
    ),
    Role.FINANCIAL_COORDINATOR: frozenset(_CLINICAL_READ | {Perm.RECORD_FINANCIAL_CLEARANCE}),
    Role.SOCIAL_WORKER: frozenset(_CLINICAL_READ),
    Role.SURGEON: frozenset(
        _CLINICAL_READ
        | {
            Perm.ADVANCE_JOURNEY,
            Perm.RECORD_MILESTONE,
            Perm.PLAN_JOURNEY,
            Perm.USE_CLINICAL_CALCULATORS,
            *_CENTER_HANDLING,
        }
    ),
    Role.PHYSICIAN: frozenset(
        _CLINICAL_READ
        | {
            Perm.CHANGE_PATIENT,
            Perm.RECORD_CONSENT,
            Perm.RECORD_MEASUREMENT,
            Perm.CREATE_JOURNEY,
            Perm.ADVANCE_JOURNEY,
            Perm.WITHDRAW_JOURNEY,
            Perm.RECORD_MILESTONE,
            Perm.PLAN_JOURNEY,
            Perm.EDIT_ELIGIBILITY,
            Perm.SIGN_ELIGIBILITY,
            Perm.ENTER_PROTOCOL_SETTINGS,
            Perm.SIGN_PROTOCOL_SETTINGS,
            Perm.WRITE_ORDER,
            Perm.RECORD_ADMINISTRATION,
            Perm.RECORD_INFUSION,
            Perm.ASSESS_IL2_DOSE,
            Perm.DECIDE_IL2_DOSE,
            Perm.RECORD_OBSERVATION,
            Perm.USE_CLINICAL_CALCULATORS,
            Perm.USE_MANUFACTURING_CALCULATORS,
            Perm.ACKNOWLEDGE_IDENTITY_ALERT,
            Perm.BOOK_SLOT,
            Perm.ACKNOWLEDGE_RELEASE_EXCEPTION,
        }
    ),
    Role.NURSE: frozenset(
        _CLINICAL_READ
        | {
            Perm.RECORD_MEASUREMENT,
            Perm.ADVANCE_JOURNEY,
            Perm.RECORD_MILESTONE,
            Perm.RECORD_ADMINISTRATION,
            Perm.RECORD_INFUSION,
            Perm.ASSESS_IL2_DOSE,
            Perm.RECORD_OBSERVATION,
            Perm.USE_CLINICAL_CALCULATORS,
            *_CENTER_HANDLING,
        }
    ),
    Role.PHARMACIST: frozenset(
        _CLINICAL_READ
        | {
            Perm.RECORD_MILESTONE,
            Perm.ENTER_PROTOCOL_SETTINGS,
            Perm.SIGN_PROTOCOL_SETTINGS,
            Perm.VERIFY_ORDER,
            Perm.USE_CLINICAL_CALCULATORS,
            Perm.USE_MANUFACTURING_CALCULATORS,
            *_CENTER_HANDLING,
            Perm.ACKNOWLEDGE_IDENTITY_ALERT,
        }
    ),
    Role.CENTER_ADMIN: frozenset(
        _CLINICAL_READ
        | {
            Perm.CREATE_PATIENT,
            Perm.CHANGE_PATIENT,
            Perm.CREATE_JOURNEY,
            Perm.WITHDRAW_JOURNEY,
            Perm.PLAN_JOURNEY,
            Perm.MANAGE_CENTER,
        }
    ),
    Role.MANUFACTURING_TECH: frozenset(
        _FACILITY | {Perm.MANAGE_SLOTS, Perm.RECORD_BATCH, Perm.END_BATCH}
    ),
    Role.QA_REVIEWER: frozenset(
        _FACILITY
        | {
            Perm.ACKNOWLEDGE_IDENTITY_ALERT,
            Perm.END_BATCH,
            Perm.RELEASE_BATCH,
            Perm.MANAGE_RELEASE_SPECIFICATIONS,
        }
    ),
    Role.PATIENT: frozenset({Perm.VIEW_OWN_RECORD}),
}


# A role holding any of these needs a second factor at sign-in (accounts.policies): it sees who the
# patient is, signs or attests records (eligibility, the chain-of-identity scans and custody
# handoffs that QA and the bedside sign against), or controls other people's access.
SECOND_FACTOR_PERMS = frozenset(
    {
        Perm.VIEW_PATIENT_IDENTITY,
        Perm.SIGN_ELIGIBILITY,
        Perm.SIGN_PROTOCOL_SETTINGS,
        Perm.WRITE_ORDER,
        Perm.VERIFY_ORDER,
        Perm.RECORD_ADMINISTRATION,
        Perm.RECORD_INFUSION,
        Perm.ASSESS_IL2_DOSE,
        Perm.DECIDE_IL2_DOSE,
        Perm.RECORD_OBSERVATION,
        Perm.RECORD_CUSTODY,
        Perm.ACKNOWLEDGE_IDENTITY_ALERT,
        Perm.MANAGE_CENTER,
    }
)


def permissions_for(role: str | None) -> frozenset[Perm]:
    """Deny by default: an unknown or empty role has no permission at all."""
    if not role:
        return frozenset()
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()
