"""The calculator pages: a list by group, and one page per calculator with its working.

A POST from the page is validated by the calculator's input schema and run by the same `execute`
as the API; with htmx only the result panel and the form are swapped.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from pydantic import ValidationError

from tilcare.calculators import policies
from tilcare.calculators.forms import form_class_for, payload_from_form
from tilcare.calculators.registry import (
    GROUPS,
    Calculator,
    Outcome,
    execute,
    get_calculator,
    usable_by,
)
from tilcare.calculators.working import working_sections
from tilcare.core.api_support import FORM_TEXT, field_errors
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.core.policy import require

DENIED = "Your role may not use calculators."
RULE_SETS = "IL-2 hold and stop criteria"


def _list_order(calc: Calculator) -> tuple[bool, bool, str, str]:
    # Ungrouped first, then each protocol's calculators, then the rule sets that apply to all
    return (calc.subgroup != "", calc.subgroup == RULE_SETS, calc.subgroup, calc.list_title)


def calculator_list(request: HttpRequest) -> HttpResponse:
    calculators = usable_by(request.user)
    require(bool(calculators), DENIED)
    groups = []
    for group in GROUPS:
        members = [calc for calc in calculators if calc.group == group]
        if not members:
            continue
        # (subgroup, calculators) in order of first appearance; "" holds the ungrouped ones
        subgroups: dict[str, list[Calculator]] = {}
        for calc in sorted(members, key=_list_order):
            subgroups.setdefault(calc.subgroup, []).append(calc)
        groups.append((group, list(subgroups.items())))
    return render(request, "calculators/list.html", {"page_title": "Calculators", "groups": groups})


def _form_errors(form: Any, errors: dict[str, list[str]]) -> None:
    for key, messages in errors.items():
        head, _, rest = key.partition(".")
        field = head if head in form.fields else None
        for message in messages:
            if field and rest:
                row, _, column = rest.partition(".")
                where = f"Line {int(row) + 1}" if row.isdigit() else rest
                message = f"{where}{f' ({column})' if column else ''}: {message}"
            form.add_error(field, message)


def _calculate(calculator: Calculator, form: Any, time_zone: str) -> Outcome | None:
    if not form.is_valid():
        return None
    payload, shaping = payload_from_form(calculator, form.cleaned_data, time_zone)
    if shaping:
        _form_errors(form, {key: [message] for key, message in shaping.items()})
        return None
    try:
        # The form's values are typed text ("3", "true"); the API alone insists on JSON types.
        data = calculator.input_schema.model_validate(payload, context=FORM_TEXT)
    except ValidationError as error:
        located = [{**item, "loc": ("body", "payload", *item["loc"])} for item in error.errors()]
        _form_errors(form, field_errors(located))
        return None
    try:
        return execute(calculator, data)
    except InvalidInput as error:
        _form_errors(form, error.errors)
        return None


@require_http_methods(["GET", "POST"])
def calculator_detail(request: HttpRequest, slug: str) -> HttpResponse:
    calculator = get_calculator(slug)
    if calculator is None:
        raise Http404("No such calculator.")
    if not policies.can_use_calculator(request.user, calculator):
        raise PermissionDenied("Your role may not use this calculator.")
    form_class = form_class_for(calculator)
    outcome = None
    if request.method == "POST":
        # A refused input comes back as the form with its errors (200: htmx swaps only 2xx).
        form = form_class(request.POST)
        organization = getattr(request.user, "organization", None)
        time_zone = getattr(organization, "time_zone", None) or "UTC"
        outcome = _calculate(calculator, form, time_zone)
    else:
        form = form_class()
    context = {
        "page_title": calculator.title,
        "calculator": calculator,
        "form": form,
        "outcome": outcome,
        "sections": working_sections(outcome.result) if outcome else [],
        "chart": outcome.chart if outcome else None,
        "chart_json": json.dumps(outcome.chart) if outcome and outcome.chart else "",
    }
    template = "calculators/partials/panel.html" if request.htmx else "calculators/detail.html"
    return render(request, template, context)
