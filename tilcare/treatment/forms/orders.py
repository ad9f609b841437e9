"""The order pages' forms: the cancellation and the writing again (a reason, and for
lymphodepletion an optional newer creatinine), and what happened to one dose."""

from __future__ import annotations

from typing import Any

from django import forms

from tilcare.core.forms import DateInput, DateTimeInput
from tilcare.patients.forms import NamedErrorsForm
from tilcare.treatment.choices import REASON_MAX, AdministrationOutcome


class CancelOrderForm(NamedErrorsForm):
    reason = forms.CharField(
        label="Why this order is cancelled",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = (
            "Say why the order is cancelled (required)."
        )


class ReorderForm(NamedErrorsForm):
    """The reason, and for lymphodepletion an optional newer creatinine with its date (blank
    keeps the order's own): the service checks the value's range and the date."""

    reason = forms.CharField(
        label="Why the order is written again",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    serum_creatinine_mg_per_dl = forms.CharField(
        label="Newer serum creatinine, mg/dL",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 6}),
        help_text="Blank keeps the creatinine this order was computed from.",
    )
    creatinine_drawn_on = forms.DateField(
        label="Drawn on", required=False, widget=DateInput(), help_text="The newer value's date."
    )

    def __init__(self, *args: Any, with_creatinine: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = (
            "Say why the order is written again (required)."
        )
        if not with_creatinine:
            del self.fields["serum_creatinine_mg_per_dl"], self.fields["creatinine_drawn_on"]


class AdministrationForm(NamedErrorsForm):
    """What happened to one dose, typed in the center's local time (the view reads it inside
    the center's zone); the service requires the reason unless the dose was given."""

    outcome = forms.ChoiceField(label="Outcome", choices=AdministrationOutcome.choices)
    at = forms.DateTimeField(label="Time", widget=DateTimeInput(), help_text="Center's local time.")
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=REASON_MAX,
        help_text="Required when held or not given.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["at"].error_messages["invalid"] = (
            "Time must be a valid date and time (YYYY-MM-DD HH:MM)."
        )
