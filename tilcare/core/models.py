"""Base classes every domain model builds on."""

from __future__ import annotations

import uuid
from typing import Protocol

from django.db import models

from tilcare.clinical import identity_scan


class TimeStampedModel(models.Model):
    """Integer key inside; a UUID `public_id` in URLs, API and FHIR; creation and change times."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class HasCoi(Protocol):
    """Anything carrying a chain-of-identity identifier and its check character."""

    @property
    def coi_din(self) -> str: ...

    @property
    def coi_check(self) -> str: ...


class CoiMixin:
    """How a model with `coi_din` and `coi_check` prints its COI identifier.

    No fields of its own (the models keep their own column definitions), so mixing it in needs
    no migration.
    """

    @property
    def coi_spaced(self: HasCoi) -> str:
        """The DIN as printed: FIN, year, sequence."""
        return identity_scan.spaced(self.coi_din)

    @property
    def coi_display(self: HasCoi) -> str:
        """The DIN as printed, then the check character."""
        return identity_scan.coi_display(self.coi_din, self.coi_check)
