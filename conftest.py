"""Test infrastructure shared by every domain: browser fixtures and the audit triggers.

Model factories live in each domain's `tests/factories.py`, not here.

Browser tests
    `browser` (session) drives Debian's Chromium through Playwright; `page` (per test) is a fresh
    context. Tests that use `page` or `browser` get the `browser` marker automatically, so
    `pytest -m "not browser"` runs without them. A browser is never downloaded: the executable is
    /usr/bin/chromium, or the path in TILCARE_CHROMIUM. Without it, browser tests skip locally but
    FAIL when browsers are required: with `--browser-required`, or when CI is set (and not
    "false"/"0"/"no"). In that mode a browser test that skips for any other reason fails too.

Second factor
    Test settings keep the staff second factor ON (TILCARE_REQUIRE_SECOND_FACTOR). Most tests sign
    in with `client.force_login(user)` to test something else; for them `_verified_force_login`
    wraps `force_login` so that, for a role that needs a second factor, the user gets a confirmed
    authenticator device and the session is marked verified with it, as after a real sign-in.
    Tests of the second factor itself sign in through the sign-in page, or carry the marker
    `@pytest.mark.unverified_second_factor` to keep `force_login` to the password step only.
    Browser tests sign in with `tilcare.core.tests.browser.sign_in`, which enters the code.

Audit triggers
    Database triggers refuse UPDATE/DELETE/TRUNCATE on the append-only tables. A transactional
    test (transactional_db, live_server, django_db(transaction=True), ...) is cleaned up by
    flushing every table, which the triggers would refuse. `_audit_triggers` removes them just
    before that flush and installs them again when the next test sets up the database, so every
    test body sees them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from types import ModuleType

    from playwright.sync_api import Browser, Page

DEFAULT_CHROMIUM = "/usr/bin/chromium"
# --no-sandbox: CI runs as root. The others keep Chromium off this machine's closed network
# (background fetches, component updates, sync, QUIC), whose refused connections slow it down.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PAGE_WIDTH, PAGE_HEIGHT = 1280, 900
PAGE_TIMEOUT_MS = 10_000

BROWSER_FIXTURES = {"page", "browser"}
# Fixtures that make pytest-django run the test as a TransactionTestCase (flush at teardown).
# (Serialized rollback alone does not make a test transactional.)
TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "django_db_reset_sequences"}
DB_FIXTURES = {"db", "_django_db_helper", "django_db_serialized_rollback"} | TRANSACTIONAL_FIXTURES


# --------------------------------------------------------------------------------------------
# Options and markers
# --------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--browser-required",
        action="store_true",
        default=False,
        help="Fail (instead of skip) browser tests when Chromium or Playwright is missing. "
        "Implied when the CI environment variable is set.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "unverified_second_factor: force_login signs in with the password step only",
    )


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "false", "0", "no")


def _browser_required(config: pytest.Config) -> bool:
    return bool(config.getoption("--browser-required")) or _running_in_ci()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Where browsers are required, a browser test that skips is a failure (xfail excepted)."""
    report = yield
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and item.get_closest_marker("browser") is not None
        and _browser_required(item.config)
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"Browser test skipped, but browser tests must run here (CI or --browser-required): "
            f"{reason}"
        )
    return report


# --------------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------------


def _no_browser(config: pytest.Config, reason: str) -> None:
    if _browser_required(config):
        pytest.fail(f"{reason} Browser tests must run in CI (or with --browser-required).")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser(pytestconfig: pytest.Config) -> Iterator[Browser]:
    """Headless Debian Chromium, started once per session."""
    executable = os.environ.get("TILCARE_CHROMIUM", DEFAULT_CHROMIUM)
    if not (Path(executable).is_file() or shutil.which(executable)):
        _no_browser(
            pytestconfig,
            f"Chromium not installed at {executable} (apt-get install chromium, "
            f"or set TILCARE_CHROMIUM).",
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser(pytestconfig, 'Playwright not installed (pip install -e ".[dev]").')

    # Playwright's sync API runs an asyncio event loop in this (the main) thread for as long as
    # it is started. Django then believes every ORM call made by the test code is made from
    # async code and raises SynchronousOnlyOperation. The test code is in fact synchronous, so
    # the check is switched off, but only while Playwright runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies, no storage) and page for one test."""
    context = browser.new_context(viewport={"width": PAGE_WIDTH, "height": PAGE_HEIGHT})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# A module's NOW
# --------------------------------------------------------------------------------------------


@pytest.fixture
def clock_at_module_now(request: pytest.FixtureRequest, time_machine: Any) -> None:
    """Start the test's clock at its module's `NOW` and let it run on.

    A module that reads `NOW = timezone.now()` at import and dates scans with it would, in a long
    run, see them as entered minutes late (and needing a reason) by the time its tests run.
    """
    time_machine.move_to(request.module.NOW, tick=True)


# --------------------------------------------------------------------------------------------
# Second factor
# --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _verified_force_login(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """`force_login` leaves a session that has also passed the second factor (see above)."""
    if request.node.get_closest_marker("unverified_second_factor") is not None:
        return
    from django.test.client import ClientMixin

    from tilcare.core.tests.clients import verify_second_factor

    password_only = ClientMixin.force_login

    def force_login(self: Any, user: Any, backend: str | None = None) -> None:
        password_only(self, user, backend)
        verify_second_factor(self, user)

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


# --------------------------------------------------------------------------------------------
# Audit triggers
# --------------------------------------------------------------------------------------------


def _triggers() -> ModuleType:
    # Imported lazily so that this file loads (and non-database tests run) before, or without,
    # the application's database code.
    try:
        from tilcare.audit import triggers
    except ImportError as exc:  # pragma: no cover - only while the module is being written
        raise RuntimeError(
            "conftest.py needs tilcare.audit.triggers with install(connection) and "
            f"remove(connection) to manage the append-only audit triggers: {exc}"
        ) from exc
    for name in ("install", "remove"):
        if not callable(getattr(triggers, name, None)):
            raise RuntimeError(f"tilcare.audit.triggers must define {name}(connection).")
    return triggers


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    """The same decision pytest-django's _django_db_helper makes (TransactionTestCase or not)."""
    if TRANSACTIONAL_FIXTURES & set(request.fixturenames):
        return True
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return False
    from pytest_django.fixtures import validate_django_db

    transaction, reset_sequences, *_rest = validate_django_db(marker)
    return bool(transaction or reset_sequences)


@pytest.fixture(autouse=True)
def _audit_triggers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Triggers present in every database test; removed just before a transactional flush.

    The database fixture is requested from here, so pytest sets it up first and tears it down
    last: this fixture's teardown (remove) runs before pytest-django's flush, and its setup
    (install, idempotent) runs after the test database and transaction exist. Django's
    unittest-style TestCase classes manage their own database and are left alone.
    """
    from django.test import SimpleTestCase

    uses_db = bool(DB_FIXTURES & set(request.fixturenames)) or (
        request.node.get_closest_marker("django_db") is not None
    )
    if not uses_db or (request.cls is not None and issubclass(request.cls, SimpleTestCase)):
        yield
        return

    # Requesting `db` never changes pytest-django's choice (transactional_db wins over it), and
    # makes pytest set the database up before this fixture and tear it down after it.
    request.getfixturevalue("db")
    transactional = _is_transactional(request)
    triggers = _triggers()
    from django.db import connection

    # In a `db` test this runs inside the test's transaction and is rolled back with it; in a
    # transactional test it is committed. Either way the test body sees the triggers.
    triggers.install(connection)
    yield
    if transactional:
        triggers.remove(connection)
