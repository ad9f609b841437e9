"""A service's refusal as a command-line error: the command stops and prints what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from tilcare.core.errors import InvalidInput


@contextmanager
def refused_as_command_error(*, name_fields: bool = True) -> Iterator[None]:
    """Turn InvalidInput raised inside into a CommandError listing its messages, each after its
    field's name (`name_fields`, for commands whose options are the service's fields)."""
    try:
        yield
    except InvalidInput as exc:
        if name_fields:
            text = "; ".join(f"{field}: {' '.join(lines)}" for field, lines in exc.errors.items())
        else:
            text = " ".join(line for lines in exc.errors.values() for line in lines)
        raise CommandError(text) from None
