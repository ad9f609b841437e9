"""Shared by the audit tests: plain SQL, the way someone with database access would change rows."""

from __future__ import annotations

from django.db import connection


def sql(statement: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
