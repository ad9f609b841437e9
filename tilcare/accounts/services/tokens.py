"""Writes to API bearer tokens: issue (with a lifetime and a scope) and revoke.

A token is issued from the server's command line (`tilcare createtoken`, actor None) and revoked
there (`tilcare tokens revoke`) or by the center administrator on the tokens page. The secret is
returned once and never stored; neither it nor its hash enters the audit trail.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from tilcare.accounts import policies
from tilcare.accounts.api_auth import hash_secret, key_prefix_of, new_secret
from tilcare.accounts.choices import TokenScope
from tilcare.accounts.models import ApiToken, User
from tilcare.audit.actions import Action
from tilcare.audit.services import record_event
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require

DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 365


def issue_api_token(
    user: User,
    *,
    name: str,
    days: int = DEFAULT_TOKEN_DAYS,
    scope: str = TokenScope.READ_WRITE,
    actor: User | None = None,
) -> tuple[ApiToken, str]:
    """Create a bearer token for `user` that expires after `days`; returns the token and its
    secret, which is never stored.

    Issued from the server's command line (`tilcare createtoken`), so `actor` is None (system).
    """
    if actor is not None:
        require(False, "API tokens are issued by the deployment administrator.")
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["Name the token after the system that will use it, e.g. lab instrument."]
    elif len(name) > 100:
        errors["name"] = ["Token name takes at most 100 characters."]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        errors["days"] = [
            f"A token lasts from 1 to {MAX_TOKEN_DAYS} days; issue a new one when it expires."
        ]
    if scope not in TokenScope.values:
        errors["scope"] = [f"Scope is one of: {', '.join(TokenScope.values)}."]
    if not user.is_active:
        errors["user"] = [f"User {user.username} is inactive; an inactive user's token is refused."]
    if errors:
        raise InvalidInput(errors)
    secret = new_secret()
    expires_at = timezone.now() + dt.timedelta(days=days)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            key_prefix=key_prefix_of(secret),
            key_hash=hash_secret(secret),
            scope=scope,
            expires_at=expires_at,
            created_by=actor,
        )
        # The hash stays out of the audit trail: it is the credential's only stored form.
        record_event(
            Action.API_TOKEN_ISSUE,
            token,
            actor=actor,
            after={
                "user": str(user.public_id),
                "name": name,
                "key_prefix": token.key_prefix,
                "scope": scope,
                "expires_at": expires_at,
            },
        )
    return token, secret


def revoke_api_token(token: ApiToken, *, actor: User | None, reason: str = "") -> ApiToken:
    """Revoke a token at once: the next request that carries it is refused (401).

    `actor` None is the server's command line; otherwise the center administrator of the token
    owner's center.
    """
    if actor is not None:
        require(
            policies.can_revoke_api_token(actor, token),
            "Only the administrator of the token owner's center may revoke it.",
        )
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if token.revoked_at is not None:
            raise InvalidInput({"__all__": [f"Token {token.key_prefix}… is already revoked."]})
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
        record_event(
            Action.API_TOKEN_REVOKE,
            token,
            actor=actor,
            before={"revoked_at": None},
            after={"revoked_at": token.revoked_at, "key_prefix": token.key_prefix},
            reason=reason.strip(),
        )
    return token
