"""The page's form for a calculator, built from the same input schema the API validates.

The Django form only shapes the page (labels, help, widgets); validation is the schema's and the
clinical core's, so a value the API refuses is refused here with the same message.

- a decimal or integer field is a text box (`inputmode` numeric: no browser float rounding);
- a choice (Literal) is a select that starts empty: nothing clinical is pre-chosen;
- a yes/no with no default is a pair of radio buttons, so "no" is an answer, not a blank;
- a list of rows (lesions, daily counts) is a text area, one row a line, columns comma-separated;
- a date-time is entered in the center's time zone and sent on with its offset.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tilcare.calculators.registry import Calculator
from tilcare.clinical.dosing.protocol_settings import BAND_FIELDS

YES_NO = [("true", "Yes"), ("false", "No")]


def humanize(value: str) -> str:
    text = value.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner annotation, optional?) for `X | None`."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def row_model(annotation: Any) -> type[BaseModel] | None:
    """The model of one row when the field is a list of rows, else None."""
    inner, _ = _unwrap(annotation)
    if typing.get_origin(inner) in (list, tuple):
        args = typing.get_args(inner)
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0]
    return None


def scalar_list_item(annotation: Any) -> Any:
    """The item type when the field is a plain list (of date-times, numbers), else None."""
    inner, _ = _unwrap(annotation)
    if typing.get_origin(inner) in (list, tuple) and row_model(annotation) is None:
        args = typing.get_args(inner)
        return args[0] if args else str
    return None


def row_columns(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _help(info: FieldInfo, extra: str = "") -> str:
    parts = [info.description or "", extra]
    return " ".join(part for part in parts if part)


def _form_field(name: str, info: FieldInfo) -> forms.Field:
    annotation, optional = _unwrap(info.annotation)
    label = info.title or humanize(name)
    has_default = not info.is_required()
    required = not (optional or has_default)
    rows = row_model(info.annotation)
    if rows is not None:
        columns = ", ".join(
            name if info.is_required() else f"[{name}]" for name, info in rows.model_fields.items()
        )
        return forms.CharField(
            label=label,
            required=required,
            widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
            help_text=_help(info, f"One per line: {columns} ([…] may be left off)."),
        )
    item = scalar_list_item(info.annotation)
    if item is not None:
        zone_note = " Date-times in the center's time zone." if item is dt.datetime else ""
        return forms.CharField(
            label=label,
            required=required,
            widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
            help_text=_help(info, f"One a line.{zone_note}"),
        )
    if typing.get_origin(annotation) is typing.Literal:
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        named = extra.get("choice_labels") or {}
        assert isinstance(named, dict)
        choices = [("", "— choose —")] + [
            (str(value), str(named.get(str(value), humanize(str(value)))))
            for value in typing.get_args(annotation)
        ]
        # With named choices the labels say it all; the API's description lists the ids.
        help_text = "" if named else _help(info)
        return forms.ChoiceField(
            label=label, required=required, choices=choices, help_text=help_text
        )
    if annotation is bool:
        if optional:
            # A finding not yet assessed is not "no": three answers, blank meaning unassessed.
            return forms.ChoiceField(
                label=label,
                required=False,
                choices=[("", "Not assessed"), *YES_NO],
                help_text=_help(info),
            )
        if has_default:
            return forms.BooleanField(label=label, required=False, help_text=_help(info))
        return forms.ChoiceField(
            label=label, choices=YES_NO, widget=forms.RadioSelect, help_text=_help(info)
        )
    if annotation is dt.datetime:
        return forms.CharField(
            label=label,
            required=required,
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
            help_text=_help(info, "In the center's time zone."),
        )
    mode = "numeric" if annotation is int else "decimal" if annotation is Decimal else None
    attrs = {"inputmode": mode, "autocomplete": "off"} if mode else {}
    return forms.CharField(
        label=label, required=required, widget=forms.TextInput(attrs=attrs), help_text=_help(info)
    )


def form_class_for(calculator: Calculator) -> type[forms.Form]:
    fields = {
        name: _form_field(name, info) for name, info in calculator.input_schema.model_fields.items()
    }
    return type(f"{calculator.input_schema.__name__}Form", (forms.Form,), fields)


class RowsError(ValueError):
    pass


def _is_list(annotation: Any) -> bool:
    inner, _ = _unwrap(annotation)
    return typing.get_origin(inner) in (list, tuple)


def parse_rows(text: str, model: type[BaseModel]) -> list[dict[str, Any]]:
    """'a, b' lines -> [{col: value}], refusing a line with the wrong number of columns.

    A column that is itself a list (one measurement per target lesion) is written with spaces
    between its values; an empty cell leaves the column out (its default applies).
    """
    columns = row_columns(model)
    listed = {name for name, info in model.model_fields.items() if _is_list(info.annotation)}
    # Trailing columns with a default may be left off a line.
    required_count = len(columns)
    while required_count and not model.model_fields[columns[required_count - 1]].is_required():
        required_count -= 1
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) < required_count or len(cells) > len(columns):
            expected = (
                str(len(columns))
                if required_count == len(columns)
                else f"{required_count} to {len(columns)}"
            )
            raise RowsError(
                f"Line {number} has {len(cells)} values; expected {expected} "
                f"({', '.join(columns)})."
            )
        cells += [""] * (len(columns) - len(cells))
        row: dict[str, Any] = {}
        for column, cell in zip(columns, cells, strict=True):
            if cell == "":
                continue
            row[column] = cell.split() if column in listed else cell
        rows.append(row)
    return rows


def payload_from_form(
    calculator: Calculator, data: dict[str, Any], time_zone: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Cleaned form data -> the API's JSON-shaped payload, plus per-field shaping errors."""
    payload: dict[str, Any] = {}
    errors: dict[str, str] = {}
    zone = ZoneInfo(time_zone)
    for name, info in calculator.input_schema.model_fields.items():
        value = data.get(name)
        annotation, _ = _unwrap(info.annotation)
        if value in (None, ""):
            continue
        rows = row_model(info.annotation)
        if rows is not None:
            try:
                payload[name] = parse_rows(str(value), rows)
            except RowsError as error:
                errors[name] = str(error)
        elif (item := scalar_list_item(info.annotation)) is not None:
            lines = [line.strip() for line in str(value).splitlines() if line.strip()]
            if item is dt.datetime:
                try:
                    payload[name] = [_aware(line, zone) for line in lines]
                except ValueError:
                    errors[name] = "Enter each date and time as YYYY-MM-DD HH:MM, one a line."
            else:
                payload[name] = lines
        elif annotation is bool and isinstance(value, str):
            payload[name] = value == "true"
        elif annotation is dt.datetime:
            try:
                payload[name] = _aware(str(value), zone)
            except ValueError:
                errors[name] = "Enter the date and time as YYYY-MM-DD HH:MM."
        else:
            payload[name] = value
    return payload, errors


def setting_text(value: object) -> str:
    """A center setting as stored (decimal text, an option, a list of bands) as the page's
    field shows it: bands one a line, "from, to, dose", as the field reads them back."""
    if isinstance(value, list):
        return "\n".join(
            ", ".join(str(band.get(column, "")) for column in BAND_FIELDS)
            for band in value
            if isinstance(band, dict)
        )
    return "" if value is None else str(value)


def _comparable(text: object) -> tuple[tuple[object, ...], ...]:
    """Typed text reduced to what it means: lines of cells, numbers compared as numbers."""

    def cell(raw: str) -> object:
        try:
            number = Decimal(raw)
        except ArithmeticError:
            return raw
        return number if number.is_finite() else raw

    lines = str(text or "").splitlines()
    return tuple(
        tuple(cell(part.strip()) for part in line.split(",")) for line in lines if line.strip()
    )


def same_setting(typed: object, stored: object) -> bool:
    """Does the text typed in a setting's field say what the stored value says?"""
    return _comparable(typed) == _comparable(setting_text(stored))


def _aware(text: str, zone: ZoneInfo) -> str:
    """A date-time typed on the page, read in the center's zone unless it carries an offset."""
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()
