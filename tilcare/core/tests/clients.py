"""Helpers every domain's tests share: a signed-in client, and row counts for "nothing was
written"."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.test import Client


def client_for(user: Any) -> Client:
    """A test client signed in as `user` (past the second factor: see the root conftest)."""
    client = Client()
    client.force_login(user)
    return client


def row_counts(*model_classes: type[models.Model]) -> tuple[int, ...]:
    """How many rows each model's table holds: compared before and after a refused request."""
    return tuple(model._base_manager.count() for model in model_classes)
