"""Reading a parsed TOML table strictly, with every error naming its key path.

`Table` wraps one mapping and its path ("lymphodepletion.agents[1]"). Each read marks the key as
used; `finish()` refuses any key that was not read, so a misspelt key is an error, never silently
ignored. Numbers are decimal strings ("60", "7.5"): a TOML float or integer is refused with a
message naming the key, so that no binary float ever reaches a dose.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tilcare.clinical.units import InvalidQuantity, Unit, to_decimal

DIMENSIONLESS = "1"  # UCUM's unit for a plain number, e.g. a weight factor


class ProtocolError(ValueError):
    """A protocol file that does not fit the schema; `path` names the offending key."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


def _describe(value: object) -> str:
    if isinstance(value, float):
        return f"the TOML float {value!r}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the TOML integer {value}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


class Table:
    """One TOML table with its key path."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ProtocolError(path, f"expected a table, got {_describe(data)}")
        self._data: Mapping[str, Any] = data
        self.path_text = path
        self._used: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self.path_text}.{key}" if self.path_text else key

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def raw(self, key: str) -> object:
        """The value under `key` (required), marked as read."""
        self._used.add(key)
        if key not in self._data:
            raise ProtocolError(self.path(key), "missing")
        value: object = self._data[key]
        return value

    def mark_used(self, key: str) -> None:
        self._used.add(key)

    def finish(self) -> None:
        """Refuse every key that was not read."""
        unknown = sorted(set(self._data) - self._used)
        if unknown:
            allowed = ", ".join(sorted(self._used)) or "none"
            raise ProtocolError(self.path(unknown[0]), f"unknown key (allowed here: {allowed})")

    # Scalars ------------------------------------------------------------------------------

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise ProtocolError(self.path(key), f"expected non-empty text, got {_describe(value)}")
        return value.strip()

    def optional_text(self, key: str) -> str | None:
        self._used.add(key)
        return self.text(key) if key in self._data else None

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise ProtocolError(self.path(key), f"expected true or false, got {_describe(value)}")
        return value

    def decimal(self, key: str) -> Decimal:
        return decimal_value(self.raw(key), self.path(key))

    def integer(self, key: str) -> int:
        return integer_value(self.raw(key), self.path(key))

    def unit(self, key: str, allowed: tuple[Unit, ...]) -> Unit:
        value = self.text(key)
        for unit in allowed:
            if unit.value == value:
                return unit
        expected = " or ".join(f"“{unit.value}”" for unit in allowed)
        raise ProtocolError(
            self.path(key), f"unit “{value}” is not allowed here; expected {expected}"
        )

    def any_unit(self, key: str) -> Unit | None:
        """Any known unit symbol, or "1" for a dimensionless number (returned as None)."""
        value = self.text(key)
        if value == DIMENSIONLESS:
            return None
        try:
            return Unit(value)
        except ValueError:
            raise ProtocolError(
                self.path(key), f"unknown unit “{value}” (use a unit symbol such as “mg” or “1”)"
            ) from None

    # Collections --------------------------------------------------------------------------

    def table(self, key: str) -> Table:
        return Table(self.raw(key), self.path(key))

    def optional_table(self, key: str) -> Table | None:
        self._used.add(key)
        return self.table(key) if key in self._data else None

    def tables(self, key: str) -> list[Table]:
        value = self.raw(key)
        if not isinstance(value, list) or not value:
            raise ProtocolError(
                self.path(key), f"expected a list of tables, got {_describe(value)}"
            )
        return [Table(item, f"{self.path(key)}[{i}]") for i, item in enumerate(value)]

    def text_list(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or not value:
            raise ProtocolError(self.path(key), f"expected a list of text, got {_describe(value)}")
        items = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise ProtocolError(
                    f"{self.path(key)}[{i}]", f"expected non-empty text, got {_describe(item)}"
                )
            items.append(item.strip())
        if len(set(items)) != len(items):
            raise ProtocolError(self.path(key), "the list repeats an entry")
        return tuple(items)

    def integer_list(self, key: str) -> tuple[int, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or not value:
            raise ProtocolError(self.path(key), f"expected a list, got {_describe(value)}")
        return tuple(integer_value(item, f"{self.path(key)}[{i}]") for i, item in enumerate(value))


def decimal_value(value: object, path: str) -> Decimal:
    """A decimal string as a Decimal; refuse TOML floats and integers, naming the path."""
    if isinstance(value, bool) or not isinstance(value, str):
        hint = f' (write "{value}")' if isinstance(value, int | float) else ""
        raise ProtocolError(
            path, f"expected a decimal string, got {_describe(value)}{hint}; numbers are strings"
        )
    try:
        return to_decimal(value, path)
    except InvalidQuantity:
        raise ProtocolError(path, f"expected a decimal string, got {value!r}") from None


def integer_value(value: object, path: str) -> int:
    number = decimal_value(value, path)
    if number != number.to_integral_value():
        raise ProtocolError(path, f"expected a whole number, got {value!r}")
    return int(number)
