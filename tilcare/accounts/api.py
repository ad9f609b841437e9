"""`/api/v1/me`: who is calling, in which organization, with which permissions.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

from django.http import HttpRequest
from ninja import Router

from tilcare.accounts.models import User
from tilcare.accounts.schemas import MeOut, OrganizationOut
from tilcare.core.api_support import caller

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut, summary="Who am I")
def me(request: HttpRequest) -> MeOut:
    user: User = caller(request)
    organization = user.organization
    return MeOut(
        public_id=user.public_id,
        username=user.username,
        full_name=user.get_full_name(),
        printed_name=user.printed_name,
        role=user.role,
        role_label=user.get_role_display() if user.role else "",
        organization=(
            OrganizationOut(
                public_id=organization.public_id,
                name=organization.name,
                kind=organization.kind,
                time_zone=organization.time_zone,
            )
            if organization is not None
            else None
        ),
        permissions=sorted(str(perm) for perm in user.permissions),
    )
