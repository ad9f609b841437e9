"""The protocol settings pages' forms: one field per setting a protocol leaves to the center, the
signature (password re-entered) and the discard (a reason).

The settings form checks only what a page's text can get wrong on its own (an option not listed,
"1_0"); the service checks every value against its declaration and names the setting and the
limit, and its refusal is shown on the setting's own field (the field is named by the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms

from tilcare.clinical.dosing.protocol_settings import (
    BAND_FIELDS,
    narrowables,
    optional_keys,
    specs_in,
)
from tilcare.clinical.dosing.settings import (
    SHARED_WEIGHT_SETTINGS,
    ChoiceSetting,
    DecimalSetting,
    RenalBandsSetting,
    SettingSpec,
)
from tilcare.clinical.renal import WeightBasis
from tilcare.core.validation import UNDERSCORE
from tilcare.patients.forms import NamedErrorsForm
from tilcare.protocols.schema import Protocol
from tilcare.treatment.choices import REASON_MAX

BAND_ROWS = 6
NONE_CHOSEN = "none"
NUMBER_CHOSEN = "number"
AMOUNT_SUFFIX = "_amount"

# An option as a pharmacist reads it; the stored value stays the protocol file's option.
OPTION_WORDS = {
    "actual": "Actual body weight",
    "ideal": "Ideal body weight (Devine)",
    "adjusted": "Adjusted body weight: ideal + factor × (actual − ideal)",
    "mosteller": "Mosteller",
    "dubois": "DuBois and DuBois",
    "subtract_2_3_kg_per_inch": "Subtract 2.3 kg for each inch below 60 in",
    "use_actual_weight": "Use the actual body weight",
    "use_dosing_weight": "Use the ideal or adjusted weight anyway",
    "refuse": "Refuse: the prescriber sets the weight for each such patient",
}
# The same option means something slightly different under another setting.
OPTION_WORDS_FOR = {
    ("dosing_weight_above_actual", "use_actual_weight"): (
        "Use the actual weight (the lower of the two)"
    ),
    ("dosing_weight_above_actual", "refuse"): (
        "Refuse: the prescriber decides for each such patient"
    ),
}


def option_words(key: str, option: str) -> str:
    """An option of setting `key` in words (its underscores spaced out when none are known)."""
    words = OPTION_WORDS_FOR.get((key, option)) or OPTION_WORDS.get(option)
    if words is None:
        text = option.replace("_", " ").strip()
        words = text[:1].upper() + text[1:]
    return words


def when_optional(protocol: Protocol) -> dict[str, str]:
    """For each setting that may stay blank, when and why, in a sentence shown by its field."""
    notes: dict[str, str] = {}
    for param in narrowables(protocol):
        notes[param.setting.key] = (
            f"Optional: blank keeps the protocol's {param.low.magnitude} to {param.high} "
            "(a value here only narrows it)."
        )
    shared = {spec.key for spec in SHARED_WEIGHT_SETTINGS}
    for spec in SHARED_WEIGHT_SETTINGS:
        notes[spec.key] = (
            "Needed only when a dosing or CrCl weight above is the ideal or adjusted weight."
        )
    # An adjusted-weight factor is the one a basis needs once it is set to "adjusted".
    blank_allowed = optional_keys(protocol, {})
    for spec in specs_in(protocol):
        if isinstance(spec, ChoiceSetting) and WeightBasis.ADJUSTED.value in spec.options:
            needed = blank_allowed - optional_keys(protocol, {spec.key: WeightBasis.ADJUSTED.value})
            for key in needed - shared:
                notes[key] = f"Needed only when “{spec.label}” is the adjusted body weight."
    return notes


def allowed_range(spec: DecimalSetting) -> str:
    unit = f" {spec.unit_text}" if spec.unit is not None else ""
    return f"Allowed {spec.minimum} to {spec.maximum}{unit}."


class _Text(forms.CharField):
    """A number as typed: the service reads it and names its limit; "1_0" is refused here."""

    def __init__(self, **kwargs: Any) -> None:
        attrs = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("attrs", {})}
        super().__init__(
            required=False, max_length=40, widget=forms.TextInput(attrs=attrs), **kwargs
        )

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if "_" in value:
            raise forms.ValidationError(UNDERSCORE, code="invalid")
        return value


class RenalBandsWidget(forms.MultiWidget):
    """Up to six rows of CrCl from, CrCl to (mL/min) and dose, as a small table."""

    template_name = "treatment/widgets/renal_bands.html"
    use_fieldset = True

    def __init__(self, dose_unit: str) -> None:
        self.dose_unit = dose_unit
        columns = ("CrCl from, mL/min", "CrCl to, mL/min", f"dose, {dose_unit}")
        widgets = [
            forms.TextInput(
                attrs={
                    "inputmode": "decimal",
                    "autocomplete": "off",
                    "aria-label": f"Band {row}: {column}",
                    "size": 6,
                }
            )
            for row in range(1, BAND_ROWS + 1)
            for column in columns
        ]
        super().__init__(widgets)

    def decompress(self, value: Any) -> list[Any]:
        cells: list[Any] = []
        for band in list(value or [])[:BAND_ROWS]:
            cells += [band.get(column, "") for column in BAND_FIELDS]
        return cells + [""] * (BAND_ROWS * len(BAND_FIELDS) - len(cells))

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        # The stored bands are a list too (of mappings): spread them over the cells.
        if isinstance(value, list) and any(isinstance(band, dict) for band in value):
            value = self.decompress(value)
        context = super().get_context(name, value, attrs)
        cells = context["widget"]["subwidgets"]
        width = len(BAND_FIELDS)
        context["widget"]["rows"] = [cells[i : i + width] for i in range(0, len(cells), width)]
        context["widget"]["dose_unit"] = self.dose_unit
        return context


class RenalBandsField(forms.MultiValueField):
    """The bands as the service reads them: blank rows left out; a row partly filled is sent
    as typed, so the service names what is missing in it."""

    def __init__(self, spec: RenalBandsSetting, **kwargs: Any) -> None:
        cells = [_Text() for _ in range(BAND_ROWS * len(BAND_FIELDS))]
        super().__init__(
            fields=cells,
            require_all_fields=False,
            required=False,
            widget=RenalBandsWidget(spec.dose_unit.value),
            **kwargs,
        )

    def compress(self, data_list: list[Any]) -> list[dict[str, str]] | None:
        width = len(BAND_FIELDS)
        bands = []
        for start in range(0, len(data_list), width):
            row = [(text or "").strip() for text in data_list[start : start + width]]
            if any(row):
                bands.append(dict(zip(BAND_FIELDS, row, strict=True)))
        return bands or None


class ProtocolSettingsForm(forms.Form):
    """One field per center setting of `protocol` (named by its key), and the reason."""

    def __init__(
        self,
        *args: Any,
        protocol: Protocol,
        stored: Mapping[str, object] | None = None,
        reason_needed: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.protocol = protocol
        self.specs = specs_in(protocol)
        notes = when_optional(protocol)
        for spec in self.specs:
            self._add(spec, notes.get(spec.key, ""), (stored or {}).get(spec.key))
        self.fields["reason"] = forms.CharField(
            label="Reason for this version",
            required=False,
            max_length=REASON_MAX,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=(
                "Required: say what changes from the version in force and why."
                if reason_needed
                else "Optional for the first version."
            ),
        )

    def _add(self, spec: SettingSpec, note: str, value: object) -> None:
        help_parts = [note] if note else []
        if isinstance(spec, ChoiceSetting):
            field: forms.Field = forms.ChoiceField(
                label=spec.label,
                required=False,
                choices=[(o, option_words(spec.key, o)) for o in spec.options],
                widget=forms.RadioSelect,
            )
            field.error_messages["invalid_choice"] = (
                f"{spec.label}: choose one of the listed options."
            )
            field.initial = value
        elif isinstance(spec, RenalBandsSetting):
            field = RenalBandsField(spec, label=spec.label)
            help_parts.append(
                f"CrCl in whole mL/min from {spec.crcl_minimum_ml_per_min} to "
                f"{spec.crcl_maximum_ml_per_min}, each band starting 1 mL/min above the one "
                f"below; dose {spec.dose_minimum} to {spec.dose_maximum} "
                f"{spec.dose_unit.value}. Blank rows are left out."
            )
            field.initial = value
        elif spec.none_option is not None:
            none = spec.none_option
            field = forms.ChoiceField(
                label=spec.label,
                required=False,
                choices=[(NONE_CHOSEN, none[:1].upper() + none[1:]), (NUMBER_CHOSEN, "A value")],
                widget=forms.RadioSelect,
            )
            field.error_messages["invalid_choice"] = (
                f"{spec.label}: choose one of the listed options."
            )
            amount = _Text(label=f"{spec.label}: value", attrs={"aria-label": spec.label})
            self.fields[spec.key + AMOUNT_SUFFIX] = amount
            if value == none:
                field.initial = NONE_CHOSEN
            elif value is not None:
                field.initial, amount.initial = NUMBER_CHOSEN, value
            help_parts.append(allowed_range(spec))
        else:
            field = _Text(label=spec.label)
            field.initial = value
            help_parts.append(allowed_range(spec))
        field.help_text = " ".join(help_parts)
        self.fields[spec.key] = field

    def values(self) -> dict[str, object]:
        """The settings as the service takes them: each key with its text, option or bands;
        blank ones left out (the service says which must be entered before signing)."""
        data = self.cleaned_data
        values: dict[str, object] = {}
        for spec in self.specs:
            value = data.get(spec.key)
            if isinstance(spec, DecimalSetting) and spec.none_option is not None:
                amount = data.get(spec.key + AMOUNT_SUFFIX, "")
                if value == NONE_CHOSEN:
                    value = spec.none_option
                elif value == NUMBER_CHOSEN or amount:
                    value = amount
            if value not in (None, "", []):
                values[spec.key] = value
        return values

    def unit_of(self, key: str) -> str:
        """The unit shown after a number's input ("" for a factor)."""
        spec = next((s for s in self.specs if s.key == key), None)
        if isinstance(spec, DecimalSetting) and spec.unit is not None:
            return spec.unit_text
        return ""


def decimal_or_text(value: object) -> object:
    """Stored decimal text as a number, so "10" and "10.0" compare equal; anything else as is."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    if isinstance(value, list):
        return [
            {k: decimal_or_text(v) for k, v in band.items()} if isinstance(band, dict) else band
            for band in value
        ]
    return value


class SignForm(NamedErrorsForm):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-enter your password to sign (21 CFR Part 11).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].error_messages["required"] = "Enter your own password to sign."


class DiscardForm(NamedErrorsForm):
    reason = forms.CharField(
        label="Why this version is discarded",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = (
            "Say why this version is discarded (required)."
        )
