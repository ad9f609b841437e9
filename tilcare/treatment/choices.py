"""Treatment enums: the state of a center's protocol settings, and who signs them."""

from __future__ import annotations

from django.db import models

from tilcare.accounts.choices import Role


class ActivationStatus(models.TextChoices):
    """A version of a center's settings for one protocol.

    Entered (a draft, editable until its first signature), then active once a pharmacist and a
    treating physician have both signed it, then superseded when a newer version becomes active.
    A draft that will not be signed is discarded with a reason. Every version stays readable.
    """

    AWAITING_SIGNATURES = "awaiting_signatures", "Awaiting signatures"
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded"
    DISCARDED = "discarded", "Discarded"


# The two signatures a version needs, by the signer's role: the meaning each carries (21 CFR
# 11.50) and the field that holds it.
SIGNING_ROLES: dict[str, tuple[str, str]] = {
    Role.PHARMACIST: ("Protocol settings verified by pharmacist", "pharmacist_signature"),
    Role.PHYSICIAN: ("Protocol settings approved by treating physician", "physician_signature"),
}

REASON_MAX = 500


class OrderKind(models.TextChoices):
    LYMPHODEPLETION = (
        "lymphodepletion",
        "Lymphodepletion (cyclophosphamide with mesna, fludarabine)",
    )
    IL2 = "il2", "High-dose IL-2 (aldesleukin)"
    FILGRASTIM = "filgrastim", "Filgrastim (G-CSF), daily from Day +1"


class OrderStatus(models.TextChoices):
    """An order is written by a physician, verified by a pharmacist's e-signature, and may be
    cancelled with a reason. A verified order whose inputs are no longer the patient's latest
    (a newer weight or height) needs verifying again: that is read from the record, not stored."""

    AWAITING_VERIFICATION = "awaiting_verification", "Awaiting pharmacist verification"
    VERIFIED = "verified", "Verified"
    CANCELLED = "cancelled", "Cancelled"
    # IL-2 or filgrastim: stopped by the physician (filgrastim: its stop rule met, or the
    # institution's standard); the order's remaining doses are recorded not given.
    STOPPED = "stopped", "Stopped"


OPEN_ORDER_STATUSES = (OrderStatus.AWAITING_VERIFICATION, OrderStatus.VERIFIED)
VERIFY_MEANING = "Order verified by pharmacist"


class AdministrationOutcome(models.TextChoices):
    """What happened to one ordered dose. A held or not-given dose says why."""

    GIVEN = "given", "Given"
    HELD = "held", "Held"
    NOT_GIVEN = "not_given", "Not given"


class BedsideTarget(models.TextChoices):
    """What a bedside check scans: the patient's wristband (the journey's COI identifier with its
    check character) or a product bag's label."""

    WRISTBAND = "wristband", "Patient wristband"
    BAG = "bag", "Product bag"


# The two people of the bedside identity check, in the order they began.
CHECKERS = (1, 2)


class Il2Choice(models.TextChoices):
    """A clinician's decision for one IL-2 dose."""

    GIVE = "give", "Give"
    HOLD = "hold", "Hold"
    STOP = "stop", "Stop IL-2"


class Il2DecisionStatus(models.TextChoices):
    """The nurse assesses and decides first; the treating physician's decision is final."""

    AWAITING_PHYSICIAN = "awaiting_physician", "Awaiting the physician's decision"
    DECIDED = "decided", "Decided"


NOTE_MAX = 500
