"""How the JSON API knows who is calling: a browser session (with CSRF) or a bearer token.

Bearer tokens are for systems (lab instruments, interface engines). A secret looks like
`tc_<43 url-safe characters>` and is shown once when it is issued; only its SHA-256 is stored
(`ApiToken.key_hash`), with the first 8 characters (`key_prefix`) kept so that people can tell
their tokens apart. A revoked or expired token, or a token whose user is inactive, is refused
(401); a read-only token is refused on any request that writes (403).

A browser session answers 401 until the person has confirmed their second factor, when their
role needs one (accounts.policies.needs_second_factor). Bearer tokens are for systems and are not
asked for one.

The token model is looked up through the app registry rather than imported: the kernel sits
below `accounts` in the layer contract, just as Django's own code reaches the user model through
`get_user_model()`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth
from ninja.utils import check_csrf

from tilcare.accounts.choices import TokenScope
from tilcare.accounts.models import ApiToken
from tilcare.accounts.policies import can_use_api, second_factor_pending

SECRET_PREFIX = "tc_"
KEY_PREFIX_LENGTH = 8
# last_used_at is for people reviewing tokens ("is the lab instrument still calling?"); writing it
# on every request would turn each read into a write, so it is refreshed at most once a minute.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)

CSRF_FAILED = (
    "CSRF check failed: a request signed in with a browser session must send the "
    "X-CSRFToken header. Systems should use 'Authorization: Bearer <token>' instead."
)
INVALID_TOKEN = "Invalid, revoked or expired API token."
NOT_FOR_THIS_ACCOUNT = (
    "This account may not use the API: it serves staff and their connected systems; patients use "
    "the portal."
)
READ_ONLY_TOKEN = "This API token is read-only; a request that writes needs a read_write token."
SECOND_FACTOR_PENDING = (
    "Finish signing in: enter the code from your authenticator app on the sign-in page."
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_secret() -> str:
    """A fresh secret: the `tc_` marker (so a leaked one is recognisable) and 32 random bytes."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """What is stored: SHA-256 of the secret (a random 256-bit secret needs no slow hash)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def key_prefix_of(secret: str) -> str:
    return secret[:KEY_PREFIX_LENGTH]


def token_for_secret(secret: str, *, now: dt.datetime | None = None) -> Any | None:
    """The live token (not revoked, not expired, its user active) the secret belongs to, or
    None. Refreshes `last_used_at` (coarsely)."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    now = now or timezone.now()
    token: Any = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_secret(secret), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    last_used = token.last_used_at
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        # A bookkeeping column, not a regulated record: no audit event, and a plain UPDATE so that
        # concurrent requests never wait on each other for it.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def user_for_secret(secret: str, *, now: dt.datetime | None = None) -> Any | None:
    """The active user a live token belongs to, or None."""
    token = token_for_secret(secret, now=now)
    return token.user if token is not None else None


class BearerTokenAuth(HttpBearer):
    """`Authorization: Bearer tc_…`. A token that is sent but not valid is refused outright
    (401), never silently passed on to the session check."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        api_token = token_for_secret(token.strip())
        if api_token is None:
            raise AuthenticationError(401, INVALID_TOKEN)
        if api_token.scope != TokenScope.READ_WRITE and request.method not in SAFE_METHODS:
            raise HttpError(403, READ_ONLY_TOKEN)
        user = api_token.user
        if not can_use_api(user):
            raise HttpError(403, NOT_FOR_THIS_ACCOUNT)
        # Views, selectors and policies read request.user, whichever way the caller signed in.
        request.user = user
        return user


class SessionAuthWithCsrf(SessionAuth):
    """Ninja's `django_auth`, checking CSRF only once a session has actually signed someone in.

    Ninja's own class checks CSRF before it looks at the session, so an anonymous POST would be
    answered "CSRF failed" (403) instead of "not authenticated" (401).
    """

    def __call__(self, request: HttpRequest) -> Any | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if second_factor_pending(user):
            raise AuthenticationError(401, SECOND_FACTOR_PENDING)
        if (
            self.csrf
            and not getattr(request, "_ninja_csrf_exempt", False)
            and check_csrf(request) is not None
        ):
            raise HttpError(403, CSRF_FAILED)
        if not can_use_api(user):
            raise HttpError(403, NOT_FOR_THIS_ACCOUNT)
        return user


bearer_auth = BearerTokenAuth()
session_auth = SessionAuthWithCsrf()
# Bearer first: a request that carries a token is judged by the token alone.
API_AUTH = [bearer_auth, session_auth]


def authenticated_user(request: HttpRequest) -> Any | None:
    """The caller for views outside ninja's operations (the OpenAPI document and docs page)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return user_for_secret(value.strip())
    user = getattr(request, "user", None)
    if (
        user is not None
        and user.is_authenticated
        and user.is_active
        and not second_factor_pending(user)
    ):
        return user
    return None
