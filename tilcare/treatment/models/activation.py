"""A center's activation of a protocol: the settings its sources leave to the center, signed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from tilcare.accounts.models import Organization
from tilcare.audit.models import Signature
from tilcare.core.models import TimeStampedModel
from tilcare.treatment.choices import (
    ActivationStatus,
)


class ProtocolActivation(TimeStampedModel):
    """One version of a center's settings for one protocol file (id and version).

    `values` holds each setting as stored text (decimal text, an option, or a list of renal
    bands), keyed by the setting's key in the protocol file; the clinical core types and checks
    them when they are read (`clinical.dosing.protocol_settings`). The version becomes active
    when both signatures are in; its content is then immutable (a change is a new version).
    """

    center = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    protocol_id = models.CharField(max_length=40)
    protocol_version = models.CharField(max_length=20)
    number = models.PositiveIntegerField()
    values = models.JSONField(default=dict)
    reason = models.TextField(blank=True)
    status = models.CharField(
        max_length=24,
        choices=ActivationStatus.choices,
        default=ActivationStatus.AWAITING_SIGNATURES,
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    pharmacist_signature = models.OneToOneField(
        Signature, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    physician_signature = models.OneToOneField(
        Signature, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)  # superseded or discarded
    end_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["center_id", "protocol_id", "protocol_version", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["center", "protocol_id", "protocol_version", "number"],
                name="treatment_activation_number_unique",
            ),
            # One version in force and one being prepared at a time, per center and protocol.
            models.UniqueConstraint(
                fields=["center", "protocol_id", "protocol_version"],
                condition=models.Q(status=ActivationStatus.ACTIVE),
                name="treatment_activation_one_active",
            ),
            models.UniqueConstraint(
                fields=["center", "protocol_id", "protocol_version"],
                condition=models.Q(status=ActivationStatus.AWAITING_SIGNATURES),
                name="treatment_activation_one_draft",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol_id} {self.protocol_version} settings v{self.number}"

    @property
    def is_signed_by_anyone(self) -> bool:
        return self.pharmacist_signature_id is not None or self.physician_signature_id is not None

    def signed_content(self) -> dict[str, Any]:
        """What both signatures cover: the center, the protocol file, the version and values."""
        return {
            "center": str(self.center.public_id),
            "protocol_id": self.protocol_id,
            "protocol_version": self.protocol_version,
            "number": self.number,
            "values": self.values,
            "reason": self.reason,
        }
