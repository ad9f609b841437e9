"""Pure clinical and identification arithmetic.

No Django, no database, no I/O, no clock (pass `now` in). An import-linter contract enforces it and
mypy checks this package in strict mode.
"""
