"""The shared value checks: moments, dates, text and decimals, each refusal added by field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tilcare.core.errors import InvalidInput
from tilcare.core.validation import (
    CLOCK_ALLOWANCE,
    NUL_REFUSED,
    DecimalWords,
    Errors,
    MomentWords,
    TextWords,
    check_date,
    check_decimal_range,
    check_moment,
    check_text,
    clean_text,
    latest_moment,
)

NOW = dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC)


def test_a_moment_within_the_clock_allowance_is_accepted():
    errors: Errors = {}
    ahead = NOW + CLOCK_ALLOWANCE
    assert check_moment(errors, "at", ahead, now=NOW) == ahead
    assert errors == {}
    assert latest_moment(NOW) == ahead


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "Give the date and time with its time zone."),
        ("2026-03-09T12:00:00Z", "Give the date and time with its time zone."),
        (dt.datetime(2026, 3, 9, 12, 0), "Give the date and time with its time zone."),
        (NOW + CLOCK_ALLOWANCE + dt.timedelta(seconds=1), "Date and time cannot be in the future."),
        (
            NOW - dt.timedelta(days=2),
            "Date and time cannot be before the batch was opened (2026-03-08 11:00 UTC).",
        ),
    ],
)
def test_a_moment_is_refused_with_the_field_and_the_bound(value, message):
    errors: Errors = {}
    opened = dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    result = check_moment(
        errors, "at", value, now=NOW, not_before=opened, not_before_label="the batch was opened"
    )
    assert result is None
    assert errors == {"at": [message]}


def test_a_moment_typed_for_the_past_may_have_no_allowance_and_its_own_words():
    errors: Errors = {}
    words = MomentWords(missing="Give a date and time.", future="{label} is later than now.")
    check_moment(
        errors, "at", NOW + dt.timedelta(seconds=1), now=NOW, allowance=dt.timedelta(0), words=words
    )
    check_moment(errors, "when", None, words=words)
    assert errors == {"at": ["Date and time is later than now."], "when": ["Give a date and time."]}


def test_a_date_is_refused_before_its_bound_and_after_today():
    errors: Errors = {}
    today = dt.date(2026, 3, 9)
    born = dt.date(1970, 1, 1)
    assert check_date(errors, "d", "Date signed", dt.date(2026, 3, 1), today=today) == dt.date(
        2026, 3, 1
    )
    assert check_date(errors, "d", "Date signed", None, today=today) is None
    assert errors == {}
    bad = check_date(
        errors,
        "d",
        "Date signed",
        dt.date(1960, 1, 1),
        today=today,
        not_before=born,
        not_before_label="the date of birth",
    )
    check_date(errors, "d", "Date signed", dt.date(2026, 3, 10), today=today)
    assert bad is None
    assert errors == {
        "d": [
            "Date signed cannot be before the date of birth (1970-01-01).",
            "Date signed cannot be in the future (today is 2026-03-09).",
        ]
    }


def test_text_is_stripped_and_checked_for_length_emptiness_and_nul():
    errors: Errors = {}
    required = TextWords(required="{label} is required.")
    assert check_text(errors, "name", "  Ann  ", max_length=3) == "Ann"
    assert check_text(errors, "note", " a \n  b ", one_line=True) == "a b"
    assert check_text(errors, "note", None) == ""
    assert errors == {}
    check_text(errors, "name", "   ", label="Name", words=required)
    check_text(errors, "long", "abcd", max_length=3)
    check_text(errors, "nul", "a\x00b")
    assert errors == {
        "name": ["Name is required."],
        "long": ["At most 3 characters (got 4)."],
        "nul": [NUL_REFUSED],
    }


def test_clean_text_refuses_at_once():
    assert clean_text("reason", " why ", required="Say why.") == "why"
    with pytest.raises(InvalidInput) as refused:
        clean_text("reason", "", required="Say why.")
    assert refused.value.errors == {"reason": ["Say why."]}


def test_a_decimal_may_have_open_bounds_and_its_own_words():
    errors: Errors = {}
    words = DecimalWords(
        required="“{value}” is not a number.",
        not_finite="“{value}” is not a finite number.",
        too_many_places="At most one decimal place (got {value}).",
    )
    assert check_decimal_range(errors, "t", "", "-999.5", None, None, "", words=words) == Decimal(
        "-999.5"
    )
    check_decimal_range(errors, "a", "", None, None, None, "", words=words)
    check_decimal_range(errors, "b", "", "NaN", None, None, "", words=words)
    check_decimal_range(errors, "c", "", "1.25", None, None, "", words=words)
    assert errors == {
        "a": ["“None” is not a number."],
        "b": ["“NaN” is not a finite number."],
        "c": ["At most one decimal place (got 1.25)."],
    }
