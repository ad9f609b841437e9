"""Writing a row under a unique key when two people may try at the same moment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

from tilcare.core.errors import InvalidInput

Row = TypeVar("Row", bound=models.Model)


def create_unless_taken(
    model: type[Row], taken: InvalidInput, key: Mapping[str, Any], **fields: Any
) -> Row:
    """Create the row with its unique `key`, or refuse with `taken` when a row already has it,
    including one written by a colleague at the same moment. Runs in the caller's transaction."""
    if model._default_manager.filter(**key).exists():
        raise taken
    try:
        with transaction.atomic():
            return model._default_manager.create(**key, **fields)
    except IntegrityError:
        raise taken from None
