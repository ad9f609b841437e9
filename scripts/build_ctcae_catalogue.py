"""Build the CTCAE v5.0 term catalogue (JSON) from the NCI workbook.

Usage (from the repository root, with openpyxl installed in the development environment):

    python scripts/build_ctcae_catalogue.py            # write the catalogue
    python scripts/build_ctcae_catalogue.py --check    # exit 1 if the catalogue is out of date

Options: --workbook PATH (default tilcare/clinical/tests/data/CTCAE_v5.0.xlsx) and
--output PATH (default tilcare/clinical/grading/data/ctcae_v5_0.json).

Input: the NCI CTEP workbook CTCAE_v5.0.xlsx (release 2017-11-27), sheet "CTCAE v5.0 Clean Copy".
The workbook's SHA-256 is pinned below; any other file is refused, so the catalogue always comes
from the same bytes. Parsing rules:
  * header and cell texts are stripped of surrounding whitespace, including the trailing
    non-breaking spaces the workbook carries ("Grade 1\\u00a0\\u00a0");
  * a cell reading "-" means the grade (or definition) does not exist and becomes null;
  * every other text is kept verbatim (inner line breaks included); the MedDRA code is an int;
  * the "CTCAE v5.0 Change" column (v4 → v5 change notes) is not carried.
Output: deterministic JSON (sorted keys, terms in workbook order, ensure_ascii=False, indent 1,
trailing newline). The run-time code (tilcare.clinical.grading.ctcae_v5_0) reads only that JSON;
openpyxl is a development dependency of this script and of the catalogue test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import openpyxl

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKBOOK = REPO_ROOT / "tilcare/clinical/tests/data/CTCAE_v5.0.xlsx"
DEFAULT_OUTPUT = REPO_ROOT / "tilcare/clinical/grading/data/ctcae_v5_0.json"

WORKBOOK_SHA256 = "dc11095f39227ef48402eb166cefaf0933bb7a0b0cc61c187649c0b19c6f601f"
SHEET = "CTCAE v5.0 Clean Copy"
EXPECTED_TERMS = 837
HEADERS = (
    "MedDRA Code",
    "MedDRA SOC",
    "CTCAE Term",
    "Grade 1",
    "Grade 2",
    "Grade 3",
    "Grade 4",
    "Grade 5",
    "Definition",
    "Navigational Note",
    "CTCAE v5.0 Change",
)

VERSION = "CTCAE v5.0"
RELEASE_DATE = "2017-11-27"
SOURCE = (
    "NCI CTEP, Common Terminology Criteria for Adverse Events (CTCAE) v5.0, released 2017-11-27, "
    'workbook CTCAE_v5.0.xlsx, sheet "CTCAE v5.0 Clean Copy"'
)
MEDDRA_NOTE = "MedDRA codes are identifiers only (MedDRA is licensed by ICH MSSO)"
MISSING = "-"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def clean_text(value: object, where: str) -> str | None:
    """Strip a text cell; "-" (grade does not exist) and empty cells become None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected text, found {value!r}")
    text = value.strip()
    if text in ("", MISSING):
        return None
    return text


def required_text(value: object, where: str) -> str:
    text = clean_text(value, where)
    if text is None:
        raise ValueError(f"{where}: the cell is empty")
    return text


def read_terms(workbook: Path) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(workbook, read_only=True, data_only=True)
    try:
        rows = list(book[SHEET].iter_rows(values_only=True))
    finally:
        book.close()
    headers = tuple(str(cell).strip() for cell in rows[0])
    if headers != HEADERS:
        raise ValueError(f"Unexpected headers in {SHEET!r}: {headers!r}")
    terms: list[dict[str, Any]] = []
    for number, row in enumerate(rows[1:], start=2):
        if all(cell is None for cell in row):
            continue
        where = f"{SHEET} row {number}"
        code = row[0]
        if isinstance(code, bool) or not isinstance(code, int):
            raise ValueError(f"{where}: MedDRA code {code!r} is not an integer")
        terms.append(
            {
                "meddra_code": code,
                "soc": required_text(row[1], f"{where} MedDRA SOC"),
                "term": required_text(row[2], f"{where} CTCAE Term"),
                "grades": {
                    str(grade): clean_text(row[2 + grade], f"{where} Grade {grade}")
                    for grade in range(1, 6)
                },
                "definition": clean_text(row[8], f"{where} Definition"),
                "navigational_note": clean_text(row[9], f"{where} Navigational Note"),
            }
        )
    if len(terms) != EXPECTED_TERMS:
        raise ValueError(f"Expected {EXPECTED_TERMS} terms in {SHEET!r}, found {len(terms)}")
    return terms


def render(workbook: Path) -> str:
    digest = sha256_of(workbook)
    if digest != WORKBOOK_SHA256:
        raise ValueError(
            f"{workbook} has SHA-256 {digest}; the catalogue is built only from the NCI workbook "
            f"with SHA-256 {WORKBOOK_SHA256}."
        )
    catalogue = {
        "version": VERSION,
        "release_date": RELEASE_DATE,
        "source": SOURCE,
        "workbook_sha256": digest,
        "meddra_note": MEDDRA_NOTE,
        "terms": read_terms(workbook),
    }
    return json.dumps(catalogue, sort_keys=True, ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workbook", type=Path, default=DEFAULT_WORKBOOK)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="compare with the existing output, write nothing"
    )
    args = parser.parse_args(argv)
    text = render(args.workbook)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
