"""Writes to organizations and their people: the center settings every other domain relies on.

The ISBT 128 facility identification number (FIN) is assigned to each facility by ICCBBA; it has
no default, and no chain-of-identity number can be issued until a center administrator sets it.
Two organizations never hold the same FIN: a COI identifier no journey carries yet belongs to the
center whose FIN it starts with, so a copied FIN would let one center claim another's numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from tilcare.accounts import policies
from tilcare.accounts.models import Organization, User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.services import record_change, record_written
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require

CENTER_SETTINGS = ("name", "isbt_fin", "time_zone", "phone", "after_hours_phone", "address")


def _check_organization(organization: Organization) -> None:
    """Refuse what the model's own validation refuses, and a FIN another organization holds."""
    try:
        organization.full_clean()
    except ValidationError as exc:
        raise InvalidInput({k: list(v) for k, v in exc.message_dict.items()}) from None
    fin = organization.isbt_fin
    others = Organization.objects.filter(isbt_fin=fin).exclude(pk=organization.pk)
    if fin and others.exists():
        raise InvalidInput(
            {
                "isbt_fin": [
                    f"{fin} is already the facility identification number of another "
                    "organization: ICCBBA assigns each facility its own. Check the number on the "
                    "ICCBBA registration."
                ]
            }
        )


def update_center_settings(
    center: Organization, *, actor: User, changes: Mapping[str, Any], reason: str
) -> Organization:
    require(policies.can_manage_center(actor, center), "Only a center administrator may do this.")
    errors: dict[str, list[str]] = {}
    unknown = set(changes) - set(CENTER_SETTINGS)
    if unknown:
        errors["__all__"] = [f"Unknown setting(s): {', '.join(sorted(unknown))}."]
    if not reason.strip():
        errors["reason"] = ["Say why the settings change (kept in the audit trail)."]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        center = Organization.objects.select_for_update().get(pk=center.pk)
        before = snapshot(center)
        for field, value in changes.items():
            setattr(center, field, value.strip().upper() if field == "isbt_fin" else value)
        _check_organization(center)
        center.save()
        record_change(
            Action.ORGANIZATION_SETTINGS_UPDATE,
            center,
            actor=actor,
            before=before,
            reason=reason.strip(),
        )
    return center


def create_organization(
    *, actor: User | None, kind: str, name: str, time_zone: str, isbt_fin: str = "", **extra: str
) -> Organization:
    """Register a treatment center or a manufacturing facility.

    Organizations are set up by the deployment's administrator from the command line
    (`tilcare addorg`), so `actor` is None there and the audit trail says "system".
    """
    if actor is not None:
        require(False, "Organizations are created by the deployment administrator.")
    unknown = set(extra) - {"phone", "after_hours_phone", "address"}
    if unknown:
        raise InvalidInput({"__all__": [f"Unknown field(s): {', '.join(sorted(unknown))}."]})
    organization = Organization(
        kind=kind,
        name=name.strip(),
        time_zone=time_zone,
        isbt_fin=isbt_fin.strip().upper(),
        **extra,
    )
    _check_organization(organization)
    with transaction.atomic():
        organization.save()
        record_written(Action.ORGANIZATION_CREATE, organization, actor=None)
    return organization


def create_user(
    *,
    actor: User | None,
    organization: Organization,
    username: str,
    password: str,
    role: str,
    first_name: str,
    last_name: str,
    credentials: str = "",
    email: str = "",
) -> User:
    """Create a person's account with one role in one organization; the password is validated.

    From the command line (`tilcare adduser`) `actor` is None; a center administrator may create
    accounts for their own center.
    """
    if actor is not None:
        require(
            policies.can_manage_center(actor, organization),
            "Only this center's administrator may create its accounts.",
        )
    user = User(
        username=username.strip(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        credentials=credentials.strip(),
        role=role,
        organization=organization,
    )
    errors: dict[str, list[str]] = {}
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if not user.first_name or not user.last_name:
        errors.setdefault("__all__", []).append(
            "First and last name are required: they are printed on signatures."
        )
    if errors:
        raise InvalidInput(errors)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        record_written(Action.USER_CREATE, user, actor=actor)
    return user
