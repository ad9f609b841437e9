"""Who may use which calculator. Deny by default: an inactive or anonymous user, or a role
without the calculator's permission (a patient, a financial coordinator), may use none."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tilcare.accounts.models import User

if TYPE_CHECKING:
    from tilcare.calculators.registry import Calculator


def can_use_calculator(user: Any, calculator: Calculator) -> bool:
    return (
        isinstance(user, User)
        and user.is_authenticated
        and user.is_active
        and any(user.has_perm_code(perm) for perm in calculator.perms)
    )
