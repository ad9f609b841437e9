"""Fixtures shared by the calculator tests: clients signed in as the roles that use them."""

from __future__ import annotations

import pytest
from django.test import Client

from tilcare.accounts.choices import Role
from tilcare.calculators.tests.helpers import client_for


@pytest.fixture
def physician() -> Client:
    return client_for(Role.PHYSICIAN)


@pytest.fixture
def pharmacist() -> Client:
    return client_for(Role.PHARMACIST)
