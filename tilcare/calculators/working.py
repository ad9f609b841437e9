"""A calculation's result laid out for reading: the answer's values, then how it was reached.

The result dataclass is turned into JSON-safe values first (the same as the API returns), then
into sections of label/value rows. Formula, source, version and rounding are pulled out into
"How this was calculated" so a pharmacist finds them in the same place on every calculator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tilcare.calculators.forms import humanize
from tilcare.clinical.serialize import to_jsonable

PROVENANCE_KEYS = (
    "rule",
    "formula",
    "formula_text",
    "source",
    "version",
    "protocol",
    "protocol_version",
    "rounding",
    "scale",
)

# Unit suffixes of the clinical core's field names, shown the way a clinician writes them.
_UNIT_SUFFIXES = (
    ("_kg_per_m2", "kg/m²"),
    ("_ml_per_min", "mL/min"),
    ("_mg_per_dl", "mg/dL"),
    ("_per_min", "/min"),
    ("_percent", "%"),
    ("_kg", "kg"),
    ("_cm", "cm"),
    ("_mm", "mm"),
    ("_m2", "m²"),
    ("_mg", "mg"),
    ("_iu", "IU"),
    ("_in", "in"),
    ("_years", "years"),
    ("_days", "days"),
    ("_hours", "h"),
    ("_c", "°C"),
)
_LONG_DECIMAL = re.compile(r"^-?\d+\.\d{7,}$")


def label(key: str) -> str:
    """weight_kg -> "Weight (kg)"; unrounded_m2 -> "Unrounded (m²)"."""
    for suffix, unit in _UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return f"{humanize(key[: -len(suffix)])} ({unit})"
    return humanize(key)


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    # (title, column labels, rows, notes): a long value shared by every row is a note, not a column
    tables: list[tuple[str, list[str], list[list[str]], list[tuple[str, str]]]] = field(
        default_factory=list
    )


def _pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def _text(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"protocol_id", "version"}:
        return f"{value['protocol_id']} version {value['version']}"
    if isinstance(value, list) and value and all(_pair(item) for item in value):
        # (name, value) pairs, e.g. the observations a rule set was evaluated on
        return "; ".join(f"{label(name)}: {_text(item)}" for name, item in value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        return f"{value['value']} {value['unit']}"
    if isinstance(value, list) and all(not isinstance(item, dict | list) for item in value):
        return ", ".join(_text(item) for item in value) or "—"
    text = str(value)
    if _LONG_DECIMAL.match(text):
        # Unrounded intermediates carry 28+ digits; the page shows 6 decimals, the API all.
        whole, fraction = text.split(".")
        return f"{whole}.{fraction[:6]}…"
    return text


# Inside a list item these repeat what is shown once elsewhere (a dose line's full agent
# calculation is listed under the agents; every line's protocol is the result's protocol).
SKIP_IN_ITEMS = ("calculation", "protocol")


def _is_quantity(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"value", "unit"}


def _is_flat(item: dict[str, Any]) -> bool:
    return all(
        _is_quantity(v) or not isinstance(v, dict | list) or _scalar_list(v)
        for k, v in item.items()
        if k not in SKIP_IN_ITEMS
    )


def _scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(item, dict | list) for item in value)


def _dict_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and not _is_quantity(item) for item in value)
    )


def _is_table(value: Any) -> bool:
    return _dict_list(value) and all(_is_flat(item) for item in value)


def _item_title(key: str, item: dict[str, Any], index: int) -> str:
    for name_key in ("agent", "day_label", "culture_id", "lesion_id", "rule_id", "name"):
        if isinstance(item.get(name_key), str):
            return f"{label(key)}: {item[name_key]}"
    return f"{label(key)} {index}"


def _table(
    title: str, items: list[dict[str, Any]]
) -> tuple[str, list[str], list[list[str]], list[tuple[str, str]]]:
    columns: list[str] = []
    for item in items:
        columns.extend(
            key
            for key in item
            if key not in columns and key not in PROVENANCE_KEYS and key not in SKIP_IN_ITEMS
        )
    notes: list[tuple[str, str]] = []
    kept: list[str] = []
    for column in columns:
        values = [_cell(item.get(column)) for item in items]
        if len(items) > 1 and all(len(value) > 60 for value in values):
            # Long text (a source, a citation) reads better once under the table than per row
            distinct = list(dict.fromkeys(values))
            notes.append((label(column), " / ".join(distinct)))
        else:
            kept.append(column)
    body = [[_cell(item.get(column)) for column in kept] for item in items]
    return label(title), [label(column) for column in kept], body, notes


_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def _cell(value: Any) -> str:
    """A table cell; a field name given as a value ("pulse_per_min") reads as its label."""
    if isinstance(value, str) and _IDENTIFIER.match(value):
        return label(value)
    return _flat(value)


def _flat(value: Any) -> str:
    if isinstance(value, dict) and set(value) != {"value", "unit"}:
        return "; ".join(f"{humanize(k)}: {_flat(v)}" for k, v in value.items())
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        return "; ".join(_flat(item) for item in value)
    return _text(value)


def _fill(section: Section, data: dict[str, Any], nested: list[Section], prefix: str) -> None:
    for key, value in data.items():
        if key in PROVENANCE_KEYS and not prefix:
            continue
        if key == "grades" and isinstance(value, list) and len(value) == 5:
            # A CTCAE term's grade texts: one row per grade, "—" where the grade does not exist
            section.rows.extend((f"Grade {n}", _text(text)) for n, text in enumerate(value, 1))
        elif prefix and key in SKIP_IN_ITEMS:
            continue
        elif _is_table(value):
            section.tables.append(_table(key, value))
        elif _dict_list(value):
            for index, item in enumerate(value, 1):
                child = Section(_item_title(key, item, index))
                nested.append(child)  # before its own children, so the page reads top-down
                _fill(child, item, nested, prefix=key)
        elif isinstance(value, dict) and set(value) != {"value", "unit"}:
            child = Section(label(key))
            nested.append(child)
            _fill(child, value, nested, prefix=key)
        else:
            section.rows.append((label(key), _text(value)))


def working_sections(result: Any) -> list[Section]:
    data = to_jsonable(result)
    if not isinstance(data, dict):
        return [Section("Result", [("Value", _text(data))])]
    main = Section("Result")
    nested: list[Section] = []
    _fill(main, data, nested, prefix="")
    how = Section("How this was calculated")
    for key in PROVENANCE_KEYS:
        if data.get(key) not in (None, "", []):
            if key == "formula" and "formula_text" in data:
                continue  # the formula's name; its text follows
            name = "Formula" if key == "formula_text" else label(key)
            how.rows.append((name, _text(data[key])))
    return [section for section in (how, main, *nested) if section.rows or section.tables]
