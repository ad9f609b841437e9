"""Fixtures shared by the identity tests (a module that needs another world defines its own)."""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.identity.tests.helpers import World, make_world
from tilcare.journey.models import Journey
from tilcare.journey.tests.factories import CareTeam, make_team, open_journey_for
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, PatientFactory


@pytest.fixture
def world() -> World:
    """A center and facility, a patient with a journey, and its shipper and tumor specimen."""
    return make_world()


@pytest.fixture
def team() -> CareTeam:
    """Riverside Cancer Center (FIN W1234) with one person per role, and its facility."""
    return make_team(
        CenterFactory(name="Riverside Cancer Center", isbt_fin="W1234"),
        FacilityFactory(name="Northgate Cell Therapy"),
    )


@pytest.fixture
def theodora(team: CareTeam) -> Patient:
    """A patient of the team's center whose identity facility answers must never carry."""
    return PatientFactory(
        center=team.center,
        mrn="MRN004512",
        given_name="Theodora",
        family_name="Lindqvist",
        date_of_birth=dt.date(1968, 4, 12),
    )


@pytest.fixture
def journey(team: CareTeam, theodora: Patient) -> Journey:
    """Theodora's journey, just opened by the team's navigator."""
    return open_journey_for(theodora, team.navigator)
