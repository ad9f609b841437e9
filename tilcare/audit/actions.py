"""The one catalogue of audit actions: what each event in the trail says was done, and its words.

An auditor reading the trail, a page showing a record's history and a query filtering events all
need the same names; a free string typed at a call site is a name nobody else knows about (and a
typo that silently starts a new kind of event). `record_event` refuses an action that is not here.

The stored value is `<domain>.<record>.<verb>` and never changes once events carry it: a renamed
member keeps its value, and a retired action stays listed so the trail that holds it still reads.
"""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    # Accounts and organizations
    ORGANIZATION_CREATE = "organization.create", "Organization created"
    ORGANIZATION_SETTINGS_UPDATE = "organization.settings.update", "Organization settings changed"
    USER_CREATE = "user.create", "Account created"
    API_TOKEN_ISSUE = "accounts.api_token.issue", "API token issued"
    API_TOKEN_REVOKE = "accounts.api_token.revoke", "API token revoked"
    SECOND_FACTOR_ENROL = "accounts.second_factor.enrol", "Authenticator app set up"
    SECOND_FACTOR_VERIFY_FAILURE = (
        "accounts.second_factor.verify_failure",
        "Wrong sign-in code entered",
    )
    SECOND_FACTOR_RECOVERY_CODE_USE = (
        "accounts.second_factor.recovery_code_use",
        "Recovery code used to sign in",
    )
    SECOND_FACTOR_RESET = "accounts.second_factor.reset", "Authenticator app reset"
    # The audit trail itself
    SIGNATURE_SIGN = "signature.sign", "Signed"
    RECORDS_BASELINE = "audit.records.baseline", "Stored records vouched for"
    # Patients
    PATIENT_CREATE = "patient.create", "Patient registered"
    PATIENT_UPDATE = "patient.update", "Patient details changed"
    PATIENT_CONTACT_ADD = "patient.contact.add", "Contact added"
    PATIENT_PRIOR_THERAPY_ADD = "patient.prior_therapy.add", "Prior therapy added"
    PATIENT_CONSENT_RECORD = "patient.consent.record", "Consent recorded"
    PATIENT_CONSENT_WITHDRAW = "patient.consent.withdraw", "Consent withdrawn"
    PATIENT_MEASUREMENT_RECORD = "patient.measurement.record", "Height and weight recorded"
    PATIENT_PORTAL_USER_LINK = "patient.portal_user.link", "Portal account linked"
    # Journeys (the three moves are named by `TransitionKind`: see `journey_move`)
    JOURNEY_OPEN = "journey.open", "Journey opened"
    JOURNEY_ADVANCE = "journey.advance", "Stage advanced"
    JOURNEY_WITHDRAW = "journey.withdraw", "Journey withdrawn"
    JOURNEY_REMANUFACTURE = "journey.remanufacture", "Re-manufacture started"
    JOURNEY_MILESTONE_RECORD = "journey.milestone.record", "Milestone recorded"
    JOURNEY_MILESTONE_VOID = "journey.milestone.void", "Milestone voided"
    JOURNEY_PLAN = "journey.plan", "Plan changed"
    JOURNEY_FACILITY_CHANGE = "journey.facility.change", "Manufacturing facility changed"
    JOURNEY_ELIGIBILITY_SAVE = "journey.eligibility.save", "Eligibility checklist saved"
    JOURNEY_ELIGIBILITY_AMEND = (
        "journey.eligibility.amend",
        "Signed eligibility checklist amended",
    )
    JOURNEY_TASK_CREATE = "journey.task.create", "Task created"
    JOURNEY_TASK_COMPLETE = "journey.task.complete", "Task completed"
    # Treatment: a center's protocol settings
    PROTOCOL_SETTINGS_ENTER = "treatment.protocol_settings.enter", "Protocol settings entered"
    PROTOCOL_SETTINGS_CHANGE = (
        "treatment.protocol_settings.change",
        "Protocol settings changed before signature",
    )
    PROTOCOL_SETTINGS_SIGN = (
        "treatment.protocol_settings.sign",
        "Protocol settings signed (one signature of two)",
    )
    PROTOCOL_SETTINGS_ACTIVATE = (
        "treatment.protocol_settings.activate",
        "Protocol settings signed and in force",
    )
    PROTOCOL_SETTINGS_SUPERSEDE = (
        "treatment.protocol_settings.supersede",
        "Protocol settings replaced by a newer version",
    )
    PROTOCOL_SETTINGS_DISCARD = (
        "treatment.protocol_settings.discard",
        "Unsigned protocol settings discarded",
    )
    # Treatment orders
    ORDER_WRITE = "treatment.order.write", "Order written"
    ORDER_VERIFY = "treatment.order.verify", "Order verified by pharmacist"
    ORDER_CANCEL = "treatment.order.cancel", "Order cancelled"
    ADMINISTRATION_RECORD = "treatment.administration.record", "Dose given, held or not given"
    INFUSION_OPEN = "treatment.infusion.open", "Infusion checklist opened"
    PREMEDICATION_RECORD = "treatment.premedication.record", "Premedication given"
    THAW_RECORD = "treatment.thaw.record", "Product bag thawed"
    BEDSIDE_SCAN = "treatment.bedside.scan", "Bedside identity check scan"
    INFUSION_START = "treatment.infusion.start", "Infusion started"
    INFUSION_END = "treatment.infusion.end", "Infusion ended"
    IL2_ASSESS = "treatment.aldesleukin.assess", "IL-2 dose assessed by nurse"
    IL2_DECIDE = "treatment.aldesleukin.decide", "IL-2 dose decided by physician"
    IL2_STOP = "treatment.aldesleukin.stop", "IL-2 stopped"
    FILGRASTIM_STOP = "treatment.filgrastim.stop", "Filgrastim stopped"
    # Monitoring
    OBSERVATION_RECORD = "monitoring.observation.record", "Observation recorded and graded"
    BASELINE_SET = "monitoring.baseline.set", "Course baseline set from the verified order"
    OBSERVATION_CORRECT = (
        "monitoring.observation.correct",
        "Observation corrected (a new entry supersedes it)",
    )
    # Chain of identity and custody
    ITEM_CREATE = "identity.item.create", "Item created"
    ITEM_RELEASE = "identity.item.release", "Product bag released"
    ITEM_EXPIRY = "identity.item.expiry", "Product bag expiry set"
    LABEL_PRINT = "identity.label.print", "Label printed"
    LABEL_APPLY = "identity.label.apply", "Label applied"
    LABEL_VOID = "identity.label.void", "Label voided"
    CUSTODY_RECORD = "identity.custody.record", "Custody scan recorded"
    ALERT_RAISE = "identity.alert.raise", "Identity alert raised"
    ALERT_ACKNOWLEDGE = "identity.alert.acknowledge", "Identity alert acknowledged"
    SHIPMENT_CREATE = "identity.shipment.create", "Shipment created"
    SHIPMENT_DISPATCH = "identity.shipment.dispatch", "Shipment dispatched"
    SHIPMENT_TEMPERATURES_ADD = (
        "identity.shipment.temperatures_add",
        "Shipment temperature log added",
    )
    SHIPMENT_RECEIVE = "identity.shipment.receive", "Shipment received"
    # Manufacturing
    SLOT_CREATE = "manufacturing.slot.create", "Manufacturing slot created"
    SLOT_CHANGE_CAPACITY = "manufacturing.slot.change_capacity", "Slot capacity changed"
    BOOKING_CREATE = "manufacturing.booking.create", "Manufacturing slot booked"
    BOOKING_CANCEL = "manufacturing.booking.cancel", "Slot booking cancelled"
    TISSUE_RECEIPT_RECORD = "manufacturing.tissue_receipt.record", "Tissue receipt recorded"
    BATCH_OPEN = "manufacturing.batch.open", "Batch record opened"
    BATCH_ADVANCE = "manufacturing.batch.advance", "Batch moved on"
    BATCH_PLAN_HARVEST = "manufacturing.batch.plan_harvest", "Harvest planned"
    REP_COUNT_RECORD = "manufacturing.rep_count.record", "Cell count recorded"
    CULTURE_RECORD = "manufacturing.culture.record", "Culture recorded"
    CULTURE_COUNT = "manufacturing.culture.count", "Culture count recorded"
    CULTURE_SELECTION_RECORD = "manufacturing.culture_selection.record", "Cultures selected"
    REACTIVITY_IMPORT = "manufacturing.reactivity.import", "Reactivity results imported"
    RELEASE_SPEC_SET = "manufacturing.release_spec.set", "Release specifications set"
    FACILITY_THRESHOLDS_SET = "manufacturing.facility_thresholds.set", "Facility thresholds set"
    RELEASE_TEST_RECORD = "manufacturing.release_test.record", "Release test recorded"
    BAG_RECORD = "manufacturing.bag.record", "Product bag recorded"
    DISPOSITION_DECIDE = "manufacturing.disposition.decide", "Release decision signed"
    DISPOSITION_ACKNOWLEDGE = (
        "manufacturing.disposition.acknowledge",
        "Release exception acknowledged",
    )


def label_of(action: str) -> str:
    """The words for a stored action; an action no longer in the catalogue shows its code."""
    try:
        return str(Action(action).label)
    except ValueError:
        return action


def journey_move(kind: str) -> Action:
    """The action of a journey's move, named by its transition kind (advance, withdraw,
    re-manufacture)."""
    return Action(f"journey.{kind}")
