"""Monitoring enums: where an observation came from, and the grading systems."""

from __future__ import annotations

from django.db import models

# At most this many observations in one request: a day's vital signs of a busy unit fit, and a
# refusal of one entry refuses them all, so a sender keeps batches small enough to correct.
MAX_ENTRIES = 500
# A fluid total covers at most a day: a longer period is a slip in its start.
FLUID_PERIOD_MAX_HOURS = 24
REASON_MAX = 1000
CLIENT_ID_MAX = 100
SET_ID_MAX = 64


class Source(models.TextChoices):
    FORM = "form", "Bedside form"
    API = "api", "API"


class GradeSystem(models.TextChoices):
    CTCAE_V5_0 = "CTCAE v5.0", "CTCAE v5.0"
    NEWS2 = "NEWS2", "NEWS2 (RCP 2017)"
