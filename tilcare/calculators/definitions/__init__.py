"""Importing this package registers every calculator (one module per group)."""

from tilcare.calculators.definitions import (  # noqa: F401
    body,
    ctcae,
    dosing,
    grading,
    identity,
    il2_rules,
    manufacturing,
    response,
)
