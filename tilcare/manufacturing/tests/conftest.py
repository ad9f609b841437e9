"""Fixtures the manufacturing tests share: the center and facility team (`batch_team`), a patient
with a known identity (to assert facility pages never show it), a journey, an open slot."""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.journey.tests.factories import open_journey_for
from tilcare.manufacturing.tests.batch_factories import batch_team
from tilcare.manufacturing.tests.factories import SlotFactory
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
