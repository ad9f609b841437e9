"""The patient's own pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tilcare.core.errors import PermissionDenied
from tilcare.portal.selectors import my_journey, own_patient


def home(request: HttpRequest) -> HttpResponse:
    patient = own_patient(request.user)
    if patient is None:
        raise PermissionDenied("This page is for patients with a portal account.")
    return render(
        request,
        "portal/home.html",
        {"patient": patient, "center": patient.center, "mine": my_journey(patient)},
    )
