"""The protocol settings pages: which shipped protocols the center has in force, one protocol's
settings (in force, awaiting signatures, every earlier version), and the form that enters a
version.

The center's clinical staff read them; a pharmacist or a treating physician enters, signs and
discards (the service decides, the page only offers what the policy allows). Anyone else is
refused (403), as on the center's other pages. Dates are shown in the center's time zone.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from tilcare.accounts.models import Organization, User
from tilcare.clinical.dosing.protocol_settings import problems, required_specs
from tilcare.clinical.dosing.settings import ChoiceSetting, RenalBandsSetting
from tilcare.core.errors import InvalidInput
from tilcare.core.forms import apply_service_errors
from tilcare.core.policy import require
from tilcare.protocols.schema import Protocol
from tilcare.treatment import policies, selectors
from tilcare.treatment.forms import AMOUNT_SUFFIX, DiscardForm, ProtocolSettingsForm, SignForm
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.services.activation import NOT_ENTERER, enter_protocol_settings
from tilcare.treatment.views.common import (
    awaited,
    detail_url,
    history_row,
    sections_of,
    sentence,
    shipped_protocol,
    standing_lines,
    value_sections,
    viewer,
)


@require_GET
def protocols(request: HttpRequest) -> HttpResponse:
    user, center = viewer(request)
    rows = [
        {
            "protocol": standing.protocol,
            "lines": standing_lines(standing.active, standing.pending, center),
            "url": reverse(
                "treatment:protocol",
                kwargs={
                    "protocol_id": standing.protocol.protocol_id,
                    "version": standing.protocol.version,
                },
            ),
        }
        for standing in selectors.protocol_standings(center)
    ]
    return render(
        request,
        "treatment/protocols.html",
        {
            "page_title": "Protocol settings",
            "center": center,
            "rows": rows,
            "may_enter": policies.can_enter_protocol_settings(user, center),
        },
    )


@require_GET
def protocol(request: HttpRequest, protocol_id: str, version: str) -> HttpResponse:
    user, center = viewer(request)
    return render_detail(request, user, center, shipped_protocol(protocol_id, version))


def render_detail(
    request: HttpRequest,
    user: User,
    center: Organization,
    protocol: Protocol,
    *,
    sign_form: SignForm | None = None,
    discard_form: DiscardForm | None = None,
) -> HttpResponse:
    ref = protocol.ref
    active = selectors.active_activation(center, ref)
    pending = selectors.pending_activation(center, ref)
    history = selectors.activation_history(center, ref)
    shown_version = None
    asked = request.GET.get("version")
    if asked is not None:
        shown_version = next((a for a in history if str(a.number) == asked), None)
        if shown_version is None:
            raise Http404("No such version.")
    context: dict[str, Any] = {
        "page_title": protocol.title,
        "protocol": protocol,
        "center": center,
        "lines": standing_lines(active, pending, center),
        "active": active,
        "active_sections": value_sections(protocol, active.values) if active else None,
        "pending": pending,
        "history": [history_row(a, center) for a in history],
        "may_enter": policies.can_enter_protocol_settings(user, center),
        # A version already signed by one of the two can no longer change: discard it first.
        "locked": pending is not None and pending.is_signed_by_anyone,
        "edit_url": reverse(
            "treatment:protocol_edit",
            kwargs={"protocol_id": protocol.protocol_id, "version": protocol.version},
        ),
    }
    if pending is not None:
        context |= _pending_context(user, center, protocol, pending, active)
        if context["may_sign"]:
            context["sign_form"] = sign_form or SignForm(prefix="sign")
        if context["may_discard"]:
            context["discard_form"] = discard_form or DiscardForm(prefix="discard")
    if shown_version is not None:
        context["shown_version"] = history_row(shown_version, center)
        context["shown_sections"] = value_sections(protocol, shown_version.values)
    return render(request, "treatment/protocol.html", context)


def _pending_context(
    user: User,
    center: Organization,
    protocol: Protocol,
    pending: ProtocolActivation,
    active: ProtocolActivation | None,
) -> dict[str, Any]:
    missing = problems(protocol, pending.values, required=required_specs(protocol, pending.values))
    sections = value_sections(protocol, pending.values, active.values if active else None)
    return {
        "pending_row": history_row(pending, center),
        "pending_sections": sections,
        "pending_changes": sum(row.changed for section in sections for row in section.rows),
        "pending_changed": [
            (section.title, row) for section in sections for row in section.rows if row.changed
        ],
        "awaited": " and ".join(awaited(pending)),
        "missing": list(missing.values()),
        "may_sign": policies.can_sign_protocol_settings(user, pending),
        "may_discard": policies.can_discard_protocol_settings(user, pending),
    }


@require_http_methods(["GET", "POST"])
def protocol_edit(request: HttpRequest, protocol_id: str, version: str) -> HttpResponse:
    user, center = viewer(request)
    protocol = shipped_protocol(protocol_id, version)
    require(policies.can_enter_protocol_settings(user, center), NOT_ENTERER)
    active = selectors.active_activation(center, protocol.ref)
    pending = selectors.pending_activation(center, protocol.ref)
    source = pending or active
    form = ProtocolSettingsForm(
        request.POST or None,
        protocol=protocol,
        stored=source.values if source else None,
        reason_needed=active is not None,
    )
    if pending is not None:
        form.fields["reason"].initial = pending.reason
    if request.method == "POST" and form.is_valid():
        try:
            saved = enter_protocol_settings(
                center,
                protocol_id=protocol.protocol_id,
                protocol_version=protocol.version,
                values=form.values(),
                reason=form.cleaned_data["reason"],
                actor=user,
            )
        except InvalidInput as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Version {saved.number} saved. It is not in force until a pharmacist and a "
                "treating physician of the center have both signed it.",
            )
            return redirect(detail_url(saved))
    sections = []
    for title, specs in sections_of(protocol):
        items = []
        for spec in specs:
            kind = (
                "choice"
                if isinstance(spec, ChoiceSetting)
                else "bands"
                if isinstance(spec, RenalBandsSetting)
                else "none_or_number"
                if spec.none_option is not None
                else "number"
            )
            items.append(
                {
                    "kind": kind,
                    "field": form[spec.key],
                    "amount": form[spec.key + AMOUNT_SUFFIX] if kind == "none_or_number" else None,
                    "unit": form.unit_of(spec.key),
                    "why": sentence(spec.why_unconfirmed),
                }
            )
        sections.append({"title": title, "items": items})
    return render(
        request,
        "treatment/protocol_edit.html",
        {
            "page_title": f"Settings for {protocol.title}",
            "protocol": protocol,
            "center": center,
            "form": form,
            "sections": sections,
            "active": active,
            "pending": pending,
            "locked": pending is not None and pending.is_signed_by_anyone,
            "detail_url": reverse(
                "treatment:protocol",
                kwargs={"protocol_id": protocol.protocol_id, "version": protocol.version},
            ),
        },
    )
