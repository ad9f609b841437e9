"""The calculator pages: a list by group, and one page per calculator with its working.

A POST from the page is validated by the calculator's input schema and run by the same `execute`
as the API; with htmx only the result panel and the form are swapped.

A calculator of a protocol asks for the center settings that calculation reads. At a center that
has a version of that protocol's settings in force (signed by a pharmacist and a treating
physician), the page fills them in from it and says whose signatures they carry; the values then
sit in a fold below the patient's, since the clinician rarely changes them. Where the center has
activated nothing, the fields stay empty: the software has no default for them. The API stays
stateless and reads only what is sent.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.forms import BoundField, Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from pydantic import ValidationError

from tilcare.accounts.choices import OrganizationKind
from tilcare.calculators import policies
from tilcare.calculators.forms import form_class_for, payload_from_form, same_setting, setting_text
from tilcare.calculators.registry import (
    GROUPS,
    Calculator,
    Outcome,
    execute,
    get_calculator,
    usable_by,
)
from tilcare.calculators.working import working_sections
from tilcare.clinical.dosing.protocol_settings import specs_in
from tilcare.core.api_support import FORM_TEXT, field_errors
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.core.policy import require
from tilcare.core.timeutil import local_datetime
from tilcare.protocols.loader import available_protocols, load_protocol
from tilcare.protocols.schema import Protocol
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.policies import can_view_protocol_settings
from tilcare.treatment.selectors import active_activation

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


@dataclass(frozen=True)
class CenterSettings:
    """The center settings a protocol calculator asks for, as the user's center stands with them:
    the version in force (None: not activated there) and where its settings are read."""

    protocol: Protocol
    names: tuple[str, ...]  # the calculator's fields that are center settings, in form order
    in_force: ProtocolActivation | None
    url: str
    activated_on: dt.date | None

    def initial(self) -> dict[str, str]:
        """The form's values from the version in force; nothing without one (no defaults)."""
        if self.in_force is None:
            return {}
        values = self.in_force.values
        return {name: setting_text(values[name]) for name in self.names if name in values}

    def changed(self, form: Form) -> list[str]:
        """Labels of the settings typed differently from the version in force."""
        if self.in_force is None or not form.is_bound:
            return []
        values = self.in_force.values
        return [
            str(form.fields[name].label)
            for name in self.names
            if not same_setting(form.data.get(name, ""), values.get(name))
        ]


def _protocol_of(calculator: Calculator) -> Protocol | None:
    # A protocol's calculators are listed under its title (definitions/dosing.py).
    for ref in available_protocols():
        protocol = load_protocol(ref.protocol_id, ref.version)
        if calculator.subgroup == protocol.title:
            return protocol
    return None


def center_settings_for(user: Any, calculator: Calculator) -> CenterSettings | None:
    """None for a calculator that reads no center setting, or a user who is not the staff of a
    center that may read its settings (a facility's staff, for one)."""
    protocol = _protocol_of(calculator)
    if protocol is None:
        return None
    keys = {spec.key for spec in specs_in(protocol)}
    names = tuple(name for name in calculator.input_schema.model_fields if name in keys)
    center = getattr(user, "organization", None)
    if (
        not names
        or center is None
        or center.kind != OrganizationKind.CENTER
        or not can_view_protocol_settings(user, center)
    ):
        return None
    in_force = active_activation(center, protocol.ref)
    activated_on = (
        local_datetime(in_force.activated_at, center).date()
        if in_force is not None and in_force.activated_at is not None
        else None
    )
    url = reverse(
        "treatment:protocol",
        kwargs={"protocol_id": protocol.protocol_id, "version": protocol.version},
    )
    return CenterSettings(protocol, names, in_force, url, activated_on)


def _fields(form: Form, settings: CenterSettings | None) -> tuple[list[Any], list[Any]]:
    """(the patient's fields, the center settings' fields), each in the form's order."""
    names = set(settings.names) if settings else set()
    bound: list[BoundField] = list(form)
    return (
        [field for field in bound if field.name not in names],
        [field for field in bound if field.name in names],
    )


@require_http_methods(["GET", "POST"])
def calculator_detail(request: HttpRequest, slug: str) -> HttpResponse:
    calculator = get_calculator(slug)
    if calculator is None:
        raise Http404("No such calculator.")
    if not policies.can_use_calculator(request.user, calculator):
        raise PermissionDenied("Your role may not use this calculator.")
    form_class = form_class_for(calculator)
    settings = center_settings_for(request.user, calculator)
    outcome = None
    if request.method == "POST":
        # A refused input comes back as the form with its errors (200: htmx swaps only 2xx).
        form = form_class(request.POST)
        organization = getattr(request.user, "organization", None)
        time_zone = getattr(organization, "time_zone", None) or "UTC"
        outcome = _calculate(calculator, form, time_zone)
    else:
        form = form_class(initial=settings.initial() if settings else {})
    patient_fields, setting_fields = _fields(form, settings)
    changed = settings.changed(form) if settings else []
    context = {
        "page_title": calculator.title,
        "calculator": calculator,
        "form": form,
        "patient_fields": patient_fields,
        "setting_fields": setting_fields,
        "center_settings": settings,
        "settings_changed": changed,
        # Folded only while they are the signed values, unrefused: a change or a refusal is shown.
        "settings_folded": bool(
            settings
            and settings.in_force
            and not changed
            and not any(field.errors for field in setting_fields)
        ),
        "outcome": outcome,
        "sections": working_sections(outcome.result) if outcome else [],
        "chart": outcome.chart if outcome else None,
        "chart_json": json.dumps(outcome.chart) if outcome and outcome.chart else "",
    }
    template = "calculators/partials/panel.html" if request.htmx else "calculators/detail.html"
    return render(request, template, context)
