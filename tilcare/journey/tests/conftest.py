"""Fixtures shared by the journey tests (a module that needs another team defines its own)."""

from __future__ import annotations

import pytest

from tilcare.journey.tests.factories import CareTeam, make_team


@pytest.fixture
def team() -> CareTeam:
    """One user per center role at a new center, and a facility with its technologist and QA."""
    return make_team()
