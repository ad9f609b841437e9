"""Fixtures shared by the patients tests: Riverside's navigator and its patient Theodora."""

from __future__ import annotations

import datetime as dt

import pytest

from tilcare.accounts.models import Organization, User
from tilcare.core.timeutil import local_today
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import CenterFactory, PatientFactory, UserFactory


@pytest.fixture
def center() -> Organization:
    return CenterFactory(name="Riverside Cancer Center")


@pytest.fixture
def navigator(center: Organization) -> User:
    return UserFactory(role="navigator", organization=center)


@pytest.fixture
def patient(center: Organization) -> Patient:
    return PatientFactory(
        center=center,
        mrn="MRN004512",
        given_name="Theodora",
        family_name="Lindqvist",
        date_of_birth=dt.date(1968, 4, 12),
    )


@pytest.fixture
def today(center: Organization) -> dt.date:
    """The center's date today, in its own time zone."""
    return local_today(center.time_zone)
