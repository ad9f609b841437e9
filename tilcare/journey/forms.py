"""Forms for the journey pages.

The forms check at the edge what they can with the services' own words (so the message next to
the field names the field and its limit); the services check again and the views show any refusal
on the same form with `apply_service_errors`.

Date-times typed into a `datetime-local` input carry no zone: the views validate these forms
inside `timezone.override(<the center's zone>)`, so "14:30" means 14:30 where the patient is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.html import format_html

from tilcare.accounts.choices import OrganizationKind
from tilcare.accounts.models import Organization
from tilcare.core.forms import DateInput, DateTimeInput
from tilcare.core.validation import Errors, check_date, check_moment
from tilcare.journey import guards
from tilcare.journey.choices import (
    FacilityChange,
    MilestoneKind,
    Protocol,
    Stage,
    WithdrawalReason,
)
from tilcare.journey.models import ELIGIBILITY_CRITERIA, EligibilityChecklist, Journey
from tilcare.patients.forms import NamedErrorsForm


def _with_blank(choices: list[tuple[str, str]], blank: str) -> list[tuple[str, str]]:
    return [("", blank), *choices]


# ---------- Board ----------


class BoardFilterForm(forms.Form):
    """The board's filters. Unknown values are ignored (a stale bookmark must still open)."""

    VIEW_COLUMNS = "columns"
    VIEW_TABLE = "table"

    q = forms.CharField(required=False, max_length=100, label="Search")
    stage = forms.ChoiceField(
        required=False, choices=_with_blank(list(Stage.choices), "All stages"), label="Stage"
    )
    protocol = forms.ChoiceField(
        required=False,
        choices=_with_blank(list(Protocol.choices), "All protocols"),
        label="Protocol",
    )
    closed = forms.BooleanField(required=False, label="Include completed and withdrawn")
    view = forms.ChoiceField(
        required=False,
        choices=[(VIEW_COLUMNS, "Columns"), (VIEW_TABLE, "Table")],
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, identity: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A facility sees COI identifiers only, so it can search by nothing else.
        self.fields["q"].label = "Search name, MRN or COI" if identity else "Search COI"
        self.fields["q"].widget = forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "placeholder": "Family name, MRN or W1234 26 000042" if identity else "W1234 26 …",
            }
        )

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "query": data.get("q", ""),
            "stage": data.get("stage", ""),
            "protocol": data.get("protocol", ""),
            "include_closed": bool(data.get("closed")),
        }

    @property
    def view_mode(self) -> str:
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("view") or self.VIEW_COLUMNS


# ---------- Opening a journey ----------


class JourneyOpenForm(NamedErrorsForm):
    protocol = forms.ChoiceField(choices=_with_blank(list(Protocol.choices), "Choose…"))
    referred_on = forms.DateField(label="Referral date", widget=DateInput)
    referring_physician = forms.CharField(
        max_length=200, required=False, help_text="Name and practice, as on the referral letter."
    )

    def __init__(self, *args: Any, today: dt.date, born: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.born = born
        self.fields["referred_on"].widget.attrs["max"] = today.isoformat()

    def clean_referred_on(self) -> dt.date:
        value: dt.date = self.cleaned_data["referred_on"]
        errors: Errors = {}
        if check_date(errors, "referred_on", "Referral date", value, today=self.today) is None:
            raise forms.ValidationError(errors["referred_on"])
        if value < self.born:
            raise forms.ValidationError(
                "Referral date cannot be before the patient's date of birth."
            )
        return value


# ---------- Moving the journey ----------


class AdvanceForm(NamedErrorsForm):
    """One move of the transition table; `reason` is required by the service for re-manufacture."""

    to_stage = forms.ChoiceField(choices=Stage.choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class WithdrawForm(NamedErrorsForm):
    withdrawal_reason = forms.ChoiceField(
        label="Withdrawal reason",
        choices=_with_blank(list(WithdrawalReason.choices), "Choose…"),
    )
    reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Note",
        help_text="Required when the reason is “Other”. Kept in the timeline and audit trail.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("withdrawal_reason") == WithdrawalReason.OTHER
            and not (data.get("reason") or "").strip()
        ):
            self.add_error("reason", "Describe the reason when “Other” is chosen.")
        return data


# ---------- Milestones ----------


class MilestoneForm(NamedErrorsForm):
    kind = forms.ChoiceField(label="Milestone")
    occurred_at = forms.DateTimeField(
        label="Date and time",
        widget=DateTimeInput(),
        help_text="When it happened, in the center's local time.",
    )
    reference = forms.CharField(
        max_length=100,
        required=False,
        help_text="Authorization, lot or order number.",
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, kinds: list[MilestoneKind], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the milestones this user may record are offered (the service checks again).
        self.fields["kind"].choices = _with_blank([(k.value, k.label) for k in kinds], "Choose…")
        self.fields["occurred_at"].error_messages["invalid"] = (
            "Date and time must be a valid date and time (YYYY-MM-DD HH:MM)."
        )

    def clean_occurred_at(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["occurred_at"]
        errors: Errors = {}
        if check_moment(errors, "occurred_at", value) is None:
            raise forms.ValidationError(errors["occurred_at"])
        return value


class MilestoneVoidForm(NamedErrorsForm):
    reason = forms.CharField(
        max_length=2000,
        label="Why is this entry void?",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = "Say why this entry is void."


# ---------- Forms that change recorded clinical state ----------


class SentCheckbox(forms.CheckboxInput):
    """A checkbox that is always sent: a hidden "false" comes before it, so an unticked box is
    sent as "false" and a field missing from the request can be told from an unticked one (the
    ticked box's "on" comes last and is the value read)."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> Any:
        hidden = format_html('<input type="hidden" name="{}" value="false">', name)
        return hidden + super().render(name, value, attrs, renderer)


class EveryFieldSentForm(NamedErrorsForm):
    """A form whose missing fields are refused, each named, never read as "empty".

    A field left out of the request (a forged or truncated POST, a stale page) would otherwise
    clear what is recorded; clearing is an explicit choice: the field is sent, empty."""

    MISSING = "{label} was not sent with the form."
    SUMMARY = (
        "Not sent with the form, so nothing was saved: {labels}. Reload the page and submit the "
        "whole form (to clear a value, empty its field)."
    )

    def full_clean(self) -> None:
        # The refused form is shown again with what is recorded in the missing fields, never
        # empty: saving it as shown must not clear what the request left out.
        self.missing = [
            n for n in self.fields if self.is_bound and self.add_prefix(n) not in self.data
        ]
        if self.missing:
            data = self.data.copy()
            for name in self.missing:
                data[self.add_prefix(name)] = _as_sent(
                    self.get_initial_for_field(self.fields[name], name)
                )
            self.data = data
        super().full_clean()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        missing = [name for name in self.missing if name not in self.errors]
        if missing:
            labels = [str(self[name].label) for name in missing]
            self.add_error(None, self.SUMMARY.format(labels="; ".join(labels)))
            for name, label in zip(missing, labels, strict=True):
                self.add_error(name, self.MISSING.format(label=label))
        return data


def _as_sent(value: Any) -> str:
    """A recorded value as the page's form would send it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# ---------- Plan ----------


class PlanForm(EveryFieldSentForm):
    planned_resection_on = forms.DateField(
        label="Planned resection date", required=False, widget=DateInput
    )
    planned_infusion_on = forms.DateField(
        label="Planned infusion date (Day 0)", required=False, widget=DateInput
    )
    manufacturing_facility = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        empty_label="Not chosen",
        label="Manufacturing facility",
    )

    FIELDS = ("planned_resection_on", "planned_infusion_on", "manufacturing_facility")

    def __init__(self, *args: Any, journey: Journey, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "planned_resection_on": journey.planned_resection_on,
                "planned_infusion_on": journey.planned_infusion_on,
                "manufacturing_facility": journey.manufacturing_facility_id,
            },
        )
        super().__init__(*args, **kwargs)
        self.journey = journey
        if guards.facility_change(journey) != FacilityChange.FREE:
            # Once the tissue is on its way the facility is not part of the plan any more: it
            # changes with its own form and a reason, or not at all.
            del self.fields["manufacturing_facility"]
            return
        # Facilities only: a treatment center cannot manufacture.
        field = self.fields["manufacturing_facility"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Organization.objects.filter(kind=OrganizationKind.FACILITY).order_by(
            "name"
        )

    def changes(self) -> dict[str, Any]:
        """Only what differs from the journey, so the audit trail records real changes."""
        current = {
            "planned_resection_on": self.journey.planned_resection_on,
            "planned_infusion_on": self.journey.planned_infusion_on,
            "manufacturing_facility": self.journey.manufacturing_facility,
        }
        return {
            name: self.cleaned_data[name]
            for name in self.FIELDS
            if name in self.fields and self.cleaned_data[name] != current[name]
        }


class FacilityChangeForm(NamedErrorsForm):
    """Move manufacturing to another facility once the tissue is on its way: with a reason."""

    manufacturing_facility = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        empty_label="Choose…",
        label="New manufacturing facility",
    )
    reason = forms.CharField(
        max_length=2000,
        label="Reason for the change",
        help_text="Kept in the audit trail with the change.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, journey: Journey, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["manufacturing_facility"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            Organization.objects.filter(kind=OrganizationKind.FACILITY)
            .exclude(pk=journey.manufacturing_facility_id)
            .order_by("name")
        )
        self.fields["reason"].error_messages["required"] = (
            "Reason is required: say why the manufacturing facility changes."
        )


# ---------- Eligibility ----------

ECOG_CHOICES = [
    ("", "Not recorded"),
    ("0", "0 — Fully active"),
    ("1", "1 — Restricted in strenuous activity"),
    ("2", "2 — Ambulatory, self-care, no work"),
    ("3", "3 — Limited self-care"),
    ("4", "4 — Completely disabled"),
    ("5", "5 — Dead"),
]


class EligibilityForm(EveryFieldSentForm):
    ecog = forms.TypedChoiceField(
        label="ECOG performance status",
        choices=ECOG_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )
    notes = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )

    CRITERIA = tuple(field for field, _ in ELIGIBILITY_CRITERIA)

    def __init__(
        self, *args: Any, checklist: EligibilityChecklist | None = None, **kwargs: Any
    ) -> None:
        if checklist is not None:
            initial = {field: getattr(checklist, field) for field in self.CRITERIA}
            initial.update({"ecog": checklist.ecog, "notes": checklist.notes})
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        # Criteria first, in the order the physician reviews them, then ECOG and notes.
        criteria = {
            field: forms.BooleanField(required=False, label=label, widget=SentCheckbox)
            for field, label in ELIGIBILITY_CRITERIA
        }
        self.fields = {**criteria, "ecog": self.fields["ecog"], "notes": self.fields["notes"]}
        self.checklist = checklist

    def criteria_fields(self) -> list[forms.BoundField]:
        return [self[field] for field in self.CRITERIA]

    def data_for_service(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in (*self.CRITERIA, "ecog", "notes")}

    def changed_content(self) -> bool:
        if self.checklist is None:
            return True
        return any(
            getattr(self.checklist, name) != value
            for name, value in self.data_for_service().items()
        )


class EligibilityAmendForm(EligibilityForm):
    """Amend a signed checklist: the same fields, and the reason that voids the signature."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"] = forms.CharField(
            max_length=2000,
            label="Reason for the amendment",
            help_text="Kept with the voided signature and in the audit trail.",
            widget=forms.Textarea(attrs={"rows": 2}),
            error_messages={
                "required": "Reason is required: say why the signed checklist changes.",
                "max_length": "Reason for the amendment can be at most %(limit_value)d "
                "characters (it has %(show_value)d).",
            },
        )


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
