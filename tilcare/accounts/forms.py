from __future__ import annotations

import zoneinfo

from django import forms

from tilcare.accounts.models import Organization

_TIME_ZONES = sorted(zoneinfo.available_timezones())


class CenterSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=[(tz, tz) for tz in _TIME_ZONES])
    reason = forms.CharField(
        label="Reason for the change", max_length=500, help_text="Kept in the audit trail."
    )

    class Meta:
        model = Organization
        fields = ["name", "isbt_fin", "time_zone", "phone", "after_hours_phone", "address"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "isbt_fin": "Assigned to your facility by ICCBBA (5 characters, e.g. W1234). "
            "New chain-of-identity numbers use it; existing ones never change.",
            "after_hours_phone": "Shown to patients as the number to call day and night.",
        }


def _code_field(label: str, max_length: int, inputmode: str) -> forms.CharField:
    """A one-time code typed from an authenticator app or a recovery sheet."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": inputmode, "autofocus": True}
        ),
    )


class SecondFactorCodeForm(forms.Form):
    code = _code_field("Code", 20, "text")


class SetupCodeForm(forms.Form):
    code = _code_field("6-digit code from the app", 10, "numeric")


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, help_text="Kept in the audit trail.")
