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


class SecondFactorCodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class SetupCodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code from the app",
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, help_text="Kept in the audit trail.")
