"""Who may change an organization's settings, who must sign in with a second factor, and who
may reset a colleague's second factor or see and revoke API tokens. Deny by default."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tilcare.accounts.models import ApiToken, Organization, User
from tilcare.accounts.roles import SECOND_FACTOR_PERMS, Perm, permissions_for


def is_active_member(user: Any) -> bool:
    """A signed-in, active person who belongs to an organization: the first thing every domain's
    policies ask (a person without an organization holds no permission anyway)."""
    return (
        isinstance(user, User)
        and user.is_authenticated
        and user.is_active
        and user.organization_id is not None
    )


def can_manage_center(user: Any, organization: Organization) -> bool:
    return (
        isinstance(user, User)
        and user.is_authenticated
        and user.is_active
        and organization.is_center
        and user.organization_id == organization.pk
        and user.has_perm_code(Perm.MANAGE_CENTER)
    )


def can_use_api(user: Any) -> bool:
    """The API serves staff and the systems that act for them. A person whose only right is to
    see their own record (a patient) uses the portal, and an account without a role sees
    nothing: both are refused at the door rather than answered with empty lists."""
    return (
        isinstance(user, User)
        and user.is_authenticated
        and user.is_active
        and bool(user.permissions - {Perm.VIEW_OWN_RECORD})
    )


def role_needs_second_factor(role: str) -> bool:
    """A role that sees identity, signs, attests custody or manages access (roles.py)."""
    return bool(permissions_for(role) & SECOND_FACTOR_PERMS)


def needs_second_factor(user: Any) -> bool:
    """Whether this person must confirm a second factor after the password.

    Off only where the deployment turns it off (the local demo); a patient's portal role does
    not need it.
    """
    if not getattr(settings, "TILCARE_REQUIRE_SECOND_FACTOR", True):
        return False
    return (
        isinstance(user, User)
        and user.is_authenticated
        and bool(user.permissions & SECOND_FACTOR_PERMS)
    )


def second_factor_pending(user: Any) -> bool:
    """Signed in with the password but not yet with the second factor this person needs."""
    if not needs_second_factor(user):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (callable(is_verified) and is_verified())


def can_reset_second_factor(user: Any, target: User) -> bool:
    """A center administrator resets a colleague's second factor (a lost phone), never their
    own: someone else must confirm who is asking."""
    return (
        isinstance(target, User)
        and target.organization is not None
        and can_manage_center(user, target.organization)
        and target.pk != user.pk
    )


def can_view_api_tokens(user: Any, organization: Organization) -> bool:
    return can_manage_center(user, organization)


def can_revoke_api_token(user: Any, token: ApiToken) -> bool:
    owner_organization = token.user.organization
    return owner_organization is not None and can_manage_center(user, owner_organization)
