"""The temperature-log CSV: the one accepted format, and every refusal naming its line.

Bad files (wrong columns, °F or a unit, empty, header only, repeated times, non-numeric values,
a time without an offset, too many rows) are refused whole: nothing partial comes out.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tilcare.identity.temperature_csv import (
    MAX_ROWS,
    CsvReading,
    TemperatureCsvError,
    parse_temperature_csv,
)

HEADER = "recorded_at,temperature_c\n"
UTC = dt.UTC


def refusal(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(TemperatureCsvError) as refused:
        parse_temperature_csv(data)
    return refused.value.messages()


def test_a_good_file_gives_readings_in_time_order_with_their_lines() -> None:
    # Given lines out of order, with two offsets and a negative value
    data = (
        HEADER
        + "2026-01-05T10:10:00+00:00,5.2\n"
        + "2026-01-05T05:00:00-05:00,-150.5\n"
        + "2026-01-05T10:20:00Z,8\n"
    )

    readings = parse_temperature_csv(data.encode())

    # Then they come back sorted by time, each with its line, exact decimals and its instant
    assert readings == [
        CsvReading(3, dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC), Decimal("-150.5")),
        CsvReading(2, dt.datetime(2026, 1, 5, 10, 10, tzinfo=UTC), Decimal("5.2")),
        CsvReading(4, dt.datetime(2026, 1, 5, 10, 20, tzinfo=UTC), Decimal("8")),
    ]


def test_windows_line_endings_a_byte_order_mark_and_trailing_blank_lines_are_accepted() -> None:
    data = b"\xef\xbb\xbfrecorded_at,temperature_c\r\n2026-01-05T10:00:00Z,5.0\r\n\r\n\r\n"

    assert len(parse_temperature_csv(data)) == 1


def test_spaces_around_values_are_accepted() -> None:
    data = "recorded_at, temperature_c\n 2026-01-05T10:00:00Z , 5.0 \n"

    assert parse_temperature_csv(data.encode())[0].temperature_c == Decimal("5.0")


# --- the file as a whole ---------------------------------------------------------------------


def test_an_empty_file_is_refused() -> None:
    assert refusal("") == [
        "Line 1: the file is empty; the first line must be “recorded_at,temperature_c”."
    ]


def test_a_blank_file_is_refused_as_empty() -> None:
    assert refusal("\n\n  \n")[0].startswith("Line 1: the file is empty")


def test_a_header_without_readings_is_refused() -> None:
    assert refusal(HEADER) == ["Line 2: the file has the header but no readings."]


def test_a_file_that_is_not_utf8_is_refused_naming_the_line() -> None:
    data = HEADER.encode() + b"2026-01-05T10:00:00Z,5.0\n2026-01-05T10:10:00Z,5\xb00\n"

    assert refusal(data) == ["Line 3: the file is not UTF-8 text; export the log as UTF-8 CSV."]


def test_more_than_100000_rows_are_refused() -> None:
    start = dt.datetime(2026, 1, 5, tzinfo=UTC)
    lines = [f"{(start + dt.timedelta(seconds=i)).isoformat()},5.0" for i in range(MAX_ROWS + 1)]

    messages = refusal(HEADER + "\n".join(lines) + "\n")

    assert messages == [
        "Line 100002: more than 100,000 readings; send the log in parts of at most 100,000."
    ]


def test_exactly_100000_rows_are_accepted() -> None:
    start = dt.datetime(2026, 1, 5, tzinfo=UTC)
    lines = [f"{(start + dt.timedelta(seconds=i)).isoformat()},5.0" for i in range(MAX_ROWS)]

    assert len(parse_temperature_csv((HEADER + "\n".join(lines)).encode())) == MAX_ROWS


# --- the header -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "header", "message"),
    [
        ("missing column", "recorded_at",
         "Line 1, header: expected exactly “recorded_at,temperature_c”, found “recorded_at” "
         "(missing temperature_c)."),
        ("extra column", "recorded_at,temperature_c,humidity",
         "Line 1, header: expected exactly “recorded_at,temperature_c”, found "
         "“recorded_at,temperature_c,humidity” (unexpected “humidity”)."),
        ("other names", "time,temp",
         "Line 1, header: expected exactly “recorded_at,temperature_c”, found “time,temp” "
         "(missing recorded_at, temperature_c; unexpected “time”, “temp”)."),
        ("wrong order", "temperature_c,recorded_at",
         "Line 1, header: expected exactly “recorded_at,temperature_c”, found "
         "“temperature_c,recorded_at” (the columns are in the wrong order)."),
        ("fahrenheit column", "recorded_at,temperature_f",
         "Line 1, header: the column “temperature_f” is in °F; give temperatures in °C in a "
         "column named temperature_c (values are never converted)."),
        ("degree F column", "recorded_at,Temperature (°F)",
         "Line 1, header: the column “Temperature (°F)” is in °F; give temperatures in °C in a "
         "column named temperature_c (values are never converted)."),
    ],
)  # fmt: skip
def test_a_wrong_header_is_refused(case: str, header: str, message: str) -> None:
    assert refusal(f"{header}\n2026-01-05T10:00:00Z,5.0\n") == [message]


# --- the lines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "line", "message"),
    [
        ("fahrenheit suffix", "2026-01-05T10:00:00Z,41 F",
         "Line 2, temperature_c: “41 F” is in °F; give °C (values are never converted)."),
        ("degree fahrenheit", "2026-01-05T10:00:00Z,41°F",
         "Line 2, temperature_c: “41°F” is in °F; give °C (values are never converted)."),
        ("celsius suffix", "2026-01-05T10:00:00Z,5.0 °C",
         "Line 2, temperature_c: “5.0 °C” has a unit; write the number only "
         "(the column is in °C)."),
        ("non-numeric", "2026-01-05T10:00:00Z,warm",
         "Line 2, temperature_c: “warm” is not a number."),
        ("missing temperature", "2026-01-05T10:00:00Z,",
         "Line 2, temperature_c: missing; give the temperature in °C."),
        ("two decimals", "2026-01-05T10:00:00Z,5.25",
         "Line 2, temperature_c: “5.25” has more than one decimal place (at most one, e.g. 5.3)."),
        ("below absolute zero", "2026-01-05T10:00:00Z,-273.2",
         "Line 2, temperature_c: -273.2 °C is below absolute zero (−273.15 °C)."),
        ("implausibly hot", "2026-01-05T10:00:00Z,100.1",
         "Line 2, temperature_c: 100.1 °C is above +100.0 °C, not a plausible shipper "
         "temperature."),
        ("naive time", "2026-01-05T10:00:00,5.0",
         "Line 2, recorded_at: “2026-01-05T10:00:00” has no UTC offset; a time without an offset "
         "is ambiguous. Write it like 2026-01-05T10:00:00+00:00 or 2026-01-05T10:00:00Z."),
        ("not a time", "05/01/2026 10:00,5.0",
         "Line 2, recorded_at: “05/01/2026 10:00” is not an ISO 8601 date-time; write it like "
         "2026-01-05T10:00:00+00:00."),
        ("impossible date", "2026-02-30T10:00:00Z,5.0",
         "Line 2, recorded_at: “2026-02-30T10:00:00Z” is not a valid date and time."),
        ("missing time", ",5.0",
         "Line 2, recorded_at: missing; give the date and time with its UTC offset."),
        ("three values", "2026-01-05T10:00:00Z,5,0",
         "Line 2: expected 2 values (recorded_at,temperature_c), found 3."),
    ],
)  # fmt: skip
def test_a_bad_line_is_refused_with_its_line_and_column(case: str, line: str, message: str) -> None:
    assert refusal(f"{HEADER}{line}\n") == [message]


def test_a_repeated_time_is_refused_naming_both_lines() -> None:
    data = HEADER + "2026-01-05T10:00:00Z,5.0\n2026-01-05T10:10:00Z,5.1\n2026-01-05T10:00:00Z,5.2\n"

    assert refusal(data) == [
        "Line 4, recorded_at: 2026-01-05T10:00:00Z repeats the time on line 2; each time may "
        "appear once."
    ]


def test_the_same_instant_with_another_offset_is_a_repeat() -> None:
    data = HEADER + "2026-01-05T10:00:00Z,5.0\n2026-01-05T11:00:00+01:00,5.1\n"

    assert refusal(data)[0].startswith("Line 3, recorded_at: 2026-01-05T11:00:00+01:00 repeats")


def test_a_blank_line_between_readings_is_refused() -> None:
    data = HEADER + "2026-01-05T10:00:00Z,5.0\n\n2026-01-05T10:10:00Z,5.1\n"

    assert refusal(data) == ["Line 3: blank line between readings; remove it."]


def test_every_problem_is_listed_with_its_line_not_only_the_first() -> None:
    data = HEADER + "2026-01-05T10:00:00,5.0\n2026-01-05T10:10:00Z,abc\n2026-01-05T10:20:00Z,5\n"

    messages = refusal(data)

    assert [m.split(":")[0] for m in messages] == ["Line 2, recorded_at", "Line 3, temperature_c"]


def test_at_most_20_problems_are_listed_with_a_count_of_the_rest() -> None:
    data = HEADER + "".join(f"2026-01-05T10:{i:02d}:00Z,x\n" for i in range(25))

    messages = refusal(data)

    assert len(messages) == 21
    assert messages[0] == "Line 2, temperature_c: “x” is not a number."
    assert messages[-1] == "… and 5 more problems not listed."
