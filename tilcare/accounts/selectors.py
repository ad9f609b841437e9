"""Reads for the center administrator: the center's staff and the API tokens of its people."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from tilcare.accounts.models import ApiToken, Organization, User


def list_center_tokens(center: Organization) -> QuerySet[ApiToken]:
    """Every token whose owner belongs to this center, newest first; never another's."""
    return (
        ApiToken.objects.filter(user__organization=center)
        .select_related("user", "created_by", "revoked_by")
        .order_by("-created_at", "-pk")
    )


def list_center_staff(center: Organization) -> QuerySet[User]:
    """The center's people, each annotated with `has_authenticator`."""
    return (
        User.objects.filter(organization=center, is_active=True)
        .annotate(
            has_authenticator=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        )
        .order_by("last_name", "first_name", "username")
    )
