"""The landing page sends each person to where their work is."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from tilcare.accounts.roles import Perm


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.has_perm_code(Perm.VIEW_OWN_RECORD):  # type: ignore[union-attr]
        return redirect("portal:home")
    if user.has_perm_code(Perm.VIEW_JOURNEY) or user.has_perm_code(  # type: ignore[union-attr]
        Perm.VIEW_JOURNEY_COI_ONLY
    ):
        return redirect("journey:board")
    return redirect("accounts:no-role")
