"""Fixtures of the monitoring tests: the Riverside care team, another center's team, and a
patient of Riverside with the clock at 23:30 UTC."""

from __future__ import annotations

from typing import Any

import pytest

from tilcare.journey.tests.factories import CareTeam, make_team, riverside_team
from tilcare.monitoring.tests.factories import LATE_EVENING
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import PatientFactory


@pytest.fixture
def team() -> CareTeam:
    return riverside_team()


@pytest.fixture
def other_team() -> CareTeam:
    return make_team()


@pytest.fixture
def clock(time_machine: Any) -> Any:
    """The clock stopped at 23:30 UTC on 14 December 2026 (18:30 in New York)."""
    time_machine.move_to(LATE_EVENING, tick=False)
    return time_machine


@pytest.fixture
def patient(team: CareTeam, clock: Any) -> Patient:
    return PatientFactory(center=team.center)
