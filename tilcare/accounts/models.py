"""Organizations (treatment centers, manufacturing facilities) and the people who work in them."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from tilcare.accounts.choices import (
    CENTER_ROLES,
    FACILITY_ROLES,
    OrganizationKind,
    Role,
    TokenScope,
)
from tilcare.accounts.roles import Perm, permissions_for
from tilcare.core.models import TimeStampedModel

# ISBT 128 Facility Identification Number: first character A-N, P-Z or 1-9, two alphanumerics,
# two digits (ST-001, Data Structure 001).
fin_validator = RegexValidator(
    r"^[A-NP-Z1-9][A-Z0-9]{2}[0-9]{2}$",
    "Enter the 5-character ISBT 128 facility identification number, e.g. W1234.",
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known IANA time zone, e.g. America/New_York.")


class Organization(TimeStampedModel):
    """A treatment center or a manufacturing facility; each is its own tenant."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=OrganizationKind.choices)
    # Center settings. The FIN has no default: ICCBBA assigns it to each facility, and until the
    # center sets it no chain-of-identity number can be issued.
    isbt_fin = models.CharField(
        "ISBT 128 facility identification number",
        max_length=5,
        blank=True,
        validators=[fin_validator],
    )
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    phone = models.CharField("Main phone number", max_length=40, blank=True)
    after_hours_phone = models.CharField("24-hour phone number", max_length=40, blank=True)
    address = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_center(self) -> bool:
        return self.kind == OrganizationKind.CENTER

    @property
    def is_facility(self) -> bool:
        return self.kind == OrganizationKind.FACILITY


class User(AbstractUser):
    """A person who signs in. Each holds one role in one organization."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    credentials = models.CharField(
        "Credentials shown with the printed name",
        max_length=40,
        blank=True,
        help_text="e.g. MD, RN",
    )

    class Meta:
        ordering = ["last_name", "first_name"]

    def clean(self) -> None:
        super().clean()
        if self.organization_id and self.role:
            allowed = CENTER_ROLES if self.organization.is_center else FACILITY_ROLES
            if self.role not in allowed:
                raise ValidationError(
                    {
                        "role": f"A {self.get_role_display()} cannot belong to a "
                        f"{self.organization.get_kind_display().lower()}."
                    }
                )

    @property
    def printed_name(self) -> str:
        """The name printed on signatures (21 CFR 11.50(a)(1))."""
        name = self.get_full_name() or self.username
        return f"{name}, {self.credentials}" if self.credentials else name

    @property
    def permissions(self) -> frozenset[Perm]:
        if not self.is_active or self.organization_id is None:
            return frozenset()
        return permissions_for(self.role)

    def has_perm_code(self, perm: Perm) -> bool:
        return perm in self.permissions


class ApiToken(TimeStampedModel):
    """A bearer token for systems that call the API. Only a hash of the secret is stored.

    Every token expires (`expires_at`, set when it is issued) and can be revoked earlier; a read
    token is refused on any request that writes.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=16, choices=TokenScope.choices)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # None: issued or revoked from the server's command line (the audit trail says "system").
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def status_at(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"

    def is_live_at(self, now: dt.datetime) -> bool:
        return self.status_at(now) == "active"
