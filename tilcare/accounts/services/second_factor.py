"""Writes to a person's second factor: enrolment, verification, recovery codes and reset.

The second factor is a TOTP authenticator app (django-otp `TOTPDevice`) with ten one-time
recovery codes (`StaticDevice`). Every wrong code is counted on the device and doubles the wait
before the next one is checked (django-otp's throttling), and is written to the audit trail, as
are enrolment, each recovery code used and a reset by the center administrator.

A wrong code is a refusal that still writes (the count and the audit event): those commit first,
then the refusal is raised, so the count cannot be rolled back by the refusal itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tilcare.accounts import policies
from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.services import record_event
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
ENTER_CODE = "Enter the 6-digit code from your authenticator app, or a recovery code."
WRONG_CODE = "That code is not right. Check the time on your phone and try the newest code."
WRONG_RECOVERY_CODE = "That recovery code is not right or has been used already."


@dataclass(frozen=True)
class VerifyOutcome:
    """A passed check: the device that passed it, and how many recovery codes are left."""

    device: Device
    recovery_codes_left: int | None = None


def _wait_message(info: dict[str, Any] | None) -> str:
    locked_until = (info or {}).get("locked_until")
    seconds = 1
    if locked_until is not None:
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
    unit = "second" if seconds == 1 else "seconds"
    return f"Too many wrong codes. Wait {seconds} {unit} before the next try."


def _normalised(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def begin_enrolment(*, actor: User) -> TOTPDevice:
    """The unconfirmed authenticator a person is setting up (made once, reused until confirmed).

    Not audited: until a code from it is confirmed it is not a credential.
    """
    require(
        not TOTPDevice.objects.filter(user=actor, confirmed=True).exists(),
        "Your authenticator app is already set up; ask your center administrator to reset it.",
    )
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=actor, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=actor, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def confirm_enrolment(device: TOTPDevice, code: str, *, actor: User) -> list[str]:
    """Confirm the authenticator with a code it shows; returns the new recovery codes (shown once).

    A wrong code is counted and audited, then refused with a message naming the code field.
    """
    require(device.user_id == actor.pk, "You can only set up your own authenticator app.")
    code = _normalised(code)
    if not (code.isdigit() and len(code) == device.digits):
        raise InvalidInput({"code": [f"Enter the {device.digits}-digit code your app shows."]})
    refusal = ""
    codes: list[str] = []
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        require(not device.confirmed, "This authenticator app is already set up.")
        allowed, info = device.verify_is_allowed()
        if not allowed:
            refusal = _wait_message(info)
        elif not device.verify_token(code):
            refusal = WRONG_CODE
            record_event(
                Action.SECOND_FACTOR_VERIFY_FAILURE,
                actor,
                actor=actor,
                after={"during": "enrolment", "failures": device.throttling_failure_count},
            )
        else:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            StaticDevice.objects.filter(user=actor).delete()
            recovery = StaticDevice.objects.create(user=actor, name=RECOVERY_NAME, confirmed=True)
            codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
            StaticToken.objects.bulk_create(
                [StaticToken(device=recovery, token=token) for token in codes]
            )
            record_event(
                Action.SECOND_FACTOR_ENROL,
                actor,
                actor=actor,
                after={"device": AUTHENTICATOR_NAME, "recovery_codes": RECOVERY_CODE_COUNT},
            )
    if refusal:
        raise InvalidInput({"code": [refusal]})
    return codes


def verify_second_factor(user: User, code: str, *, actor: User) -> VerifyOutcome:
    """Check a code from the person's authenticator app, or one of their recovery codes.

    Six digits are read as an authenticator code, anything else as a recovery code (which is
    used up). Wrong codes are counted on the device and audited; while the device makes the
    person wait, no code is checked at all.
    """
    require(actor.pk == user.pk, "Each person confirms their own second factor.")
    code = _normalised(code)
    if not code:
        raise InvalidInput({"code": [ENTER_CODE]})
    is_app_code = code.isdigit() and len(code) == 6
    refusal = ""
    outcome: VerifyOutcome | None = None
    with transaction.atomic():
        model: type[TOTPDevice] | type[StaticDevice] = TOTPDevice if is_app_code else StaticDevice
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            refusal = WRONG_RECOVERY_CODE if not is_app_code else ENTER_CODE
        else:
            allowed, info = device.verify_is_allowed()
            if not allowed:
                refusal = _wait_message(info)
            elif device.verify_token(code):
                left = None
                if isinstance(device, StaticDevice):
                    left = device.token_set.count()
                    record_event(
                        Action.SECOND_FACTOR_RECOVERY_CODE_USE,
                        user,
                        actor=actor,
                        after={"recovery_codes_left": left},
                    )
                outcome = VerifyOutcome(device=device, recovery_codes_left=left)
            else:
                refusal = WRONG_CODE if is_app_code else WRONG_RECOVERY_CODE
                record_event(
                    Action.SECOND_FACTOR_VERIFY_FAILURE,
                    user,
                    actor=actor,
                    after={
                        "method": "authenticator app" if is_app_code else "recovery code",
                        "failures": device.throttling_failure_count,
                    },
                )
    if outcome is None:
        raise InvalidInput({"code": [refusal]})
    return outcome


def reset_second_factor(target: User, *, actor: User, reason: str) -> None:
    """Remove a colleague's authenticator and recovery codes (a lost or replaced phone).

    At their next request they are sent to set up a new authenticator app.
    """
    require(
        policies.can_reset_second_factor(actor, target),
        "Only your center's administrator may reset a colleague's second factor.",
    )
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput({"reason": ["Say why the second factor is reset (kept in the trail)."]})
    with transaction.atomic():
        had_app = TOTPDevice.objects.filter(user=target, confirmed=True).exists()
        TOTPDevice.objects.filter(user=target).delete()
        StaticDevice.objects.filter(user=target).delete()
        record_event(
            Action.SECOND_FACTOR_RESET,
            target,
            actor=actor,
            before={"authenticator_app": had_app},
            after={"authenticator_app": False},
            reason=reason,
        )
