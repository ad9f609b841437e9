"""The browser fixtures reach a live tilcare server through Debian's Chromium."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer


def test_login_page_renders_a_form_with_a_username_field(live_server: LiveServer, page: Page):
    # Given a running server, when the browser opens the login page
    response = page.goto(live_server.url + "/accounts/login/")

    # then it is served and shows a form with a username input
    assert response is not None
    assert response.status == 200
    assert page.locator("form input[name='username']").count() == 1
