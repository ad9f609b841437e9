"""Fixtures the manufacturing tests share: the center and facility team (`batch_team`), a patient
with a known identity (to assert facility pages never show it), a journey, an open slot, a batch
in the screen or in the REP, the release scene, and a clock standing still at `NOW`."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tilcare.journey.tests.factories import open_journey_for
from tilcare.manufacturing.choices import BatchStatus
from tilcare.manufacturing.tests.batch_factories import batch_team, open_test_batch, walk_batch
from tilcare.manufacturing.tests.factories import NOW, SlotFactory
from tilcare.manufacturing.tests.test_release_services import make_scene
from tilcare.patients.tests.factories import PatientFactory


@pytest.fixture
def team():
    return batch_team()


@pytest.fixture
def patient(team):
    return PatientFactory(
        center=team.center,
        mrn="MRN004512",
        given_name="Theodora",
        family_name="Lindqvist",
        date_of_birth=dt.date(1968, 4, 12),
    )


@pytest.fixture
def journey(team, patient):
    return open_journey_for(patient, team.navigator)


@pytest.fixture
def slot(team):
    return SlotFactory(facility=team.facility, capacity=3, note="Cleanroom B")


@pytest.fixture
def screening(team):
    return walk_batch(open_test_batch(team), team, BatchStatus.SCREENING)


@pytest.fixture
def in_rep(team):
    return walk_batch(open_test_batch(team), team, BatchStatus.REP)


@pytest.fixture
def scene():
    return make_scene()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
