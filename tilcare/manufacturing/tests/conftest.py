"""Fixtures the slot pages' tests share: a center and facility team, a journey, an open slot."""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.journey.tests.factories import make_team, open_journey_for
from tilcare.manufacturing.tests.factories import SlotFactory
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, PatientFactory


@pytest.fixture
def team():
    return make_team(
        CenterFactory(name="Riverside Cancer Center"),
        FacilityFactory(name="Northgate Cell Therapy"),
    )


@pytest.fixture
def journey(team):
    patient = PatientFactory(
        center=team.center,
        mrn="MRN004512",
        given_name="Theodora",
        family_name="Lindqvist",
        date_of_birth=dt.date(1968, 4, 12),
    )
    return open_journey_for(patient, team.navigator)


@pytest.fixture
def slot(team):
    return SlotFactory(facility=team.facility, capacity=3, note="Cleanroom B")
