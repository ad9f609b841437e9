"""Pieces every domain's API router shares: exact numbers, explicit time, paging, the caller.

- JSON numbers are parsed to `Decimal`, never `float`, so a weight typed as 68.4 reaches the
  service as exactly 68.4 (DESIGN section 4.2).
- Dates are `YYYY-MM-DD` text only; date-times must carry their UTC offset (a naive time is
  ambiguous by up to a day across the centers' time zones) and are returned in UTC with `+00:00`.
- Lists are paged with limit/offset, at most 200 rows a page, an offset at most 10⁹.
- Every request body is an `InputSchema`: an unknown field is refused, not ignored (a misspelt
  field must never fall back to a default), and JSON types are strict (`true` is not 1, 1 is not
  `true`, a number is not a date). A calculator's schema is made strict by `strict_input`.
- A query is as strict: a parameter the operation does not declare is refused, not ignored, and
  a typed parameter's text is checked by `query_text_problem` (the API applies both to every
  operation, `tilcare.config.api`).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import types
import typing
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from django.http import HttpRequest
from ninja import Field, Schema
from ninja.errors import AuthenticationError
from ninja.pagination import LimitOffsetPagination
from ninja.parser import Parser
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    ModelWrapValidatorHandler,
    PlainSerializer,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tilcare.core.validation import DECIMAL, NO_OFFSET, json_type_problem, typed_text_problem

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# Past any list's length at the scale tilcare serves (50 million audit events), and within every
# database's integer range: a larger offset is a typing slip.
MAX_OFFSET = 1_000_000_000

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
        raise ValueError(NO_OFFSET)
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


def checked_range(
    minimum: Decimal | int, maximum: Decimal | int, *, above_minimum: bool = False
) -> dict[str, Any]:
    """A field's plausible range for the OpenAPI document (`json_schema_extra=`).

    For a number whose range is checked once elsewhere (by its service, or by the field's own
    validator) with the field's label, unit, limits and the value sent ("Tissue weight must be
    from 0.001 to 500 g (got 700 g)."): the check keeps that message, and the document still
    tells clients the range.
    """
    low = "exclusiveMinimum" if above_minimum else "minimum"
    return {low: json_number(minimum), "maximum": json_number(maximum)}


def json_number(value: Decimal | int) -> int | float:
    number = Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


# Validation context of a page's form: its values are typed text, so "3" for a whole number and
# "true" for yes are what the form sends; the JSON type check applies to the API only.
FORM_TEXT: dict[str, Any] = {"form_text": True}


class InputSchema(Schema):
    """A request body: unknown fields refused, JSON types strict (see `json_type_problem`), and
    only a JSON object read as one (never a bare value's attributes)."""

    model_config = ConfigDict(extra="forbid", from_attributes=False)

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(
        cls, values: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo
    ) -> Any:
        # Replaces ninja's, which reads the input through a Django-object getter (for answers
        # built from records); a request's input is JSON, validated as it is.
        return handler(values)

    @field_validator("*", mode="before")
    @classmethod
    def _json_type(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        if isinstance(info.context, dict) and info.context.get("form_text"):
            problem = typed_text_problem(value, field.annotation)
        else:
            problem = json_type_problem(value, field.annotation)
        if problem:
            raise PydanticCustomError("json_type", problem)
        return value


# Tags of `one_or_many`'s two shapes; `field_errors` leaves the object's out of a field's path
# and writes the list's as the list's name.
_ONE, _MANY = "one-or-many:object", "one-or-many:list:"


def one_or_many(schema: type[InputSchema], list_name: str) -> Any:
    """A body that is one object or a list of them (as an instrument sends counts).

    Only the shape that was sent is validated, and a refusal names the field the way the
    service does: `viable_cells` for one object, `counts.0.viable_cells` for the first of a list
    named "counts", without the other shape's complaints.
    """
    many = f"{_MANY}{list_name}"

    def shape(value: Any) -> str:
        return many if isinstance(value, list) else _ONE

    return Annotated[
        Annotated[list[schema], Tag(many)] | Annotated[schema, Tag(_ONE)],  # type: ignore[valid-type]
        Discriminator(shape),
    ]


def _path_part(part: Any) -> str | None:
    text = str(part)
    if text == _ONE:
        return None
    return text.removeprefix(_MANY)


_STRICT_VERSIONS: dict[type[Any], type[InputSchema]] = {}


def strict_input(schema: type[Schema]) -> type[InputSchema]:
    """The same schema as an `InputSchema`, nested row schemas included.

    The subclass keeps the name, fields, limits, defaults and descriptions, so the OpenAPI
    document and the page's form are unchanged but for refusing unknown fields.
    """
    if isinstance(schema, type) and issubclass(schema, InputSchema):
        return schema
    if schema in _STRICT_VERSIONS:
        return _STRICT_VERSIONS[schema]
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {
        "__module__": schema.__module__,
        "__qualname__": schema.__qualname__,
        "__doc__": schema.__doc__,
        "model_config": ConfigDict(
            **{**schema.model_config, "extra": "forbid", "from_attributes": False}
        ),
    }
    for name, info in schema.model_fields.items():
        nested = _strict_annotation(info.annotation)
        if nested is not info.annotation:
            field = copy.copy(info)
            field.annotation = nested
            annotations[name] = nested
            namespace[name] = field
    namespace["__annotations__"] = annotations
    strict = typing.cast(type[InputSchema], type(schema.__name__, (schema, InputSchema), namespace))
    _STRICT_VERSIONS[schema] = strict
    return strict


def _strict_annotation(annotation: Any) -> Any:
    """`annotation` with each nested schema made strict (the same object if there is none)."""
    if isinstance(annotation, type) and issubclass(annotation, Schema):
        return strict_input(annotation)
    args = typing.get_args(annotation)
    if not args:
        return annotation
    new_args = tuple(_strict_annotation(arg) for arg in args)
    if all(new is old for new, old in zip(new_args, args, strict=True)):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return Annotated[(new_args[0], *typing.get_args(annotation)[1:])]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new_args]  # noqa: UP007 (built from a tuple)
    return origin[new_args]


class ApiPagination(LimitOffsetPagination):
    """Limit/offset paging; a limit over 200 is refused (422), not quietly cut."""

    class Input(Schema):
        limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

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


# --- query parameters -------------------------------------------------------------------------
# A query's values are text. Those of a typed parameter are held to the JSON body's strictness:
# a whole number is digits only (not 1.0, not true), a yes/no is true or false (not 1, yes or on),
# a decimal is plain decimal text (not 1e3, not 0_8). Pydantic would read each of those.

UNKNOWN_QUERY_PARAMETER = (
    "Unknown query parameter; check its spelling against the API documentation."
)
QUERY_WHOLE_NUMBER = "Write a whole number, e.g. 3 (digits only: not a decimal or true/false)."
QUERY_TRUE_OR_FALSE = "Write true or false (not 1/0, yes/no or on/off)."
QUERY_DECIMAL = "Write a plain decimal number, e.g. 0.8 (digits and one decimal point)."

_QUERY_TEXT: dict[type[Any], tuple[re.Pattern[str], str]] = {
    int: (re.compile(r"-?[0-9]+"), QUERY_WHOLE_NUMBER),
    bool: (re.compile(r"true|false"), QUERY_TRUE_OR_FALSE),
    Decimal: (re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)"), QUERY_DECIMAL),
}


def query_text_problem(text: str, annotation: Any) -> str | None:
    """Why the query value `text` cannot be the whole number, yes/no or decimal `annotation`
    asks for; None if it may be (the parameter's own validation checks the rest: its range, its
    choices, a date)."""
    if typing.get_origin(annotation) is Annotated:
        return query_text_problem(text, typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return query_text_problem(text, kinds[0]) if len(kinds) == 1 else None
    rule = _QUERY_TEXT.get(annotation)
    if rule is None or rule[0].fullmatch(text):
        return None
    return rule[1]


# Pydantic's wording for the commonest problems, said the way the rest of tilcare says them.
_MISSING_BODY = "Send the request body as a JSON object."
_MESSAGES_BY_TYPE = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field; check its spelling against the API documentation.",
    "decimal_type": DECIMAL,
    "model_attributes_type": "Send a JSON object with its fields.",
    "model_type": "Send a JSON object with its fields.",
    "dict_type": "Send a JSON object with its fields.",
    "list_type": "Send a JSON list.",
}
# The same problems in a query, worded for a query parameter.
_QUERY_MESSAGES_BY_TYPE = {"extra_forbidden": UNKNOWN_QUERY_PARAMETER}
# A limit's message names the field and the limit ("fragments must be at most 200").
_LIMIT_MESSAGES = {
    "greater_than_equal": ("ge", "must be at least"),
    "greater_than": ("gt", "must be more than"),
    "less_than_equal": ("le", "must be at most"),
    "less_than": ("lt", "must be less than"),
}


def _plain(limit: Any) -> str:
    """A limit as people write it: 100,000,000,000 rather than 1E+11."""
    if isinstance(limit, Decimal):
        return f"{limit.normalize():,f}"
    if isinstance(limit, int) and not isinstance(limit, bool):
        return f"{limit:,}"
    return str(limit)


def _message(field: str, error: dict[str, Any], source: str = "") -> str:
    kind = error.get("type", "")
    limit = _LIMIT_MESSAGES.get(kind)
    context = error.get("ctx") or {}
    if limit and limit[0] in context and field:
        name = field.rsplit(".", 1)[-1]
        return f"{name} {limit[1]} {_plain(context[limit[0]])}"
    if source == "query" and kind in _QUERY_MESSAGES_BY_TYPE:
        return _QUERY_MESSAGES_BY_TYPE[kind]
    return _MESSAGES_BY_TYPE.get(kind, str(error.get("msg", "")))


def field_errors(ninja_errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Ninja's error list -> {field: [messages]}, the same shape the services' InvalidInput has.

    A location is (source, [body parameter name,] field, ...): `("body", "payload", "weight_kg")`
    becomes `weight_kg`, `("query", "limit")` becomes `limit`; nested fields are dotted.
    """
    result: dict[str, list[str]] = {}
    for error in ninja_errors:
        parts = (_path_part(part) for part in error.get("loc", ()))
        location = [part for part in parts if part is not None]
        source = location.pop(0) if location else ""
        if source == "body" and location:
            location.pop(0)
        field = ".".join(location) or "__all__"
        kind = error.get("type", "")
        if source == "body" and not location and kind == "missing":
            result.setdefault("__all__", []).append(_MISSING_BODY)
            continue
        message = _message(field if location else "", error, source)
        message = message.removeprefix("Value error, ")
        if message and not message.endswith("."):
            message += "."
        result.setdefault(field, []).append(message or "Invalid value.")
    return result
