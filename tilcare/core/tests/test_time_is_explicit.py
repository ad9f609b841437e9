"""No code asks the server which day or hour it is: every moment is aware, every day is somebody's.

Instants are stored in UTC; a day is a center's or a facility's, asked through
`tilcare.core.timeutil` with the place named. This check reads every module of the application
(tests and migrations aside) and fails, naming file and line, on a call that would fall back on the
server's zone or make a naive date-time:

- `date.today()` or `datetime.today()`: the server's date;
- `datetime.now()` without a zone, `datetime.utcnow()`, `datetime.utcfromtimestamp()`,
  `datetime.fromtimestamp()` without a zone: naive or server-zoned;
- `timezone.localdate()`, `timezone.localtime()` without a named zone,
  `timezone.get_current_timezone()`, `timezone.get_default_timezone()`, `make_aware()` without a
  zone: the process's zone (the TIME_ZONE setting, or whatever was last activated);
- `datetime(...)` and `datetime.combine(...)` without `tzinfo`: a naive date-time;
- `.astimezone()` without a zone: the server's zone;
- `.date()` straight on `timezone.now()` or `datetime.now(...)`: the date in UTC, nobody's day.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the tilcare package
SKIPPED_PARTS = {"tests", "migrations"}


def _name(node: ast.expr) -> str:
    """`dt.datetime` -> "datetime", `datetime` -> "datetime", `timezone` -> "timezone"."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _keywords(call: ast.Call) -> set[str]:
    return {k.arg for k in call.keywords if k.arg}


def _is_now_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "now"
        and _name(node.func.value) in {"timezone", "datetime"}
    )


def _problem(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        if func.id == "datetime" and len(call.args) < 8 and "tzinfo" not in _keywords(call):
            return "datetime(...) without tzinfo makes a naive date-time"
        if func.id == "make_aware" and len(call.args) < 2 and "timezone" not in _keywords(call):
            return "make_aware() without a zone uses the server's zone"
        if func.id in {"localdate", "get_current_timezone", "get_default_timezone"}:
            return f"{func.id}() uses the server's zone"
        if func.id == "localtime" and len(call.args) < 2 and "timezone" not in _keywords(call):
            return "localtime() without a named zone uses the server's zone"
        return None
    if not isinstance(func, ast.Attribute):
        return None
    owner, attr = _name(func.value), func.attr
    if attr == "today" and owner in {"date", "datetime"}:
        return f"{owner}.today() is the server's date; ask timeutil.local_today(place)"
    if owner == "datetime":
        if attr == "now" and not call.args and "tz" not in _keywords(call):
            return "datetime.now() without a zone is naive; use timezone.now()"
        if attr in {"utcnow", "utcfromtimestamp"}:
            return f"datetime.{attr}() is naive; use timezone.now()"
        if attr == "fromtimestamp" and len(call.args) < 2 and "tz" not in _keywords(call):
            return "datetime.fromtimestamp() without a zone uses the server's zone"
        if attr == "combine" and len(call.args) < 3 and "tzinfo" not in _keywords(call):
            return "datetime.combine() without tzinfo makes a naive date-time"
    if owner == "timezone":
        if attr in {"localdate", "get_current_timezone", "get_default_timezone"}:
            return f"timezone.{attr}() uses the server's zone; name the place's zone"
        if attr == "localtime" and len(call.args) < 2 and "timezone" not in _keywords(call):
            return "timezone.localtime() without a named zone uses the server's zone"
        if attr == "make_aware" and len(call.args) < 2 and "timezone" not in _keywords(call):
            return "timezone.make_aware() without a zone uses the server's zone"
    naive_datetime = len(call.args) < 8 and "tzinfo" not in _keywords(call)
    if owner in {"dt", "datetime"} and attr == "datetime" and naive_datetime:
        return "datetime(...) without tzinfo makes a naive date-time"
    if attr == "astimezone" and not call.args and not call.keywords:
        return ".astimezone() without a zone uses the server's zone"
    if attr == "date" and not call.args and _is_now_call(func.value):
        return ".date() on now() is the date in UTC, nobody's day; ask timeutil.local_today"
    return None


def problems_in(source: str, file_name: str) -> list[str]:
    """Each implicit-zone or naive-time call in `source`, as "file:line: what"."""
    found = []
    for node in ast.walk(ast.parse(source, filename=file_name)):
        if isinstance(node, ast.Call) and (problem := _problem(node)):
            found.append(f"{file_name}:{node.lineno}: {problem}")
    return sorted(found, key=lambda text: (text.split(":")[0], int(text.split(":")[1])))


def _application_modules() -> list[Path]:
    return sorted(
        path for path in ROOT.rglob("*.py") if not SKIPPED_PARTS & set(path.relative_to(ROOT).parts)
    )


def test_no_module_asks_the_server_for_its_day_or_makes_a_naive_time():
    # Given every application module (tests and migrations aside)
    modules = _application_modules()
    assert len(modules) > 100

    # When each is read for implicit-zone and naive date-time calls
    found = [
        problem
        for path in modules
        for problem in problems_in(path.read_text(), str(path.relative_to(ROOT.parent)))
    ]

    # Then there are none
    assert found == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("date.today()", "date.today() is the server's date; ask timeutil.local_today(place)"),
        ("dt.date.today()", "date.today() is the server's date; ask timeutil.local_today(place)"),
        (
            "datetime.datetime.today()",
            "datetime.today() is the server's date; ask timeutil.local_today(place)",
        ),
        ("dt.datetime.now()", "datetime.now() without a zone is naive; use timezone.now()"),
        ("datetime.utcnow()", "datetime.utcnow() is naive; use timezone.now()"),
        (
            "dt.datetime.utcfromtimestamp(0)",
            "datetime.utcfromtimestamp() is naive; use timezone.now()",
        ),
        (
            "dt.datetime.fromtimestamp(0)",
            "datetime.fromtimestamp() without a zone uses the server's zone",
        ),
        (
            "timezone.localdate()",
            "timezone.localdate() uses the server's zone; name the place's zone",
        ),
        (
            "timezone.localtime()",
            "timezone.localtime() without a named zone uses the server's zone",
        ),
        (
            "timezone.localtime(moment)",
            "timezone.localtime() without a named zone uses the server's zone",
        ),
        (
            "timezone.get_current_timezone()",
            "timezone.get_current_timezone() uses the server's zone; name the place's zone",
        ),
        (
            "timezone.make_aware(naive)",
            "timezone.make_aware() without a zone uses the server's zone",
        ),
        ("dt.datetime(2026, 3, 8, 2, 30)", "datetime(...) without tzinfo makes a naive date-time"),
        ("datetime(2026, 3, 8)", "datetime(...) without tzinfo makes a naive date-time"),
        (
            "dt.datetime.combine(day, dt.time(8))",
            "datetime.combine() without tzinfo makes a naive date-time",
        ),
        ("moment.astimezone()", ".astimezone() without a zone uses the server's zone"),
        (
            "timezone.now().date()",
            ".date() on now() is the date in UTC, nobody's day; ask timeutil.local_today",
        ),
        (
            "dt.datetime.now(dt.UTC).date()",
            ".date() on now() is the date in UTC, nobody's day; ask timeutil.local_today",
        ),
    ],
)
def test_the_check_names_file_line_and_the_implicit_time(line, problem):
    # Given a module whose third line makes a naive or server-zoned time
    source = f"import datetime as dt\n\nvalue = {line}\n"

    # When it is checked
    found = problems_in(source, "tilcare/example.py")

    # Then the problem is named with its file and line
    assert found == [f"tilcare/example.py:3: {problem}"]


@pytest.mark.parametrize(
    "line",
    [
        "timezone.now()",
        "dt.datetime.now(dt.UTC)",
        "dt.datetime.now(tz=zone)",
        "timezone.localtime(moment, zone)",
        "timezone.localtime(moment, timezone=zone)",
        "dt.datetime(2026, 3, 8, 2, 30, tzinfo=zone)",
        "dt.datetime.combine(day, dt.time(8), tzinfo=zone)",
        "dt.datetime.combine(day, dt.time(8), zone)",
        "moment.astimezone(zone)",
        "local_today(center)",
        "walk.today()",
        "local_now(center).date()",
    ],
)
def test_the_check_lets_explicit_zones_pass(line):
    # Given a module that names its zone (or asks timeutil)
    source = f"import datetime as dt\n\nvalue = {line}\n"

    # When it is checked
    # Then nothing is found
    assert problems_in(source, "tilcare/example.py") == []
