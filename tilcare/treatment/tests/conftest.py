"""Fixtures shared by the treatment tests: the Riverside care team, another center's team, its
lifileucel settings entered (awaiting signatures) or in force, and the infusion days of the API's
and the pages' tests."""

from __future__ import annotations

from typing import Any

import pytest

from tilcare.journey.tests.factories import CareTeam, make_team, riverside_team
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.services.activation import enter_protocol_settings
from tilcare.treatment.tests.factories import (
    API_LAST_FLUDARABINE,
    API_OPENED,
    LIFILEUCEL,
    LIFILEUCEL_VALUES,
    PAGE_LAST_FLUDARABINE,
    PAGE_NOW,
    InfusionDay,
    activate,
    infusion_day,
)


@pytest.fixture
def team() -> CareTeam:
    """One user per center role at the Riverside Cancer Center, and the Northgate facility."""
    return riverside_team()


@pytest.fixture
def other_team() -> CareTeam:
    """Another center's care team: none of them may learn of, or touch, the team's courses."""
    return make_team()


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


@pytest.fixture
def api_day(team: CareTeam, time_machine: Any) -> InfusionDay:
    """The API tests' course: the last fludarabine dose at 23:30 UTC on 14 December 2026, two
    bags, the checklist opened 28 h later (the clock stays there)."""
    return infusion_day(team, time_machine, last=API_LAST_FLUDARABINE, opened=API_OPENED)


@pytest.fixture
def bedside_day(team: CareTeam, time_machine: Any) -> InfusionDay:
    """The bedside pages' course: Riverside (New York), the last fludarabine dose at 11:00 EDT on
    14 June 2026, one bag released the day before, the checklist opened at noon EDT on 15 June
    (the clock stays there: the window has been open for an hour)."""
    return infusion_day(team, time_machine, last=PAGE_LAST_FLUDARABINE, opened=PAGE_NOW, bags=1)
