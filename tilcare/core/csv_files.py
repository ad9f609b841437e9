"""What every strict CSV import shares: a problem named by line and column, the refusal that
lists the first problems, and UTF-8 decoding that names the line of a bad byte.

A file is imported whole or refused whole; the domain parsers (temperature logs, plate-reader
screens) decide what a valid row is.
"""

from __future__ import annotations

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
