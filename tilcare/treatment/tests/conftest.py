"""Fixtures shared by the treatment tests: the Riverside care team, and its lifileucel settings
entered (awaiting signatures) or in force."""

from __future__ import annotations

import pytest

from tilcare.journey.tests.factories import CareTeam, riverside_team
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.services.activation import enter_protocol_settings
from tilcare.treatment.tests.factories import LIFILEUCEL, LIFILEUCEL_VALUES, activate


@pytest.fixture
def team() -> CareTeam:
    """One user per center role at the Riverside Cancer Center, and the Northgate facility."""
    return riverside_team()


@pytest.fixture
def entered(team: CareTeam) -> ProtocolActivation:
    """Riverside's complete lifileucel settings, entered by its pharmacist, awaiting both
    signatures."""
    return enter_protocol_settings(
        team.center,
        protocol_id=LIFILEUCEL[0],
        protocol_version=LIFILEUCEL[1],
        values=LIFILEUCEL_VALUES,
        actor=team.pharmacist,
    )


@pytest.fixture
def in_force(team: CareTeam) -> ProtocolActivation:
    """Riverside's lifileucel settings, version 1, signed by its pharmacist and physician."""
    return activate(team.center, pharmacist=team.pharmacist, physician=team.physician)
