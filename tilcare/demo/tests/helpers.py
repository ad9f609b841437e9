"""Shared by the demo tests: a demo journey by its patient's family name, a demo user by name."""

from __future__ import annotations

from django.test import Client

from tilcare.accounts.models import User
from tilcare.core.tests.clients import client_for as signed_in_client
from tilcare.journey.models import Journey


def journey_of(family_name: str) -> Journey:
    return Journey.objects.select_related("center").get(patient__family_name=family_name)


def user(username: str) -> User:
    return User.objects.get(username=username)


def client_for(username: str) -> Client:
    """A client signed in as the demo user `username`."""
    return signed_in_client(user(username))
