"""Forms for the patient pages.

Each form checks what it can at the edge with the same rules (and the same words) as the
services (`tilcare.patients.guards`), so the person typing sees a message that names the field
and its limit. The services check again: the view calls the service and shows its refusal on the
form with `apply_service_errors`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms

from tilcare.core.forms import DateInput, DecimalField
from tilcare.core.validation import Errors, check_date, check_decimal_range
from tilcare.patients.choices import (
    BrafStatus,
    CancerType,
    ConsentKind,
    ContactRelationship,
    DiseaseStage,
    Sex,
    TherapyClass,
)
from tilcare.patients.guards import (
    check_date_of_birth,
    check_mrn_unique,
    check_not_before_birth,
)
from tilcare.patients.models import (
    HEIGHT_CM_MAX,
    HEIGHT_CM_MIN,
    WEIGHT_KG_MAX,
    WEIGHT_KG_MIN,
    Consent,
    Patient,
)


def _choices(choices: list[tuple[str, str]], blank: str = "Choose…") -> list[tuple[str, str]]:
    return [("", blank), *choices]


class NamedErrorsForm(forms.Form):
    """Django's stock messages ("This field is required.") do not say which field or limit.

    Rewritten per field so that a message read out of context (a screen reader, the summary at the
    top) still says what to fix.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            label = str(field.label)
            messages = {
                "required": f"{label} is required.",
                "max_length": f"{label} can be at most %(limit_value)d characters "
                "(it has %(show_value)d).",
                "invalid_choice": f"{label}: choose one of the listed options.",
            }
            if isinstance(field, forms.DateField):
                messages["invalid"] = f"{label} must be a valid date (YYYY-MM-DD)."
            elif isinstance(field, forms.EmailField):
                messages["invalid"] = f"{label} must be a valid email address."
            field.error_messages.update(messages)

    def raise_errors(self, errors: Errors, field: str) -> None:
        """Raise the rule's messages for `field` (from a clean_<field> method)."""
        if errors.get(field):
            raise forms.ValidationError(errors[field])

    def add_errors(self, errors: Errors) -> None:
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class PatientForm(NamedErrorsForm):
    """Register a patient. `today` is the center's local date (a birth "today" is local)."""

    mrn = forms.CharField(label="Medical record number (MRN)", max_length=40)
    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    date_of_birth = forms.DateField(label="Date of birth", widget=DateInput)
    sex = forms.ChoiceField(label="Sex", choices=_choices(Sex.choices))
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    email = forms.EmailField(label="Email", required=False)
    address = forms.CharField(
        label="Address", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    preferred_language = forms.CharField(
        label="Preferred language", max_length=40, required=False, initial="English"
    )
    cancer_type = forms.ChoiceField(
        label="Cancer type", choices=_choices(CancerType.choices, "Not yet known"), required=False
    )
    disease_stage = forms.ChoiceField(
        label="Disease stage",
        choices=_choices(DiseaseStage.choices, "Not yet known"),
        required=False,
    )
    braf_status = forms.ChoiceField(
        label="BRAF status", choices=_choices(BrafStatus.choices, "Not yet known"), required=False
    )
    diagnosed_on = forms.DateField(label="Date of diagnosis", widget=DateInput, required=False)

    def __init__(
        self,
        *args: Any,
        center_id: int,
        today: dt.date,
        patient: Patient | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.center_id = center_id
        self.today = today
        self.patient = patient
        self.fields["date_of_birth"].widget.attrs["max"] = today.isoformat()
        self.fields["diagnosed_on"].widget.attrs["max"] = today.isoformat()

    def clean_mrn(self) -> str:
        mrn: str = self.cleaned_data["mrn"].strip()
        errors: Errors = {}
        check_mrn_unique(errors, self.center_id, mrn, self.patient)
        self.raise_errors(errors, "mrn")
        return mrn

    def clean_date_of_birth(self) -> dt.date:
        born: dt.date = self.cleaned_data["date_of_birth"]
        errors: Errors = {}
        check_date_of_birth(errors, born, self.today)
        self.raise_errors(errors, "date_of_birth")
        return born

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        errors: Errors = {}
        check_not_before_birth(
            errors,
            "diagnosed_on",
            "Date of diagnosis",
            cleaned.get("diagnosed_on"),
            cleaned.get("date_of_birth"),
            self.today,
        )
        self.add_errors(errors)
        return cleaned

    def patient_data(self) -> dict[str, Any]:
        """What the service takes: every patient field, nothing else."""
        return {name: self.cleaned_data[name] for name in PatientForm.base_fields}

    @classmethod
    def initial_from(cls, patient: Patient) -> dict[str, Any]:
        return {name: getattr(patient, name) for name in PatientForm.base_fields}


class PatientEditForm(PatientForm):
    """Change a patient's record. Part 11 asks why a regulated record changed."""

    reason = forms.CharField(
        label="Reason for change",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the audit trail with the old and new values, "
        "e.g. “Date of birth corrected from the referral letter”.",
    )


class ContactForm(NamedErrorsForm):
    name = forms.CharField(label="Name", max_length=200)
    relationship = forms.ChoiceField(
        label="Relationship", choices=_choices(ContactRelationship.choices)
    )
    phone = forms.CharField(label="Phone", max_length=40)
    is_caregiver = forms.BooleanField(
        label="Caregiver (stays with the patient after discharge)", required=False
    )


class PatientEntryForm(NamedErrorsForm):
    """A form adding to one patient's record, its dates judged against the center's `today`:
    the date pickers of `dated_fields` stop at today."""

    dated_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, patient: Patient, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.today = today
        for name in self.dated_fields:
            self.fields[name].widget.attrs["max"] = today.isoformat()

    def clean_date_since_birth(self, field: str, label: str) -> dt.date:
        """The field's date, refused when before the patient's birth or after today."""
        value: dt.date = self.cleaned_data[field]
        errors: Errors = {}
        check_not_before_birth(errors, field, label, value, self.patient.date_of_birth, self.today)
        self.raise_errors(errors, field)
        return value


class PriorTherapyForm(PatientEntryForm):
    therapy_class = forms.ChoiceField(label="Therapy class", choices=_choices(TherapyClass.choices))
    agent = forms.CharField(
        label="Agent", max_length=120, required=False, help_text="e.g. pembrolizumab"
    )
    started_on = forms.DateField(label="Start date", widget=DateInput, required=False)
    ended_on = forms.DateField(label="End date", widget=DateInput, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        errors: Errors = {}
        born = self.patient.date_of_birth
        started, ended = cleaned.get("started_on"), cleaned.get("ended_on")
        check_not_before_birth(errors, "started_on", "Start date", started, born, self.today)
        check_not_before_birth(errors, "ended_on", "End date", ended, born, self.today)
        if started and ended and ended < started:
            errors.setdefault("ended_on", []).append("End date cannot be before the start date.")
        self.add_errors(errors)
        return cleaned


class ConsentForm(PatientEntryForm):
    kind = forms.ChoiceField(label="Consent", choices=_choices(ConsentKind.choices))
    form_version = forms.CharField(
        label="Form version",
        max_length=40,
        help_text="As printed on the signed form, e.g. 3.2",
    )
    signed_on = forms.DateField(label="Date signed", widget=DateInput)
    dated_fields = ("signed_on",)

    def clean_signed_on(self) -> dt.date:
        return self.clean_date_since_birth("signed_on", "Date signed")


class ConsentWithdrawForm(NamedErrorsForm):
    withdrawn_on = forms.DateField(label="Date withdrawn", widget=DateInput)
    reason = forms.CharField(
        label="Reason for withdrawal", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, consent: Consent, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.consent = consent
        self.today = today
        self.fields["withdrawn_on"].widget.attrs["max"] = today.isoformat()

    def clean_withdrawn_on(self) -> dt.date:
        withdrawn: dt.date = self.cleaned_data["withdrawn_on"]
        errors: Errors = {}
        check_date(
            errors,
            "withdrawn_on",
            "Date withdrawn",
            withdrawn,
            today=self.today,
            not_before=self.consent.signed_on,
            not_before_label="the date signed",
        )
        self.raise_errors(errors, "withdrawn_on")
        return withdrawn


def _decimal_field(label: str, low: Decimal, high: Decimal, unit: str) -> DecimalField:
    # No decimal_places/min_value here: their stock messages do not name the field or unit, so
    # the band and the one-decimal rule are checked in clean_<field> with the services' words.
    return DecimalField(
        label=f"{label} ({unit})",
        error_messages={"invalid": f"{label} must be a number in {unit}."},
        help_text=f"{low}–{high} {unit}, at most 1 decimal place",
        widget=forms.NumberInput(
            attrs={"step": "0.1", "min": str(low), "max": str(high), "inputmode": "decimal"}
        ),
    )


class MeasurementForm(PatientEntryForm):
    """Height and weight: doses are calculated from them, so a unit slip must not get through."""

    measured_on = forms.DateField(label="Date measured", widget=DateInput)
    weight_kg = _decimal_field("Weight", WEIGHT_KG_MIN, WEIGHT_KG_MAX, "kg")
    height_cm = _decimal_field("Height", HEIGHT_CM_MIN, HEIGHT_CM_MAX, "cm")
    dated_fields = ("measured_on",)

    def __init__(self, *args: Any, patient: Patient, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, patient=patient, today=today, **kwargs)
        # The stock "required" message says "Weight (kg) is required."; keep the unit-free name.
        self.fields["weight_kg"].error_messages["required"] = "Weight is required (in kg)."
        self.fields["height_cm"].error_messages["required"] = "Height is required (in cm)."

    def clean_measured_on(self) -> dt.date:
        return self.clean_date_since_birth("measured_on", "Measurement date")

    def _clean_band(
        self, field: str, label: str, low: Decimal, high: Decimal, unit: str
    ) -> Decimal:
        errors: Errors = {}
        value = check_decimal_range(errors, field, label, self.cleaned_data[field], low, high, unit)
        self.raise_errors(errors, field)
        assert value is not None  # a refused value raised above
        return value

    def clean_weight_kg(self) -> Decimal:
        return self._clean_band("weight_kg", "Weight", WEIGHT_KG_MIN, WEIGHT_KG_MAX, "kg")

    def clean_height_cm(self) -> Decimal:
        return self._clean_band("height_cm", "Height", HEIGHT_CM_MIN, HEIGHT_CM_MAX, "cm")
