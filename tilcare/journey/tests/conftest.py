"""Fixtures shared by the journey tests: one care team, its patient, her journey, and the journey
with its product released. A module that needs another team or journey defines its own.

The team's center and facility are named, and the patient has a name, MRN and date of birth,
because pages and answers are checked for what they show and for identity they must not show.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.journey.tests.factories import (
    CareTeam,
    open_journey_for,
    riverside_team,
    theodora_at,
    walk_to,
)
from tilcare.patients.models import Patient
from tilcare.patients.services import record_measurement
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.tests.factories import activate


@pytest.fixture
def clock_stopped_at_module_now(request: pytest.FixtureRequest, time_machine: Any) -> None:
    """Stop the test's clock at its module's `NOW`: for tests whose dates and expected words are
    computed from that one moment."""
    time_machine.move_to(request.module.NOW, tick=False)


@pytest.fixture
def team() -> CareTeam:
    """One user per center role at the Riverside Cancer Center (FIN W1234), and the Northgate
    Cell Therapy facility with its technologist and QA reviewer."""
    return riverside_team()


@pytest.fixture
def patient(team: CareTeam) -> Patient:
    """A patient of the team's center whose identity a facility must never see."""
    return theodora_at(team.center)


@pytest.fixture
def journey(team: CareTeam, patient: Patient) -> Journey:
    """The patient's journey, just opened by the navigator."""
    return open_journey_for(patient, team.navigator)


@pytest.fixture
def product_released(team: CareTeam, journey: Journey) -> Journey:
    """The journey walked to "Product released": its product is on its way to the center."""
    return walk_to(journey, Stage.PRODUCT_RELEASED, users=team)


@pytest.fixture
def in_force(team: CareTeam) -> ProtocolActivation:
    """The team's center with its lifileucel settings signed by its pharmacist and physician."""
    return activate(team.center, pharmacist=team.pharmacist, physician=team.physician)


@pytest.fixture
def measured(patient: Patient, team: CareTeam) -> Patient:
    """The patient with 80 kg and 180 cm recorded on 14 June 2026 (the orders' tests' eve)."""
    record_measurement(
        patient, actor=team.nurse, measured_on=dt.date(2026, 6, 14), weight_kg="80", height_cm="180"
    )
    return patient
