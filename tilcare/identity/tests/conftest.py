"""Fixtures shared by the identity tests (a module that needs another world defines its own)."""

from __future__ import annotations

import pytest

from tilcare.identity.tests.test_shipment_services import World, make_world


@pytest.fixture
def world() -> World:
    """A center and facility, a patient with a journey, and its shipper and tumor specimen."""
    return make_world()
