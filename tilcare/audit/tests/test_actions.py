"""The audit action catalogue: one list of what an event can say was done, and its words."""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from tilcare.audit.actions import Action, journey_move, label_of
from tilcare.audit.models import AuditEvent
from tilcare.audit.services import record_event
from tilcare.journey.choices import TransitionKind
from tilcare.patients.tests.factories import CenterFactory

pytestmark = pytest.mark.django_db


def test_an_action_outside_the_catalogue_is_refused_and_nothing_is_written():
    # Given an organization to write about, and the trail as it stands
    center = CenterFactory()
    before = AuditEvent.objects.count()

    # When a service records an action nobody catalogued (a typo of "patient.create")
    with pytest.raises(ValueError) as refused, transaction.atomic():
        record_event("patient.craete", center, actor=None)  # type: ignore[arg-type]

    # Then it is refused, naming the action and where actions are named, and nothing is written
    assert str(refused.value) == (
        "“patient.craete” is not an audit action: name it in tilcare.audit.actions."
    )
    assert AuditEvent.objects.count() == before


def test_a_catalogued_action_is_stored_as_its_code():
    # Given an organization
    center = CenterFactory()

    # When an event is recorded with a catalogue member
    with transaction.atomic():
        event = record_event(Action.ORGANIZATION_SETTINGS_UPDATE, center, actor=None)

    # Then the trail holds the plain code, as it always has
    event.refresh_from_db()
    assert event.action == "organization.settings.update"
    assert type(event.action) is str


def test_every_code_names_its_domain_and_is_listed_once():
    codes = [action.value for action in Action]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert re.fullmatch(r"[a-z]+(\.[a-z_]+)+", code), code
    labels = [action.label for action in Action]
    assert len(labels) == len(set(labels))


def test_each_journey_move_has_its_action():
    assert journey_move(TransitionKind.ADVANCE) is Action.JOURNEY_ADVANCE
    assert journey_move(TransitionKind.WITHDRAW) is Action.JOURNEY_WITHDRAW
    assert journey_move(TransitionKind.REMANUFACTURE) is Action.JOURNEY_REMANUFACTURE


def test_words_for_an_action_and_the_code_for_one_no_longer_listed():
    assert label_of("journey.milestone.void") == "Milestone voided"
    assert label_of("journey.retired.action") == "journey.retired.action"
