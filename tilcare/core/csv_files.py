"""What every strict CSV import shares: a problem named by line and column, the refusal that
lists the first problems, and UTF-8 decoding that names the line of a bad byte.

A file is imported whole or refused whole; the domain parsers (temperature logs, plate-reader
screens) decide what a valid row is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_PROBLEMS_LISTED = 20


@dataclass(frozen=True)
class CsvProblem:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"Line {self.line}, {self.column}" if self.column else f"Line {self.line}"
        return f"{where}: {self.message}"


class CsvRefused(ValueError):
    """The file was refused; `problems` name the line and column of each (first 20 listed)."""

    def __init__(self, problems: list[CsvProblem], total: int | None = None) -> None:
        self.problems = problems[:MAX_PROBLEMS_LISTED]
        self.total = max(total or len(problems), len(problems))
        super().__init__("; ".join(self.messages()))

    def messages(self) -> list[str]:
        texts = [str(p) for p in self.problems]
        hidden = self.total - len(self.problems)
        if hidden > 0:
            texts.append(f"… and {hidden} more problem{'s' if hidden != 1 else ''} not listed.")
        return texts


def decode_utf8(data: bytes, refusal: type[CsvRefused], export_hint: str) -> str:
    """The text of an uploaded file (a BOM is allowed); a non-UTF-8 byte is refused by line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise refusal(
            [CsvProblem(line, None, f"the file is not UTF-8 text; {export_hint}")]
        ) from None


def header_mismatch(names: list[str], header: tuple[str, ...]) -> CsvProblem:
    """The header problem for a first line that is not exactly `header`, saying what differs."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    missing = [h for h in header if h not in names]
    extra = [n for n in names if n not in header]
    parts = []
    if repeated:
        parts.append("repeated " + ", ".join(repeated))
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(f"“{n}”" for n in extra))
    detail = "; ".join(parts) or "the columns are in the wrong order"
    expected, shown = ",".join(header), ",".join(names)
    return CsvProblem(1, "header", f"expected exactly “{expected}”, found “{shown}” ({detail}).")


class ProblemCollector:
    """Collects a file's problems while it is read: every one counted, the first 20 kept."""

    def __init__(self) -> None:
        self.problems: list[CsvProblem] = []
        self.total = 0

    def __call__(self, line: int, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.problems) < MAX_PROBLEMS_LISTED:
            self.problems.append(CsvProblem(line, column, message))

    def refuse_if_any(self, refusal: type[CsvRefused]) -> None:
        if self.problems:
            raise refusal(self.problems, self.total)


def data_lines(
    data: bytes,
    header: tuple[str, ...],
    *,
    export_hint: str,
    header_problem: Callable[[list[str]], CsvProblem],
    refusal: type[CsvRefused],
    problem: ProblemCollector,
    lines_named: str,
    max_lines: int,
    too_many: str,
) -> Iterator[tuple[int, list[str]]]:
    """The lines below the header of an uploaded file, each with its line number and cells.

    A file that is not UTF-8 (`export_hint` says how to export it), an empty one or one whose
    first line is not `header` refuses the file at once; `header_problem` says what is wrong with
    that line, given its names without surrounding spaces. A blank line between `lines_named`, a
    line past `max_lines` (`too_many` is its problem; reading stops) and a line with another
    number of values than `header` are problems told to `problem`, and are not given; so is a
    line the csv module cannot read, which ends the reading.
    """
    text = decode_utf8(data, refusal, export_hint)
    header_text = ",".join(header)
    if not text.strip():
        raise refusal(
            [CsvProblem(1, None, f"the file is empty; the first line must be “{header_text}”.")]
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    blank_lines: list[int] = []
    count = 0
    try:
        names = [cell.strip() for cell in next(reader)]
        if tuple(names) != header:
            raise refusal([header_problem(names)])
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                blank_lines.append(line)
                continue
            for blank in blank_lines:
                problem(blank, None, f"blank line between {lines_named}; remove it.")
            blank_lines = []
            count += 1
            if count > max_lines:
                problem(line, None, too_many)
                break
            if len(cells) != len(header):
                problem(
                    line,
                    None,
                    f"expected {len(header)} values ({header_text}), found {len(cells)}.",
                )
                continue
            yield line, cells
    except StopIteration:  # pragma: no cover - the file is not blank, so a first row exists
        pass
    except csv.Error as exc:
        problem(reader.line_num, None, f"not readable as CSV ({exc}).")
