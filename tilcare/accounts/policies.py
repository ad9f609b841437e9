"""Who may change an organization's settings. Deny by default."""

from __future__ import annotations

from typing import Any

from tilcare.accounts.models import Organization, User
from tilcare.accounts.roles import Perm


def can_manage_center(user: Any, organization: Organization) -> bool:
    return (
        isinstance(user, User)
        and user.is_authenticated
        and user.is_active
        and organization.is_center
        and user.organization_id == organization.pk
        and user.has_perm_code(Perm.MANAGE_CENTER)
    )
