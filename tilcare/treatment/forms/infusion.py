"""The infusion-day checklist's forms: a premedication given, a bag's thaw time, one scan of the
two-person identity check, the start and the end of the infusion.

Times are typed on the center's clock (the view reads them inside the center's zone). The forms
read the text; the services check every value and name the field and the limit.
"""

from __future__ import annotations

from typing import Any

from django import forms

from tilcare.core.forms import DateTimeInput
from tilcare.patients.forms import NamedErrorsForm
from tilcare.treatment.choices import NOTE_MAX, BedsideTarget

ROUTES = (("PO", "PO (by mouth)"), ("IV", "IV"))
TIME_INVALID = "must be a valid date and time (YYYY-MM-DD HH:MM)."


def _decimal_text(label: str, **attrs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs}),
    )


class _Timed(NamedErrorsForm):
    """A form with date-time fields whose "invalid" message names the field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.DateTimeField):
                field.error_messages["invalid"] = f"{field.label} {TIME_INVALID}"


class PremedicationForm(_Timed):
    """One premedication: the protocol's group, the agent, its dose in mg, route and time."""

    group = forms.ChoiceField(label="Premedication")
    agent = forms.CharField(
        label="Agent given", max_length=60, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    dose = _decimal_text("Dose (mg)", size=6)
    route = forms.ChoiceField(label="Route", choices=ROUTES)
    at = forms.DateTimeField(label="Time given", widget=DateTimeInput())

    def __init__(self, *args: Any, groups: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "premed_%s")
        super().__init__(*args, **kwargs)
        group = self.fields["group"]
        assert isinstance(group, forms.ChoiceField)
        group.choices = groups


class ThawForm(_Timed):
    """When one bag (named by its item id) was thawed."""

    item_id = forms.CharField(widget=forms.HiddenInput, max_length=24)
    thawed_at = forms.DateTimeField(label="Thawed at", widget=DateTimeInput())

    def __init__(self, *args: Any, bag: str, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"thaw_{bag}_%s")
        kwargs.setdefault("initial", {}).setdefault("item_id", bag)
        super().__init__(*args, **kwargs)


class BedsideScanForm(NamedErrorsForm):
    """One scan of the identity check: what is scanned and the text the scanner typed (a
    barcode scanner in keyboard mode types into the focused field and presses Enter)."""

    target = forms.ChoiceField(
        label="What you scan",
        choices=BedsideTarget.choices,
        initial=BedsideTarget.WRISTBAND,
        widget=forms.RadioSelect,
    )
    scanned_text = forms.CharField(
        label="Scanned text",
        max_length=80,
        strip=False,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "scan-input",
            }
        ),
        help_text="Scan the barcode, or type it and press Enter.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "scan_%s")
        super().__init__(*args, **kwargs)
        self.fields["scanned_text"].error_messages["required"] = (
            "Nothing was read: scan the wristband or the bag's label."
        )


class StartInfusionForm(_Timed):
    at = forms.DateTimeField(label="Start time", widget=DateTimeInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "start_%s")
        super().__init__(*args, **kwargs)


class EndInfusionForm(_Timed):
    """The end: its time, the bags infused and the viable cells given (×10⁹), and a note."""

    at = forms.DateTimeField(label="End time", widget=DateTimeInput())
    bags_infused = forms.CharField(
        label="Bags infused",
        max_length=3,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "size": 3}),
    )
    viable_cells_e9 = _decimal_text("Viable cells infused (×10⁹)", size=8)
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "end_%s")
        super().__init__(*args, **kwargs)
        self.fields[
            "viable_cells_e9"
        ].help_text = "From the bags' labels or the certificate of analysis."
