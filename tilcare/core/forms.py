"""Form helpers shared by every domain's forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError

from tilcare.core.errors import InvalidInput
from tilcare.core.validation import UNDERSCORE


def apply_service_errors(form: forms.BaseForm, error: InvalidInput) -> None:
    """Show a service's refusal on the form: on the named field, else at the top of the form."""
    for field, messages in error.errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)


Written = TypeVar("Written")


def write_from_form(
    form: forms.BaseForm, write: Callable[[dict[str, Any]], Written]
) -> Written | None:
    """The page's write in one step: `write(cleaned_data)` once the form is valid, its result;
    None when the form is invalid or the service refuses, the refusal then shown on the form."""
    if not form.is_valid():
        return None
    try:
        return write(form.cleaned_data)
    except InvalidInput as error:
        apply_service_errors(form, error)
        return None


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)  # type: ignore[arg-type]


class _WrittenNumber:
    """Python reads "1_0" as 10; a number is never written that way, so it is refused."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and "_" in value:
            raise ValidationError(UNDERSCORE, code="invalid")
        return super().to_python(value)  # type: ignore[misc]


class DecimalField(_WrittenNumber, forms.DecimalField):
    """Every domain form's decimal: as Django's, but "1_0" is refused, not read as 10."""


class IntegerField(_WrittenNumber, forms.IntegerField):
    """Every domain form's whole number: as Django's, but "1_0" is refused, not read as 10."""
