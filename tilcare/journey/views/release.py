"""Where QA and the physician sign on the batch's release card: the card's forms post here, and the
journey's release services sign through manufacturing and record what follows for the journey.

The card itself (its forms, how it is drawn and what follows a signature) belongs to the batch
record (`manufacturing.views.release`).
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from tilcare.accounts.models import User
from tilcare.core.errors import InvalidInput, TransitionBlocked
from tilcare.core.forms import apply_service_errors
from tilcare.journey.services.release import acknowledge_batch_exception, dispose_batch
from tilcare.manufacturing.choices import Disposition
from tilcare.manufacturing.views import release as release_views


def _refused(form: Any, error: InvalidInput | TransitionBlocked) -> None:
    if isinstance(error, TransitionBlocked):
        error = InvalidInput({"__all__": list(error.reasons)})
    apply_service_errors(form, error)


@require_POST
def batch_disposition(request: HttpRequest, public_id: Any) -> HttpResponse:
    batch, user = release_views.batch_of(request, public_id), cast(User, request.user)
    form = release_views.DispositionForm(request.POST)
    if release_views.valid_in_zone(form, user):
        try:
            outcome = dispose_batch(batch, actor=user, **form.cleaned_data)
        except (InvalidInput, TransitionBlocked) as error:
            _refused(form, error)
        else:
            label = Disposition(outcome.disposition.decision).label
            message = f"Disposition signed: {label}."
            return release_views.after_action(request, batch, message, outcome.notes)
    return release_views.render_release(request, batch, bound={"disposition": form})


@require_POST
def batch_acknowledgement(request: HttpRequest, public_id: Any) -> HttpResponse:
    batch, user = release_views.batch_of(request, public_id), cast(User, request.user)
    form = release_views.AcknowledgementForm(request.POST)
    if form.is_valid():
        try:
            outcome = acknowledge_batch_exception(
                batch, password=form.cleaned_data["password"], actor=user
            )
        except (InvalidInput, TransitionBlocked) as error:
            _refused(form, error)
        else:
            message = "Acknowledgement signed: the product is released under exception."
            return release_views.after_action(request, batch, message, outcome.notes)
    return release_views.render_release(request, batch, bound={"acknowledgement": form})
