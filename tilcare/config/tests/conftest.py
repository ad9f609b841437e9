"""Fixtures for the tests that call the API through its WSGI application, as schemathesis does.

Django closes the database connection at the end of every request it serves (the
`close_old_connections` receiver). Inside a test that connection holds the test's transaction,
so, as Django's own test client does, the receiver is disconnected while the test calls the
application, and connected again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import signals
from django.db import close_old_connections

from tilcare.config.tests.api_world import ApiWorld, make_api_world


@pytest.fixture
def wsgi_keeps_the_test_connection() -> Iterator[None]:
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(wsgi_keeps_the_test_connection: None) -> ApiWorld:
    return make_api_world()
