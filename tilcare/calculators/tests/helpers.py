"""Shared by the calculator tests (and other domains' checks of calculator text): a client signed
in as a role, a call through POST /api/v1/calc/<slug> and its refusal by field, and the
lymphodepletion patient and center settings."""

from __future__ import annotations

from django.test import Client

from tilcare.accounts.choices import Role
from tilcare.core.tests.clients import client_for as signed_in_client
from tilcare.core.tests.clients import post_json
from tilcare.patients.tests.factories import UserFactory

# A center's settings for the lymphodepletion calculator in tests; none of them is a default of
# the software.
CENTER = {
    "cyclophosphamide_weight_basis": "actual",
    "cyclophosphamide_rounding_increment_mg": "10",
    "mesna_dose": "60",
    "bsa_formula": "mosteller",
    "bsa_cap_m2": "no cap",
    "fludarabine_renal_bands": [
        {"crcl_from_ml_per_min": 40, "crcl_to_ml_per_min": 49, "dose": "15"},
        {"crcl_from_ml_per_min": 50, "crcl_to_ml_per_min": 79, "dose": "20"},
    ],
    "crcl_weight_basis": "actual",
    "fludarabine_rounding_increment_mg": "1",
}

# A patient for the lymphodepletion calculator: a man of 52, 80 kg, 178 cm, creatinine 1.0 mg/dL.
PATIENT = {
    "weight_kg": "80",
    "height_cm": "178",
    "sex": "male",
    "age_years": "52",
    "serum_creatinine_mg_per_dl": "1.0",
}


def client_for(role: Role) -> Client:
    """A client signed in as a new user with `role` (a facility role's user gets a facility)."""
    return signed_in_client(UserFactory(role=role))


def post(client: Client, slug: str, body: object, raw: str | None = None):
    """The calculator `slug` called with `body` as JSON, or with the `raw` text as it is."""
    path = f"/api/v1/calc/{slug}"
    if raw is None:
        return post_json(client, path, body)
    return client.post(path, data=raw, content_type="application/json")


def refused(response) -> dict[str, list[str]]:
    """The errors by field of a refused calculation (422)."""
    assert response.status_code == 422, response.json()
    errors: dict[str, list[str]] = response.json()["errors"]
    return errors
