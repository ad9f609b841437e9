"""Base classes every domain model builds on."""

from __future__ import annotations

import uuid

from django.db import models


class TimeStampedModel(models.Model):
    """Integer key inside; a UUID `public_id` in URLs, API and FHIR; creation and change times."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
