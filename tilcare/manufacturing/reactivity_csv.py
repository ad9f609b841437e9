"""The reactivity screen as a plate-reader CSV: the one format accepted, read strictly.

Each pre-REP culture is co-cultured with autologous tumor and with a control target; the plate
reader (IFN-γ ELISA) and the flow cytometer (CD137) results are exported as one line per culture
(UTF-8, a byte-order mark is allowed, comma-separated):

    culture_id,ifn_gamma_tumor_pg_per_ml,ifn_gamma_control_pg_per_ml,cd137_tumor_percent,cd137_control_percent
    F03,1850.0,120.0,14.20,1.10
    F07,240,180,2.0,1.4

- The first line is exactly that header: no column missing, none added, in this order. A column
  in another unit (ng/mL, a fraction) is refused, never converted.
- `culture_id`: the culture (well) as recorded in the batch, letters, digits, `.`, `_` and `-`,
  at most 20 characters. Each culture appears once; a culture that is not in the batch is
  refused (a CSV of another batch must not be imported into this one).
- IFN-γ in pg/mL, 0 to 1,000,000, at most one decimal place. CD137 in % of T cells, 0 to 100,
  at most two decimal places. Plain numbers only: no unit suffix ("1850 pg/mL", "14.2%"), no
  exponent, no sign other than a leading minus (refused as negative).
- At least one culture line, at most 1,000. Blank lines at the end are ignored; a blank line
  between culture lines is refused.

All or nothing: any problem refuses the whole file, with each problem's line and column
(`ReactivityCsvError.problems`; the first 20 are listed). Nothing is saved from a refused file.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from tilcare.core.csv_files import (
    CsvProblem,
    CsvRefused,
    ProblemCollector,
    data_lines,
    header_mismatch,
)

HEADER = (
    "culture_id",
    "ifn_gamma_tumor_pg_per_ml",
    "ifn_gamma_control_pg_per_ml",
    "cd137_tumor_percent",
    "cd137_control_percent",
)
HEADER_TEXT = ",".join(HEADER)
MAX_ROWS = 1000
MAX_BYTES = 1_000_000
CULTURE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")
CULTURE_ID_RULE = "letters, digits, “.”, “_” and “-”, at most 20 characters"


@dataclass(frozen=True)
class _Column:
    name: str
    unit: str
    maximum: Decimal
    places: int
    measure: str


_VALUE_COLUMNS = (
    _Column(HEADER[1], "pg/mL", Decimal(1_000_000), 1, "IFN-γ against tumor"),
    _Column(HEADER[2], "pg/mL", Decimal(1_000_000), 1, "IFN-γ against control"),
    _Column(HEADER[3], "%", Decimal(100), 2, "CD137 against tumor"),
    _Column(HEADER[4], "%", Decimal(100), 2, "CD137 against control"),
)

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_WITH_UNIT = re.compile(r"^[+-]?\d*[.,]?\d+\s*(?P<unit>[a-zµμ%/]+[a-z/]*\s*[a-z]*)$", re.IGNORECASE)
_OTHER_CONCENTRATION = re.compile(r"(ng|ug|µg|μg|mg)(_per_|/)", re.IGNORECASE)
_FRACTION = re.compile(r"fraction|ratio|proportion", re.IGNORECASE)


@dataclass(frozen=True)
class ScreenRow:
    line: int
    culture_id: str
    ifn_gamma_tumor_pg_per_ml: Decimal
    ifn_gamma_control_pg_per_ml: Decimal
    cd137_tumor_percent: Decimal
    cd137_control_percent: Decimal


class ReactivityCsvError(CsvRefused):
    """The file was refused; `problems` name the line and column of each (first 20 listed)."""


def _header_problem(names: list[str]) -> CsvProblem:
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        separator = "“;”" if ";" in names[0] else "tabs"
        return CsvProblem(
            1, "header", f"the columns are separated by {separator}; the file must be comma-"
            f"separated with the header “{HEADER_TEXT}”.",
        )  # fmt: skip
    for name in names:
        if _OTHER_CONCENTRATION.search(name) or "ng/ml" in name.lower():
            return CsvProblem(
                1, "header", f"the column “{name}” is not in pg/mL; give IFN-γ in pg/mL in the "
                "columns ifn_gamma_tumor_pg_per_ml and ifn_gamma_control_pg_per_ml (values are "
                "never converted).",
            )  # fmt: skip
        if _FRACTION.search(name):
            return CsvProblem(
                1, "header", f"the column “{name}” is a fraction; give CD137 in % of T cells in "
                "the columns cd137_tumor_percent and cd137_control_percent (values are never "
                "converted).",
            )  # fmt: skip
    return header_mismatch(names, HEADER)


def _parse_value(text: str, column: _Column) -> Decimal | str:
    """The value in the column's unit, or the problem with it."""
    if not text:
        return f"missing; give {column.measure} in {column.unit}."
    with_unit = _WITH_UNIT.match(text)
    if with_unit and not _NUMBER.match(text):
        unit = with_unit.group("unit").strip()
        if unit.lower().replace("μ", "µ") == column.unit.lower():
            return f"“{text}” has a unit; write the number only (the column is in {column.unit})."
        return (
            f"“{text}” is in {unit}; this column is in {column.unit}: write the number in "
            f"{column.unit}, without a unit (values are never converted)."
        )
    if text.startswith("-") and _NUMBER.match(text):
        return f"“{text}” is negative; {column.measure} cannot be below 0 {column.unit}."
    if not _NUMBER.match(text):
        return f"“{text}” is not a number; write a plain decimal number such as 12.5."
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > column.places:
        places = "one decimal place" if column.places == 1 else f"{column.places} decimal places"
        return f"“{text}” has more than {places} (at most {places})."
    if value > column.maximum:
        if column.unit == "%":
            return f"{text} % is above 100 %; a percentage of T cells is 0 to 100."
        return (
            f"{text} pg/mL is above the plausible maximum {column.maximum:,} pg/mL; check the "
            "dilution factor and the unit."
        )
    return value


def _culture_problem(
    culture_id: str, known: Collection[str] | None, seen: dict[str, int]
) -> str | None:
    if not culture_id:
        return "missing; give the culture (well) id as recorded in the batch."
    if not CULTURE_ID.match(culture_id):
        return f"“{culture_id}” is not a culture id ({CULTURE_ID_RULE})."
    if culture_id in seen:
        return (
            f"culture {culture_id} appears again (first on line {seen[culture_id]}); give one "
            "line per culture (well)."
        )
    if known is not None and culture_id not in known:
        near = [k for k in known if k.lower() == culture_id.lower()]
        hint = f" Did you mean “{near[0]}”?" if near else ""
        return f"culture “{culture_id}” is not a culture of this batch.{hint}"
    return None


def parse_reactivity_csv(
    data: bytes, *, known_culture_ids: Collection[str] | None = None
) -> list[ScreenRow]:
    """The culture lines of a screen CSV, in file order; ReactivityCsvError when anything is
    wrong. `known_culture_ids`: the batch's cultures; any other id is refused."""
    if len(data) > MAX_BYTES:
        raise ReactivityCsvError(
            [CsvProblem(1, None, f"the file is larger than {MAX_BYTES:,} bytes.")]
        )
    problem = ProblemCollector()
    rows: list[ScreenRow] = []
    seen: dict[str, int] = {}
    for line, cells in data_lines(
        data,
        HEADER,
        export_hint="export it as UTF-8 CSV.",
        header_problem=_header_problem,
        refusal=ReactivityCsvError,
        problem=problem,
        lines_named="cultures",
        max_lines=MAX_ROWS,
        too_many=f"more than {MAX_ROWS:,} cultures in one file.",
    ):
        culture_id = cells[0].strip()
        bad_id = _culture_problem(culture_id, known_culture_ids, seen)
        if bad_id is not None:
            problem(line, HEADER[0], bad_id)
        elif culture_id not in seen:
            seen[culture_id] = line
        values: list[Decimal] = []
        for column, cell in zip(_VALUE_COLUMNS, cells[1:], strict=True):
            parsed = _parse_value(cell.strip(), column)
            if isinstance(parsed, str):
                problem(line, column.name, parsed)
            else:
                values.append(parsed)
        if bad_id is None and len(values) == len(_VALUE_COLUMNS):
            rows.append(ScreenRow(line, culture_id, *values))
    problem.refuse_if_any(ReactivityCsvError)
    if not rows:
        raise ReactivityCsvError(
            [CsvProblem(2, None, "the file has the header but no culture lines.")]
        )
    return rows
