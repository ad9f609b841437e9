"""The one helper views, the API and services use to enforce a `can_<verb>_<noun>` predicate."""

from __future__ import annotations

from tilcare.core.errors import PermissionDenied


def require(allowed: bool, message: str = "You do not have permission to do this.") -> None:
    """Raise PermissionDenied unless the predicate allowed the action."""
    if not allowed:
        raise PermissionDenied(message)
