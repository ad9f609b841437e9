"""Fixtures shared by the audit tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from tilcare.audit import triggers
from tilcare.identity.models import CustodyEvent
from tilcare.identity.tests.factories import unreadable_scan_alert
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.journey.tests.factories import CareTeam, make_team, open_journey_for, walk_to
from tilcare.patients.tests.factories import PatientFactory


@pytest.fixture
def team() -> CareTeam:
    """A center and a facility with one person per role."""
    return make_team()


@pytest.fixture
def without_triggers():
    """The append-only triggers dropped for one test (it rolls back), then reinstalled."""
    triggers.remove(connection)
    yield
    triggers.install(connection)


@dataclass(frozen=True)
class TrailWorld:
    """A journey walked to resection scheduling (consents, milestones, signed eligibility, stage
    changes), and a blocked scan at one of its handoffs."""

    team: CareTeam
    journey: Journey
    scan: CustodyEvent


@pytest.fixture
def trail_world() -> TrailWorld:
    team = make_team()
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    walk_to(journey, Stage.RESECTION_SCHEDULED, users=team)
    alert = unreadable_scan_alert(journey.coi_din, team)
    assert alert.custody_event is not None and not alert.custody_event.accepted
    return TrailWorld(team=team, journey=journey, scan=alert.custody_event)


# A checkpoint key as an operator would make one (`openssl rand -hex 32`): 64 characters.
CHECKPOINT_KEY = "3f6c1e9a0b7d4c2e8f5a6b1c9d0e7f2a4b8c6d1e3f5a7b9c0d2e4f6a8b0c1d3e"


@pytest.fixture
def checkpoint_folder(settings, tmp_path) -> Path:
    """Checkpoints configured: a folder outside the database and a key of 32 bytes or more."""
    folder = tmp_path / "checkpoints"
    settings.TILCARE_AUDIT_CHECKPOINT_DIR = str(folder)
    settings.TILCARE_AUDIT_CHECKPOINT_KEY = CHECKPOINT_KEY
    settings.TILCARE_AUDIT_CHECKPOINT_KEY_FILE = ""
    return folder


@pytest.fixture
def no_checkpoint(settings) -> None:
    """Checkpoints not configured (whatever the environment running the tests says)."""
    settings.TILCARE_AUDIT_CHECKPOINT_DIR = ""
    settings.TILCARE_AUDIT_CHECKPOINT_KEY = ""
    settings.TILCARE_AUDIT_CHECKPOINT_KEY_FILE = ""
