"""Form helpers shared by every domain's forms."""

from __future__ import annotations

from django import forms

from tilcare.core.errors import InvalidInput


def apply_service_errors(form: forms.BaseForm, error: InvalidInput) -> None:
    """Show a service's refusal on the form: on the named field, else at the top of the form."""
    for field, messages in error.errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)  # type: ignore[arg-type]
