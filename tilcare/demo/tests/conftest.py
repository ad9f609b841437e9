"""Fixtures shared by the demo tests: the demo built once for a module."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from tilcare.demo.builder import build_demo


@pytest.fixture
def demo(demo_built, db):
    """The demo, built once for the module (`demo_built`); each test runs in its own savepoint,
    so what one test changes is gone before the next. A build takes seconds, and the demo tests
    read one story: building it per test made them most of the suite's time."""
    return demo_built


@pytest.fixture(scope="module")
def demo_built(django_db_setup, django_db_blocker):
    """The demo, built once for the module inside a transaction rolled back at its end; when the
    build started and when it finished."""
    with django_db_blocker.unblock(), transaction.atomic():
        started = timezone.now()
        build_demo()
        yield started, timezone.now()
        transaction.set_rollback(True)
