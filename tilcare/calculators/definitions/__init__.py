"""Importing this package registers every calculator (one module per group)."""

from tilcare.calculators.definitions import body, grading, identity  # noqa: F401
