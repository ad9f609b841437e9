"""The demo program: every stage shown, every role present, built through audited services."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tilcare.accounts.choices import Role
from tilcare.accounts.models import Organization, User
from tilcare.audit.models import AuditEvent
from tilcare.audit.selectors import verify_chain
from tilcare.core.timeutil import local_today
from tilcare.demo.builder import DEMO_PASSWORD
from tilcare.journey import selectors
from tilcare.journey.choices import Stage, TaskStatus, WithdrawalReason
from tilcare.journey.models import Journey, Task
from tilcare.patients.models import Patient

pytestmark = pytest.mark.django_db


def test_every_stage_has_at_least_one_journey(demo):
    # Given the demo is loaded
    # When journeys are counted by stage
    stages = set(Journey.objects.values_list("stage", flat=True))

    # Then no stage, closed ones included, is empty
    assert stages == set(Stage.values)


def test_navigator_sees_a_patient_in_every_stage_on_the_board(demo):
    # Given the demo's nurse navigator
    navigator = User.objects.get(username="navigator")

    # When they open the board with closed journeys included
    columns = selectors.board(navigator, include_closed=True)

    # Then every column has a card, and each card names its patient
    assert [column.stage for column in columns if not column.cards] == []
    assert [column.stage for column in columns] == list(Stage.values)
    cards = [card for column in columns for card in column.cards]
    assert len(cards) == 18
    assert all(card.patient_name for card in cards)


def test_facility_staff_see_their_journeys_without_patient_identity(demo):
    # Given the demo's manufacturing technologist
    labtech = User.objects.get(username="labtech")

    # When they open the board
    cards = [c for col in selectors.board(labtech, include_closed=True) for c in col.cards]

    # Then they see only COI identifiers, never a name or record number
    assert len(cards) == Journey.objects.filter(manufacturing_facility__isnull=False).count()
    assert len(cards) > 0
    assert {card.patient_name for card in cards} == {None}
    assert {card.mrn for card in cards} == {None}


def test_there_is_one_user_per_role_sharing_the_demo_password(demo):
    # Given the demo is loaded
    users = User.objects.all()

    # Then each role has exactly one login, and the printed password opens each of them
    assert sorted(u.role for u in users) == sorted(Role.values)
    assert all(u.check_password(DEMO_PASSWORD) for u in users)


def test_the_audit_chain_verifies_after_loading(demo):
    # Given the demo is loaded
    # When the chain is recomputed
    report = verify_chain()

    # Then it is intact and covers every event written
    assert report.ok, report.problem
    assert report.events_checked == AuditEvent.objects.count()


def test_every_patient_and_journey_was_created_through_an_audited_service(demo):
    # Given the demo is loaded
    # When the creation events are listed
    created_patients = set(
        AuditEvent.objects.filter(action="patient.create").values_list("object_id", flat=True)
    )
    opened_journeys = set(
        AuditEvent.objects.filter(action="journey.open").values_list("object_id", flat=True)
    )

    # Then each patient and journey has one
    assert created_patients == {str(p) for p in Patient.objects.values_list("public_id", flat=True)}
    assert opened_journeys == {str(j) for j in Journey.objects.values_list("public_id", flat=True)}


def test_one_journey_went_through_remanufacture(demo):
    # Given the demo is loaded
    journey = Journey.objects.get(manufacture_attempt=2)

    # Then its timeline shows the re-manufacture move with its reason
    moves = list(journey.transitions.values_list("kind", "to_stage"))
    assert ("remanufacture", Stage.RESECTION_SCHEDULED) in moves
    assert journey.stage == Stage.AT_MANUFACTURING


def test_withdrawn_journeys_carry_a_coded_reason(demo):
    # Given the demo is loaded
    withdrawn = Journey.objects.filter(stage=Stage.WITHDRAWN)

    # Then each has a coded reason, disease progression while waiting among them
    reasons = set(withdrawn.values_list("withdrawal_reason", flat=True))
    assert reasons == {WithdrawalReason.DISEASE_PROGRESSION, WithdrawalReason.INELIGIBLE}


def test_the_patient_login_is_linked_to_one_patient(demo):
    # Given the demo's patient login
    user = User.objects.get(username="patient")

    # Then it opens exactly one patient's record, with the same name
    patient = Patient.objects.get(portal_user=user)
    assert (patient.given_name, patient.family_name) == (user.first_name, user.last_name)


def test_some_open_tasks_are_overdue(demo):
    # Given the demo is loaded
    today = local_today("America/New_York")

    # When open tasks due before today are counted
    overdue = Task.objects.filter(status=TaskStatus.OPEN, due_on__lt=today)

    # Then a few journeys, not all, have overdue work
    journeys_with_overdue = overdue.values("journey").distinct().count()
    assert journeys_with_overdue == 3


def test_days_in_stage_are_spread_as_in_a_real_program(demo):
    # Given the navigator's board
    navigator = User.objects.get(username="navigator")
    cards = [c for col in selectors.board(navigator, include_closed=True) for c in col.cards]

    # Then journeys have been in their stage from today up to three months
    days = sorted(card.days_in_stage for card in cards)
    assert days[0] == 0
    assert days[-1] == 95


def test_load_demo_refuses_a_database_that_has_organizations(demo):
    # Given a database with the demo already in it
    events_before = AuditEvent.objects.count()

    # When load_demo runs again
    with pytest.raises(CommandError, match="already has organizations"):
        call_command("load_demo")

    # Then nothing was added
    assert Organization.objects.count() == 2
    assert AuditEvent.objects.count() == events_before


def test_load_demo_refuses_production_settings(settings):
    # Given a database run with the production settings (the module's demo may be in it: the
    # settings are refused before the database is looked at)
    settings.SETTINGS_MODULE = "tilcare.config.settings.prod"
    before = User.objects.count(), AuditEvent.objects.count()

    # When load_demo runs
    with pytest.raises(CommandError, match="production settings"):
        call_command("load_demo")

    # Then no demo account with the published password was created
    assert (User.objects.count(), AuditEvent.objects.count()) == before
