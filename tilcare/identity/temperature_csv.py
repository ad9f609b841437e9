"""A shipment's temperature log as CSV: the one format accepted, read strictly.

The format (UTF-8, a byte-order mark is allowed, comma-separated, one reading a line):

    recorded_at,temperature_c
    2026-01-05T10:00:00+00:00,5.0
    2026-01-05T10:10:00-05:00,-150.5

- The first line is exactly the header `recorded_at,temperature_c`: no other column, no column
  missing, in this order.
- `recorded_at` is an ISO 8601 date-time with its UTC offset (`+01:00`, `-05:00` or `Z`). A time
  without an offset is refused: a logger's local time is ambiguous across time zones and at the
  daylight-saving change.
- `temperature_c` is a number in °C with at most one decimal place (`5`, `5.0`, `-150.5`); no unit
  suffix. A column or value in °F is refused, never converted. Plausible values are
  −273.1 °C (absolute zero is −273.15 °C) to +100.0 °C.
- Each time appears once (two lines at the same instant are refused, even written with
  different offsets). Lines need not be in time order: each reading carries its own time, so the
  readings are sorted by time after reading.
- No time in the future (the caller passes the latest time allowed).
- At least one reading, at most 100,000. Blank lines at the end are ignored; a blank line
  between readings is refused.

All or nothing: any problem refuses the whole file, with each problem's line and column
(`TemperatureCsvError.problems`; the first 20 are listed). Nothing is saved from a refused file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from tilcare.core.csv_files import (
    CsvProblem,
    CsvRefused,
    ProblemCollector,
    data_lines,
    header_mismatch,
)

HEADER = ("recorded_at", "temperature_c")
HEADER_TEXT = ",".join(HEADER)
MAX_ROWS = 100_000
MIN_TEMPERATURE_C = Decimal("-273.1")
MAX_TEMPERATURE_C = Decimal("100.0")

_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_WITH_UNIT = re.compile(
    r"^[+-]?\d+([.,]\d+)?\s*(?P<unit>°\s*[CF]|º\s*[CF]|deg\s*[CF]?|[CF]|celsius|fahrenheit)$",
    re.IGNORECASE,
)
_FAHRENHEIT_HEADER = re.compile(r"(^|[^a-z])f$|fahrenheit|°\s*f|º\s*f|\(f\)|_f\b", re.IGNORECASE)


@dataclass(frozen=True)
class CsvReading:
    line: int
    recorded_at: dt.datetime
    temperature_c: Decimal


class TemperatureCsvError(CsvRefused):
    """The file was refused; `problems` name the line and column of each (first 20 listed)."""


def _header_problem(names: list[str]) -> CsvProblem:
    for name in names:
        if name != "recorded_at" and _FAHRENHEIT_HEADER.search(name):
            return CsvProblem(
                1,
                "header",
                f"the column “{name}” is in °F; give temperatures in °C in a column named "
                "temperature_c (values are never converted).",
            )
    return header_mismatch(names, HEADER)


def _parse_time(text: str) -> dt.datetime | str:
    """The aware date-time, or the problem with it."""
    if not text:
        return "missing; give the date and time with its UTC offset."
    if not _DATE_TIME.match(text):
        return f"“{text}” is not an ISO 8601 date-time; write it like 2026-01-05T10:00:00+00:00."
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return f"“{text}” is not a valid date and time."
    if value.tzinfo is None or value.utcoffset() is None:
        return (
            f"“{text}” has no UTC offset; a time without an offset is ambiguous. "
            f"Write it like {text}+00:00 or {text}Z."
        )
    return value


def _parse_temperature(text: str) -> Decimal | str:
    """The temperature in °C, or the problem with it."""
    if not text:
        return "missing; give the temperature in °C."
    with_unit = _WITH_UNIT.match(text)
    if with_unit:
        unit = with_unit.group("unit").lower()
        if unit.endswith("f") or unit == "fahrenheit":
            return f"“{text}” is in °F; give °C (values are never converted)."
        return f"“{text}” has a unit; write the number only (the column is in °C)."
    if not _NUMBER.match(text):
        return f"“{text}” is not a number."
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -1:
        return f"“{text}” has more than one decimal place (at most one, e.g. 5.3)."
    if value < MIN_TEMPERATURE_C:
        return f"{text} °C is below absolute zero (−273.15 °C)."
    if value > MAX_TEMPERATURE_C:
        return f"{text} °C is above +100.0 °C, not a plausible shipper temperature."
    return value


def parse_temperature_csv(data: bytes, *, not_after: dt.datetime | None = None) -> list[CsvReading]:
    """The readings of a CSV log, sorted by time; TemperatureCsvError when anything is wrong.

    `not_after`: the latest time a reading may carry (now, with a little clock skew); later
    times are refused as in the future.
    """
    problem = ProblemCollector()
    readings: list[CsvReading] = []
    seen: dict[dt.datetime, int] = {}
    for line, row in data_lines(
        data,
        HEADER,
        export_hint="export the log as UTF-8 CSV.",
        header_problem=_header_problem,
        refusal=TemperatureCsvError,
        problem=problem,
        lines_named="readings",
        max_lines=MAX_ROWS,
        too_many=f"more than {MAX_ROWS:,} readings; send the log in parts of at most {MAX_ROWS:,}.",
    ):
        when = _parse_time(row[0].strip())
        temperature = _parse_temperature(row[1].strip())
        if isinstance(when, str):
            problem(line, "recorded_at", when)
        if isinstance(temperature, str):
            problem(line, "temperature_c", temperature)
        if isinstance(when, str) or isinstance(temperature, str):
            continue
        if not_after is not None and when > not_after:
            problem(line, "recorded_at", f"{row[0].strip()} is in the future.")
            continue
        first = seen.get(when)
        if first is not None:
            problem(
                line,
                "recorded_at",
                f"{row[0].strip()} repeats the time on line {first}; each time may appear once.",
            )
            continue
        seen[when] = line
        readings.append(CsvReading(line, when, temperature))
    problem.refuse_if_any(TemperatureCsvError)
    if not readings:
        raise TemperatureCsvError([CsvProblem(2, None, "the file has the header but no readings.")])
    readings.sort(key=lambda r: r.recorded_at)
    return readings


def as_file_errors(errors: dict[str, list[str]], field: str = "file") -> dict[str, list[str]]:
    """A service's refusal of the readings of a file, moved onto the file's field (so the form
    or the API shows it where the file was given)."""
    moved: dict[str, list[str]] = {}
    for name, messages in errors.items():
        target = field if name in ("readings", "source") else name
        moved.setdefault(target, []).extend(messages)
    return moved
