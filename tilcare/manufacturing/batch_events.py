"""What other domains must hear from the batch record: a batch was rejected.

Manufacturing sits below the journey in the layers and never imports it, yet a rejected product
sends the patient's journey to a clinical choice (re-manufacture or withdrawal). The journey
registers its reaction here when the app starts (`JourneyConfig.ready`), and every path that
rejects a batch (the technologist's rejection on the batch page or through the API, QA's signed
disposition) calls `batch_rejected` inside its own transaction: the reaction is written with the
rejection or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

from tilcare.accounts.models import User
from tilcare.manufacturing.models import Batch

RejectionHandler = Callable[[Batch, User], object]

_rejection_handlers: list[RejectionHandler] = []


def on_batch_rejected(handler: RejectionHandler) -> RejectionHandler:
    """Register `handler(batch, actor)`, once (registering twice is harmless)."""
    if handler not in _rejection_handlers:
        _rejection_handlers.append(handler)
    return handler


def batch_rejected(batch: Batch, *, actor: User) -> None:
    """Tell every registered domain that `batch` was rejected by `actor` (call in the
    rejecting transaction, after the status change is saved)."""
    for handler in _rejection_handlers:
        handler(batch, actor)
