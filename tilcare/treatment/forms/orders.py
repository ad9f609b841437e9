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


# The ANC rows offered when filgrastim is stopped: the protocol's rule counts consecutive days,
# and a few more than it needs lets the run be seen with the day before it.
ANC_ROWS = 5


class FilgrastimStopForm(NamedErrorsForm):
    """The ANC of recent study days (Day +n, /mm³, as the laboratory reports it) and, to stop on
    the institution's standard before the protocol's rule is met, the reason. The service reads
    the days and values and applies the protocol's rule."""

    reason = forms.CharField(
        label="Reason, when stopping on the institution's standard",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Leave blank to stop on the protocol's ANC rule.",
    )

    def __init__(self, *args: Any, days: list[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = (days or [])[-ANC_ROWS:]
        for row in range(1, ANC_ROWS + 1):
            initial = offered[row - 1] if row <= len(offered) else None
            self.fields[f"day_{row}"] = forms.CharField(
                label=f"Study day (row {row})",
                required=False,
                max_length=4,
                initial=initial,
                widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4}),
            )
            self.fields[f"anc_{row}"] = forms.CharField(
                label=f"ANC, /mm³ (row {row})",
                required=False,
                max_length=8,
                widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 7}),
            )

    def rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"day_{row}"], self[f"anc_{row}"]) for row in range(1, ANC_ROWS + 1)]

    def anc(self) -> dict[str, str]:
        """The rows filled in, as the service reads them: {study day: ANC text}."""
        found: dict[str, str] = {}
        for row in range(1, ANC_ROWS + 1):
            day = (self.cleaned_data.get(f"day_{row}") or "").strip()
            value = (self.cleaned_data.get(f"anc_{row}") or "").strip()
            if day or value:
                found[day or f"row {row}"] = value
        return found
