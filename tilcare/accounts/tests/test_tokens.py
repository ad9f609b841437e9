"""API tokens expire, carry a scope, and are listed and revoked (command line and the center
administrator's page); another organization's tokens are never shown."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client

from tilcare.accounts import services
from tilcare.accounts.api_auth import INVALID_TOKEN, READ_ONLY_TOKEN
from tilcare.accounts.models import ApiToken
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import CenterFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
NEW_PATIENT = {
    "mrn": "RCC0042",
    "given_name": "Theodora",
    "family_name": "Quist",
    "date_of_birth": "1961-04-12",
    "sex_at_birth": "female",
}


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def center():
    return CenterFactory(name="Riverside Cancer Center")


@pytest.fixture
def navigator(center):
    return UserFactory(role="navigator", organization=center, username="nav.tokens")


@pytest.fixture
def admin(center):
    return UserFactory(role="center_admin", organization=center, username="admin.tokens")


# --- lifetime ------------------------------------------------------------------------------


def test_a_token_expires_after_its_days_and_is_then_refused_401(navigator):
    # Given a token issued at T0 for 30 days
    with time_machine.travel(T0, tick=False):
        token, secret = services.issue_api_token(navigator, name="lab instrument", days=30)
    assert token.expires_at == T0 + dt.timedelta(days=30)

    # When it is used a second before and a second after it expires
    with time_machine.travel(T0 + dt.timedelta(days=30, seconds=-1), tick=False):
        before = Client().get("/api/v1/me", **bearer(secret))
    with time_machine.travel(T0 + dt.timedelta(days=30, seconds=1), tick=False):
        after = Client().get("/api/v1/me", **bearer(secret))

    # Then it works until then, and is refused after
    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json() == {"detail": INVALID_TOKEN}


def test_a_token_lasts_90_days_unless_told_otherwise(navigator):
    with time_machine.travel(T0, tick=False):
        token, _ = services.issue_api_token(navigator, name="lab instrument")

    assert token.expires_at == T0 + dt.timedelta(days=90)


@pytest.mark.parametrize("days", [0, 366, -5])
def test_a_lifetime_beyond_365_days_is_refused_naming_the_limit(navigator, days):
    with pytest.raises(InvalidInput) as refused:
        services.issue_api_token(navigator, name="lab instrument", days=days)

    assert refused.value.errors == {
        "days": ["A token lasts from 1 to 365 days; issue a new one when it expires."]
    }
    assert ApiToken.objects.count() == 0
    assert AuditEvent.objects.filter(action="accounts.api_token.issue").count() == 0


# --- scope ---------------------------------------------------------------------------------


def test_a_read_token_reads_but_is_refused_403_on_a_write_that_then_writes_nothing(navigator):
    # Given a read-only token
    _token, secret = services.issue_api_token(navigator, name="dashboard", scope="read")
    patients_before = Patient.objects.count()

    # When it reads, then posts a new patient
    read = Client().get("/api/v1/me", **bearer(secret))
    write = Client().post(
        "/api/v1/patients", data=NEW_PATIENT, content_type="application/json", **bearer(secret)
    )

    # Then the read is answered and the write refused, with nothing written
    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["detail"] == READ_ONLY_TOKEN
    assert Patient.objects.count() == patients_before


def test_an_unknown_scope_is_refused(navigator):
    with pytest.raises(InvalidInput) as refused:
        services.issue_api_token(navigator, name="lab instrument", scope="admin")

    assert refused.value.errors == {"scope": ["Scope is one of: read, read_write."]}
    assert ApiToken.objects.count() == 0


# --- commands ------------------------------------------------------------------------------


def test_createtoken_takes_days_and_scope(navigator):
    # When a read token for 30 days is issued from the command line
    out = io.StringIO()
    with time_machine.travel(T0, tick=False):
        call_command(
            "createtoken",
            "nav.tokens",
            "--name",
            "dashboard",
            "--days",
            "30",
            "--scope",
            "read",
            stdout=out,
        )

    # Then it is stored with that scope and expiry, and the output says both
    token = ApiToken.objects.get(user=navigator)
    assert (token.scope, token.expires_at) == ("read", T0 + dt.timedelta(days=30))
    assert "(read only, expires 2026-04-01 14:00 UTC)" in out.getvalue()


def test_createtoken_refuses_more_than_365_days(navigator):
    with pytest.raises(CommandError, match="from 1 to 365 days"):
        call_command(
            "createtoken", "nav.tokens", "--name", "x", "--days", "400", stdout=io.StringIO()
        )

    assert ApiToken.objects.count() == 0


def test_tokens_list_shows_scope_expiry_last_use_and_status(navigator):
    # Given a live token, a used one and a revoked one
    with time_machine.travel(T0, tick=False):
        live, _ = services.issue_api_token(navigator, name="lab instrument", scope="read")
        used, used_secret = services.issue_api_token(navigator, name="interface engine")
        revoked, _ = services.issue_api_token(navigator, name="old gateway")
        services.revoke_api_token(revoked, actor=None)
        Client().get("/api/v1/me", **bearer(used_secret))
    other_user = UserFactory(username="someone.else")
    services.issue_api_token(other_user, name="elsewhere")

    # When the tokens of the navigator are listed
    out = io.StringIO()
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        call_command("tokens", "list", "--user", "nav.tokens", stdout=out)

    # Then each of hers is one line with its scope, dates, last use and status; none of others
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    by_prefix = {line.split()[0]: line for line in lines[1:]}
    assert by_prefix[live.key_prefix].split()[1:] == [
        "lab",
        "instrument",
        "nav.tokens",
        "read",
        "2026-03-02",
        "14:00",
        "2026-05-31",
        "14:00",
        "never",
        "active",
    ]
    assert by_prefix[used.key_prefix].split()[1:] == [
        "interface",
        "engine",
        "nav.tokens",
        "read_write",
        "2026-03-02",
        "14:00",
        "2026-05-31",
        "14:00",
        "2026-03-02",
        "14:00",
        "active",
    ]
    assert by_prefix[revoked.key_prefix].split()[-1] == "revoked"
    assert "elsewhere" not in out.getvalue()


def test_tokens_revoke_by_prefix_refuses_the_token_from_then_on(navigator):
    # Given a working token
    token, secret = services.issue_api_token(navigator, name="lab instrument")

    # When it is revoked from the command line with a reason
    out = io.StringIO()
    call_command("tokens", "revoke", token.key_prefix, "--reason", "instrument retired", stdout=out)

    # Then it is refused, and the revocation is audited as the system's with the reason
    assert Client().get("/api/v1/me", **bearer(secret)).status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.revoked_by is None
    event = AuditEvent.objects.get(action="accounts.api_token.revoke")
    assert (event.actor_label, event.reason) == ("system", "instrument retired")
    assert f"Token {token.key_prefix}… “lab instrument” revoked." in out.getvalue()


def test_tokens_revoke_of_an_unknown_prefix_fails():
    with pytest.raises(CommandError, match="No token starts with 'tc_nope'"):
        call_command("tokens", "revoke", "tc_nope", stdout=io.StringIO())


# --- the center administrator's page -------------------------------------------------------


def test_the_tokens_page_lists_the_centers_tokens_and_never_anothers(admin, navigator):
    # Given a token of the center's navigator, and one of another center's navigator
    with time_machine.travel(T0, tick=False):
        services.issue_api_token(navigator, name="lab instrument", scope="read", days=30)
    services.issue_api_token(UserFactory(role="navigator"), name="other center system")
    client = Client()
    client.force_login(admin)

    # When the administrator opens the tokens page
    page = client.get("/accounts/center/tokens/")

    # Then only the center's token is listed, with owner, scope, dates, last use and status
    assert page.status_code == 200
    assert [row["token"].name for row in page.context["tokens"]] == ["lab instrument"]
    assert [row["status"] for row in page.context["tokens"]] == ["expired"]
    assert "Read only" in page.text
    assert "Never" in page.text
    assert "other center system" not in page.text


def test_only_the_center_administrator_opens_the_tokens_page(navigator):
    client = Client()
    client.force_login(navigator)

    assert client.get("/accounts/center/tokens/").status_code == 403


def test_the_administrator_revokes_a_token_after_confirming_and_it_is_audited(admin, navigator):
    # Given a working token of the navigator
    token, secret = services.issue_api_token(navigator, name="lab instrument")
    client = Client()
    client.force_login(admin)
    url = f"/accounts/center/tokens/{token.public_id}/revoke/"

    # When the administrator opens the confirmation, then confirms with a reason
    confirm = client.get(url)
    response = client.post(url, {"reason": "Instrument replaced"})

    # Then the token is revoked by her, audited, and refused from then on
    assert confirm.status_code == 200
    assert "Revoke “lab instrument”?" in confirm.text
    assert response["Location"] == "/accounts/center/tokens/"
    token.refresh_from_db()
    assert token.revoked_by == admin
    event = AuditEvent.objects.get(action="accounts.api_token.revoke")
    assert (event.actor_id, event.reason) == (admin.pk, "Instrument replaced")
    assert Client().get("/api/v1/me", **bearer(secret)).json() == {"detail": INVALID_TOKEN}


def test_a_get_never_revokes(admin, navigator):
    token, _ = services.issue_api_token(navigator, name="lab instrument")
    client = Client()
    client.force_login(admin)

    client.get(f"/accounts/center/tokens/{token.public_id}/revoke/")

    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_centers_administrator_cannot_revoke_and_nothing_changes(navigator):
    # Given the navigator's token and another center's administrator
    token, secret = services.issue_api_token(navigator, name="lab instrument")
    stranger = UserFactory(role="center_admin")
    client = Client()
    client.force_login(stranger)

    # When the stranger posts the revocation, and calls the service directly
    response = client.post(f"/accounts/center/tokens/{token.public_id}/revoke/", {"reason": "x"})
    with pytest.raises(PermissionDenied):
        services.revoke_api_token(token, actor=stranger, reason="x")

    # Then the page does not exist for them and the token still works
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert AuditEvent.objects.filter(action="accounts.api_token.revoke").count() == 0
    assert Client().get("/api/v1/me", **bearer(secret)).status_code == 200
