"""Fixtures shared by the identity tests (a module that needs another world defines its own)."""

from __future__ import annotations

import pytest

from tilcare.identity.tests.helpers import World, make_world
from tilcare.journey.models import Journey
from tilcare.journey.tests.factories import CareTeam, open_journey_for, riverside_team, theodora_at
from tilcare.patients.models import Patient


@pytest.fixture
def world() -> World:
    """A center and facility, a patient with a journey, and its shipper and tumor specimen."""
    return make_world()


@pytest.fixture
def team() -> CareTeam:
    """Riverside Cancer Center (FIN W1234) with one person per role, and its facility."""
    return riverside_team()


@pytest.fixture
def theodora(team: CareTeam) -> Patient:
    """A patient of the team's center whose identity facility answers must never carry."""
    return theodora_at(team.center)


@pytest.fixture
def journey(team: CareTeam, theodora: Patient) -> Journey:
    """Theodora's journey, just opened by the team's navigator."""
    return open_journey_for(theodora, team.navigator)
