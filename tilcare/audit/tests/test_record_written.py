"""A row just written is recorded with its snapshot as the event's `after`, nothing before."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.models import AuditEvent
from tilcare.audit.services import record_written
from tilcare.patients.tests.factories import CenterFactory, PatientFactory


@pytest.mark.django_db
def test_the_event_carries_the_row_as_saved():
    # Given a patient just saved
    patient = PatientFactory()

    # When its creation is recorded
    with transaction.atomic():
        event = record_written(
            Action.PATIENT_CREATE,
            patient,
            actor=None,
            subject_id=str(patient.public_id),
            reason="entered from the referral letter",
        )

    # Then the event holds the row's snapshot after and nothing before, with what it was given
    stored = AuditEvent.objects.get(pk=event.pk)
    assert json.loads(stored.after_json) == snapshot(patient)
    assert stored.before_json == ""
    assert stored.action == Action.PATIENT_CREATE
    assert stored.subject_id == str(patient.public_id)
    assert stored.reason == "entered from the referral letter"


@pytest.mark.django_db(transaction=True)
def test_refused_outside_the_service_transaction():
    # Given a committed row and no transaction open
    center = CenterFactory()

    # When its creation is recorded outside a transaction, then it is refused and nothing written
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        record_written(Action.ORGANIZATION_CREATE, center, actor=None)
    assert not AuditEvent.objects.filter(action=Action.ORGANIZATION_CREATE).exists()


@pytest.mark.django_db
def test_a_changed_row_carries_its_state_before_and_after():
    # Given a center whose name is about to change, and its state before
    center = CenterFactory(name="Riverside Cancer Center")
    before = snapshot(center)

    # When the change is saved and recorded
    center.name = "Riverside Cancer Institute"
    center.save()
    with transaction.atomic():
        event = record_written(
            Action.ORGANIZATION_SETTINGS_UPDATE, center, actor=None, before=before
        )

    # Then the event holds both states
    assert json.loads(event.before_json)["name"] == "Riverside Cancer Center"
    assert json.loads(event.after_json)["name"] == "Riverside Cancer Institute"
