"""The IL-2 decision screen's forms: the nurse's assessment before a dose (one field per
observation the protocol's hold and stop rules read, her decision and a note) and the treating
physician's decision.

A measurement is a number within its plausible range, a finding yes, no or not assessed (the
default: a blank is never read as "no"). The service checks each value and names the limit.
"""

from __future__ import annotations

from typing import Any

from django import forms

from tilcare.clinical.rules import ObservationSpec
from tilcare.patients.forms import NamedErrorsForm
from tilcare.treatment.choices import NOTE_MAX, Il2Choice

NOT_ASSESSED = ""
FINDING_CHOICES = ((NOT_ASSESSED, "Not assessed"), ("yes", "Yes"), ("no", "No"))


def _number(value: object) -> str:
    return "" if value is None else f"{value:f}" if hasattr(value, "as_tuple") else str(value)


def observation_field(spec: ObservationSpec) -> forms.Field:
    if spec.unit is None:
        return forms.ChoiceField(
            label=spec.label,
            choices=FINDING_CHOICES,
            required=False,
            initial=NOT_ASSESSED,
            widget=forms.RadioSelect(attrs={"class": "finding"}),
            error_messages={"invalid_choice": f"{spec.label}: answer yes, no or not assessed."},
        )
    attrs = {"step": "any", "inputmode": "decimal", "autocomplete": "off"}
    unit = spec.unit.value
    span = ""
    if spec.minimum is not None:
        attrs["min"] = _number(spec.minimum)
    if spec.maximum is not None:
        attrs["max"] = _number(spec.maximum)
    if spec.minimum is not None and spec.maximum is not None:
        span = f"{_number(spec.minimum)} to {_number(spec.maximum)} {unit}"
    label = f"{spec.label} ({unit})"
    return forms.CharField(
        label=label,
        required=False,
        max_length=20,
        widget=forms.NumberInput(attrs=attrs),
        help_text=span,
        error_messages={"max_length": f"{label} can be at most 20 characters."},
    )


class _Decision(NamedErrorsForm):
    choice = forms.ChoiceField(
        label="Decision", choices=Il2Choice.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you decide otherwise than the rules, or stop IL-2.",
    )


class Il2AssessForm(_Decision):
    """The observations by key (as the rule sets name them), then `choice` and `note`."""

    def __init__(self, *args: Any, catalogue: dict[str, ObservationSpec], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "assess_%s")
        super().__init__(*args, **kwargs)
        decision = self.fields.pop("choice"), self.fields.pop("note")
        for key, spec in catalogue.items():
            self.fields[key] = observation_field(spec)
        self.fields["choice"], self.fields["note"] = decision
        self.catalogue = catalogue

    def observations(self) -> dict[str, str]:
        """The typed observations, blank ones left out (not assessed)."""
        return {
            key: str(self.cleaned_data.get(key) or "").strip()
            for key in self.catalogue
            if str(self.cleaned_data.get(key) or "").strip()
        }


class Il2DecideForm(_Decision):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "decide_%s")
        super().__init__(*args, **kwargs)
        self.fields[
            "note"
        ].help_text = (
            "Required to give a dose the rules did not clear or past its window, and to stop."
        )
