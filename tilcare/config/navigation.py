"""Navigation built from what the signed-in user may do (no link to a page they cannot open)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from tilcare.accounts.roles import Perm


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated or not hasattr(user, "has_perm_code"):
        return {"nav_items": []}
    entries: list[tuple[str, str]] = []
    if user.has_perm_code(Perm.VIEW_JOURNEY) or user.has_perm_code(Perm.VIEW_JOURNEY_COI_ONLY):
        entries.append(("Board", reverse("journey:board")))
    if user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY):
        entries.append(("Patients", reverse("patients:patient-list")))
    if user.has_perm_code(Perm.COMPLETE_TASK):
        entries.append(("My tasks", reverse("journey:task-list")))
    if user.has_perm_code(Perm.RECORD_CUSTODY):
        entries.append(("Scan", reverse("journey:scan")))
    if user.has_perm_code(Perm.MANAGE_SHIPMENT):
        entries.append(("Shipments", reverse("identity:shipment-list")))
    if user.has_perm_code(Perm.ACKNOWLEDGE_IDENTITY_ALERT):
        entries.append(("Alerts", reverse("identity:alerts")))
    if user.has_perm_code(Perm.VIEW_JOURNEY_COI_ONLY):
        # Only a facility's staff see by COI identifier only; the batch records are theirs.
        entries.append(("Batches", reverse("manufacturing:batch-list")))
    if user.has_perm_code(Perm.MANAGE_SLOTS) or user.has_perm_code(Perm.BOOK_SLOT):
        entries.append(("Slots", reverse("manufacturing:slots")))
    if user.has_perm_code(Perm.USE_CLINICAL_CALCULATORS) or user.has_perm_code(
        Perm.USE_MANUFACTURING_CALCULATORS
    ):
        entries.append(("Calculators", reverse("calculators:list")))
    if user.has_perm_code(Perm.MANAGE_CENTER):
        entries.append(("Center settings", reverse("accounts:center-settings")))
    if user.has_perm_code(Perm.VIEW_OWN_RECORD):
        entries.append(("My journey", reverse("portal:home")))
    path = request.path
    return {"nav_items": [NavItem(label, url, path.startswith(url)) for label, url in entries]}
