"""Fixtures shared by the audit tests."""

from __future__ import annotations

import pytest
from django.db import connection

from tilcare.audit import triggers


@pytest.fixture
def without_triggers():
    """The append-only triggers dropped for one test (it rolls back), then reinstalled."""
    triggers.remove(connection)
    yield
    triggers.install(connection)
