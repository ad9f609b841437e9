"""Errors that services raise and views and the API turn into clear answers."""

from __future__ import annotations


class PermissionDenied(Exception):
    """The acting user may not do this. Views answer 403 (or 404 when existence must not leak)."""

    def __init__(self, message: str = "You do not have permission to do this.") -> None:
        super().__init__(message)
        self.message = message


class NotVisible(Exception):
    """Outside what the user may see; answered as 404 so that its existence does not leak."""


class InvalidInput(Exception):
    """Input refused by a service. `errors` maps each field to messages that name the limit."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class Conflict(InvalidInput):
    """Well-formed input that claims what belongs to another organization (another center's
    chain-of-identity number). A page shows it like any refusal, on its field; the API answers 409.
    """


class TransitionBlocked(Exception):
    """A workflow step cannot be taken now. `reasons` are written for the person at the screen."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons
