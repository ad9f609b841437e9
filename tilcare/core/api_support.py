"""Pieces every domain's API router shares: exact numbers, explicit time, paging, the caller.

- JSON numbers are parsed to `Decimal`, never `float`, so a weight typed as 68.4 reaches the
  service as exactly 68.4 (DESIGN section 4.2).
- Dates are `YYYY-MM-DD` text only; date-times must carry their UTC offset (a naive time is
  ambiguous by up to a day across the centers' time zones) and are returned in UTC with `+00:00`.
- Lists are paged with limit/offset, at most 200 rows a page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from django.http import HttpRequest
from ninja import Field, Schema
from ninja.errors import AuthenticationError
from ninja.pagination import LimitOffsetPagination
from ninja.parser import Parser
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DecimalJsonParser(Parser):
    """JSON bodies with every fractional number read as Decimal; NaN and Infinity refused."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            request.body, parse_float=Decimal, parse_constant=_refuse_constant
        )
        return data


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows.")


def _date_text(value: Any) -> Any:
    # Pydantic would also take a number of seconds since 1970 as a date; a clinical date is only
    # ever written out in full.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        return value.strip()
    raise ValueError("Enter the date as YYYY-MM-DD.")


def _datetime_text(value: Any) -> Any:
    if isinstance(value, dt.datetime | str):
        return value
    raise ValueError("Enter the date and time as ISO 8601 text with its UTC offset.")


def _require_offset(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "Give the date and time with its UTC offset, e.g. 2026-01-05T14:30:00+01:00 "
            "or 2026-01-05T13:30:00Z; a time without an offset is ambiguous."
        )
    return value


def _as_utc_text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


IsoDate = Annotated[dt.date, BeforeValidator(_date_text)]
AwareDateTime = Annotated[
    dt.datetime, BeforeValidator(_datetime_text), AfterValidator(_require_offset)
]
UtcDateTime = Annotated[
    dt.datetime,
    PlainSerializer(_as_utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
DecimalText = Annotated[
    Decimal,
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["68.4"]}),
]


class ApiPagination(LimitOffsetPagination):
    """Limit/offset paging; a limit over 200 is refused (422), not quietly cut."""

    class Input(Schema):
        limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
        offset: int = Field(0, ge=0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_PAGE_SIZE, **kwargs)


T = TypeVar("T")
U = TypeVar("U")


class MappedQuerySet(Generic[T, U]):
    """A queryset whose page, once sliced, is converted row by row.

    Used where the output schema depends on who is asking (a facility sees no patient), so each
    row must be built explicitly instead of letting a schema pick fields off the model.
    """

    def __init__(self, queryset: Any, convert: Callable[[T], U]) -> None:
        self._queryset = queryset
        self._convert = convert

    def all(self) -> MappedQuerySet[T, U]:
        return self

    def count(self) -> int:
        return int(self._queryset.count())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[U]:
        return [self._convert(row) for row in self._queryset[index]]

    def __iter__(self) -> Iterator[U]:
        return (self._convert(row) for row in self._queryset)


def caller(request: HttpRequest) -> Any:
    """The authenticated user of an API operation (set by the API's auth classes)."""
    user = getattr(request, "auth", None)
    if user is None:
        raise AuthenticationError()
    return user


# Pydantic's wording for the commonest problems, said the way the rest of tilcare says them.
_MISSING_BODY = "Send the request body as a JSON object."
_MESSAGES_BY_TYPE = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field; check its spelling against the API documentation.",
}


def field_errors(ninja_errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Ninja's error list -> {field: [messages]}, the same shape the services' InvalidInput has.

    A location is (source, [body parameter name,] field, ...): `("body", "payload", "weight_kg")`
    becomes `weight_kg`, `("query", "limit")` becomes `limit`; nested fields are dotted.
    """
    result: dict[str, list[str]] = {}
    for error in ninja_errors:
        location = [str(part) for part in error.get("loc", ())]
        source = location.pop(0) if location else ""
        if source == "body" and location:
            location.pop(0)
        field = ".".join(location) or "__all__"
        kind = error.get("type", "")
        if source == "body" and not location and kind == "missing":
            result.setdefault("__all__", []).append(_MISSING_BODY)
            continue
        message = _MESSAGES_BY_TYPE.get(kind, str(error.get("msg", "")))
        message = message.removeprefix("Value error, ")
        if message and not message.endswith("."):
            message += "."
        result.setdefault(field, []).append(message or "Invalid value.")
    return result
