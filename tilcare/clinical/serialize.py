"""A clinical result dataclass -> plain JSON, keeping every number exact.

Decimals become strings (JSON numbers would pass through binary floats in most clients), a
`Quantity` becomes {"value": "...", "unit": "..."}, enums their value, date-times ISO 8601 with
offset. Nested results (the ideal weight inside an adjusted weight) stay nested, so the working
shown on the page and returned by the API is the whole calculation, not a summary of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from tilcare.clinical.units import Quantity


def to_jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        # The clinical core never returns floats; if one appears, say so rather than hide it.
        raise TypeError(f"A float reached the calculator output: {value!r}")
    if isinstance(value, Quantity):
        return {"value": str(value.magnitude), "unit": value.unit.value}
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_jsonable(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(to_jsonable(key)): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(item) for item in value]
    raise TypeError(f"Cannot turn {type(value).__name__} into JSON")
