"""The signature and the discard of a version awaiting signatures: each POST calls one service and
goes back to the protocol's page with a message; a refusal (a wrong password, no reason) is shown
on that page, nothing written. Another center's version answers 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from tilcare.core.forms import write_from_form
from tilcare.core.policy import require
from tilcare.treatment import policies, selectors
from tilcare.treatment.choices import ActivationStatus
from tilcare.treatment.forms import DiscardForm, SignForm
from tilcare.treatment.services.activation import (
    NOT_SIGNER,
    discard_protocol_settings,
    sign_protocol_settings,
)
from tilcare.treatment.views.common import activation_of, awaited, detail_url
from tilcare.treatment.views.pages import render_detail

NOT_DISCARDER = (
    "Only a pharmacist or a treating physician of this center discards a version, and only "
    "while it awaits signatures."
)


@require_POST
def protocol_sign(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST password (the signer's own, re-entered)."""
    user, activation = activation_of(request, public_id)
    require(policies.can_sign_protocol_settings(user, activation), NOT_SIGNER)
    form = SignForm(request.POST, prefix="sign")
    signed = write_from_form(
        form,
        lambda data: sign_protocol_settings(activation, actor=user, password=data["password"]),
    )
    if signed is not None:
        activation.refresh_from_db()
        if activation.status == ActivationStatus.ACTIVE:
            messages.success(
                request,
                f"Signed. Version {activation.number} is in force from now: doses for "
                "patients on this protocol are calculated with it.",
            )
        else:
            messages.success(
                request,
                f"Signed. Version {activation.number} now awaits the signature of "
                + " and ".join(awaited(activation))
                + ".",
            )
        return redirect(detail_url(activation))
    protocol = selectors.protocol_of(activation)
    return render_detail(request, user, activation.center, protocol, sign_form=form)


@require_POST
def protocol_discard(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST reason."""
    user, activation = activation_of(request, public_id)
    require(policies.can_discard_protocol_settings(user, activation), NOT_DISCARDER)
    form = DiscardForm(request.POST, prefix="discard")
    discarded = write_from_form(
        form, lambda data: discard_protocol_settings(activation, reason=data["reason"], actor=user)
    )
    if discarded is not None:
        messages.success(
            request, f"Version {activation.number} discarded; it stays readable below."
        )
        return redirect(detail_url(activation))
    protocol = selectors.protocol_of(activation)
    return render_detail(request, user, activation.center, protocol, discard_form=form)
