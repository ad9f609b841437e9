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


# The menu in its order: each entry's label, URL name and the permissions that show it (any one).
ENTRIES: tuple[tuple[str, str, tuple[Perm, ...]], ...] = (
    ("Board", "journey:board", (Perm.VIEW_JOURNEY, Perm.VIEW_JOURNEY_COI_ONLY)),
    ("Patients", "patients:patient-list", (Perm.VIEW_PATIENT_IDENTITY,)),
    ("My tasks", "journey:task-list", (Perm.COMPLETE_TASK,)),
    ("Scan", "journey:scan", (Perm.RECORD_CUSTODY,)),
    ("Shipments", "identity:shipment-list", (Perm.MANAGE_SHIPMENT,)),
    ("Alerts", "identity:alerts", (Perm.ACKNOWLEDGE_IDENTITY_ALERT,)),
    # Only a facility's staff see by COI identifier only; the batch records are theirs.
    ("Batches", "manufacturing:batch-list", (Perm.VIEW_JOURNEY_COI_ONLY,)),
    ("Slots", "manufacturing:slots", (Perm.MANAGE_SLOTS, Perm.BOOK_SLOT)),
    (
        "Calculators",
        "calculators:list",
        (Perm.USE_CLINICAL_CALCULATORS, Perm.USE_MANUFACTURING_CALCULATORS),
    ),
    # The center's clinical staff read the protocol settings their patients are treated under.
    ("Protocols", "treatment:protocols", (Perm.VIEW_JOURNEY,)),
    # Those who write, verify and give the doses: the queue of orders to verify.
    (
        "Orders",
        "treatment:orders",
        (Perm.VERIFY_ORDER, Perm.WRITE_ORDER, Perm.RECORD_ADMINISTRATION),
    ),
    # Those who record the infusion day or assess IL-2 doses: the patients at the bedside.
    ("Bedside", "treatment:bedside", (Perm.RECORD_INFUSION, Perm.ASSESS_IL2_DOSE)),
    ("Center settings", "accounts:center-settings", (Perm.MANAGE_CENTER,)),
    ("My journey", "portal:home", (Perm.VIEW_OWN_RECORD,)),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated or not hasattr(user, "has_perm_code"):
        return {"nav_items": []}
    path = request.path
    items: list[NavItem] = []
    for label, url_name, perms in ENTRIES:
        if any(user.has_perm_code(perm) for perm in perms):
            url = reverse(url_name)
            items.append(NavItem(label, url, path.startswith(url)))
    return {"nav_items": items}
