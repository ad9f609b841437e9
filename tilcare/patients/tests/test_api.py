"""The patients API: list, register, read, change, measurements and consents."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from django.test import Client

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for, invalid_input, row_counts
from tilcare.core.timeutil import local_today
from tilcare.patients.models import BodyMeasurement, Consent, Patient
from tilcare.patients.tests.factories import (
    BodyMeasurementFactory,
    ConsentFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "mrn": "MRN900001",
    "given_name": "Ingrid",
    "family_name": "Solberg",
    "date_of_birth": "1971-09-30",
    "sex": "female",
    "cancer_type": "melanoma_cutaneous",
    "disease_stage": "IV_M1b",
}
MEASUREMENT = {"measured_on": "2026-01-05", "weight_kg": "68.4", "height_cm": 172.5}
NOT_FOUND = {"detail": "Not found."}


def send(client: Client, method: str, path: str, body: object):
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


def counts() -> tuple[int, ...]:
    return row_counts(Patient, BodyMeasurement, Consent, AuditEvent)


@pytest.fixture
def navigator(center):
    return UserFactory(role="navigator", organization=center, first_name="Ana", last_name="Ortiz")


@pytest.fixture
def api(navigator):
    return client_for(navigator)


@pytest.fixture
def other_center_patient():
    return PatientFactory(mrn="MRN777777", given_name="Helga", family_name="Brandt")


def patient_url(patient, suffix: str = "") -> str:
    return f"/api/v1/patients/{patient.public_id}{suffix}"


# --- list -----------------------------------------------------------------------------------


def test_the_list_has_the_callers_center_patients_only(api, patient, other_center_patient):
    # When the navigator lists patients
    response = api.get("/api/v1/patients")

    # Then only their own center's patient is there, summarised
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "public_id": str(patient.public_id),
                "mrn": "MRN004512",
                "given_name": "Theodora",
                "family_name": "Lindqvist",
                "date_of_birth": "1968-04-12",
                "sex": "female",
            }
        ],
        "count": 1,
    }


def test_the_list_searches_by_mrn_and_name(api, center, patient):
    # Given a second patient at the same center
    PatientFactory(center=center, mrn="MRN000002", given_name="Omar", family_name="Haddad")

    # When searching by MRN and by a word of the name
    by_mrn = api.get("/api/v1/patients", {"q": "MRN000002"}).json()
    by_name = api.get("/api/v1/patients", {"q": "theodora"}).json()

    # Then each finds its one patient
    assert [p["family_name"] for p in by_mrn["items"]] == ["Haddad"]
    assert [p["family_name"] for p in by_name["items"]] == ["Lindqvist"]


def test_the_list_is_paged_with_limit_and_offset(api, center):
    # Given three patients
    for family_name in ("Abbott", "Baker", "Carter"):
        PatientFactory(center=center, family_name=family_name)

    # When the second page of one is read
    body = api.get("/api/v1/patients", {"limit": 1, "offset": 1}).json()

    # Then it has the second patient by name and the total count
    assert [p["family_name"] for p in body["items"]] == ["Baker"]
    assert body["count"] == 3


def test_a_page_larger_than_200_is_refused(api):
    response = api.get("/api/v1/patients", {"limit": 201})

    assert response.status_code == 422
    assert response.json() == invalid_input({"limit": ["limit must be at most 200."]})


# --- create ---------------------------------------------------------------------------------


def test_registering_a_patient_creates_it_at_the_callers_center(api, center):
    # Given nothing yet
    events_before = AuditEvent.objects.count()

    # When a patient is posted
    response = send(api, "post", "/api/v1/patients", NEW_PATIENT)

    # Then it is created at the navigator's center, audited, and returned
    assert response.status_code == 201
    created = Patient.objects.get(mrn="MRN900001")
    assert created.center == center
    body = response.json()
    assert body["public_id"] == str(created.public_id)
    assert {k: body[k] for k in (*NEW_PATIENT, "braf_status", "diagnosed_on")} == {
        **NEW_PATIENT,
        "braf_status": "",
        "diagnosed_on": None,
    }
    assert body["created_at"].endswith("+00:00")
    assert AuditEvent.objects.count() == events_before + 1
    assert AuditEvent.objects.order_by("-seq").first().action == "patient.create"


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"sex": "unknown-sex"},
            {"sex": ["Input should be 'female', 'male', 'other' or 'unknown'."]},
        ),
        ({"given_name": None}, {"given_name": ["Input should be a valid string."]}),
        ({"date_of_birth": "12/04/1968"}, {"date_of_birth": ["Enter the date as YYYY-MM-DD."]}),
        (
            {"cancer_type": "melanoma"},
            {
                "cancer_type": [
                    "Input should be 'melanoma_cutaneous', 'melanoma_mucosal', "
                    "'melanoma_acral', 'melanoma_uveal', 'melanoma_unknown_primary', 'nsclc', "
                    "'cervical', 'head_and_neck' or 'other_solid'."
                ]
            },
        ),
        (
            {"nickname": "Inga"},
            {"nickname": ["Unknown field; check its spelling against the API documentation."]},
        ),
    ],
    ids=["unknown-sex", "null-name", "non-iso-date", "unknown-cancer-type", "unknown-field"],
)
def test_a_malformed_patient_is_refused_field_by_field_and_nothing_written(api, change, errors):
    before = counts()

    response = send(api, "post", "/api/v1/patients", {**NEW_PATIENT, **change})

    assert response.status_code == 422
    assert response.json() == invalid_input(errors)
    assert counts() == before


def test_a_missing_required_field_is_named(api):
    # Given a patient without a family name
    body = {k: v for k, v in NEW_PATIENT.items() if k != "family_name"}
    before = counts()

    # When it is posted
    response = send(api, "post", "/api/v1/patients", body)

    # Then the field is named and nothing is written
    assert response.status_code == 422
    assert response.json() == invalid_input({"family_name": ["This field is required."]})
    assert counts() == before


def test_a_date_of_birth_in_the_future_is_refused_and_nothing_written(api, center):
    # Given a date of birth tomorrow at the center
    tomorrow = local_today(center.time_zone) + dt.timedelta(days=1)
    today = tomorrow - dt.timedelta(days=1)
    before = counts()

    # When the patient is posted
    response = send(
        api, "post", "/api/v1/patients", {**NEW_PATIENT, "date_of_birth": tomorrow.isoformat()}
    )

    # Then the service's message names the field and today's date, and nothing is written
    assert response.status_code == 422
    assert response.json() == invalid_input(
        {"date_of_birth": [f"Date of birth cannot be in the future (today is {today:%Y-%m-%d})."]}
    )
    assert counts() == before


def test_a_duplicate_mrn_is_refused_by_the_service(api, patient):
    before = counts()

    response = send(api, "post", "/api/v1/patients", {**NEW_PATIENT, "mrn": "MRN004512"})

    assert response.status_code == 422
    assert response.json() == invalid_input(
        {
            "mrn": [
                "Medical record number MRN004512 is already used by another patient at this center."
            ]
        }
    )
    assert counts() == before


def test_a_social_worker_may_not_register_a_patient_and_nothing_is_written(center):
    # Given a social worker (may read patients, may not register them)
    api = client_for(UserFactory(role="social_worker", organization=center))
    before = counts()

    # When they post a patient
    response = send(api, "post", "/api/v1/patients", NEW_PATIENT)

    # Then the policy's message comes back as 403 and nothing is written
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not register patients at this center."}
    assert counts() == before


# --- read -----------------------------------------------------------------------------------


def test_one_patient_is_read_in_full(api, patient):
    response = api.get(patient_url(patient))

    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("created_at", "updated_at")} == {
        "public_id": str(patient.public_id),
        "mrn": "MRN004512",
        "given_name": "Theodora",
        "family_name": "Lindqvist",
        "date_of_birth": "1968-04-12",
        "sex": "female",
        "phone": "+1 555 0142",
        "email": "",
        "address": "",
        "preferred_language": "English",
        "cancer_type": "melanoma_cutaneous",
        "disease_stage": "IV_M1b",
        "braf_status": "wild_type",
        "diagnosed_on": "2024-02-03",
    }


def test_another_centers_patient_is_not_found(api, other_center_patient):
    response = api.get(patient_url(other_center_patient))

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert b"Helga" not in response.content


def test_a_patient_id_that_does_not_exist_is_not_found(api):
    response = api.get(f"/api/v1/patients/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_malformed_patient_id_is_not_found(api):
    response = api.get("/api/v1/patients/not-a-uuid")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_facility_user_sees_no_patients(patient):
    # Given a manufacturing technologist
    api = client_for(UserFactory(role="manufacturing_tech", organization=FacilityFactory()))

    # When they list patients and ask for one by id
    listing = api.get("/api/v1/patients")
    one = api.get(patient_url(patient))

    # Then the list is empty and the patient is "not found"
    assert listing.json() == {"items": [], "count": 0}
    assert one.status_code == 404
    assert one.json() == NOT_FOUND


# --- change ---------------------------------------------------------------------------------


def test_a_change_with_its_reason_is_saved_and_audited(api, patient):
    events_before = AuditEvent.objects.count()

    response = send(
        api,
        "patch",
        patient_url(patient),
        {"phone": "+1 555 0199", "reason": "Patient gave a new number"},
    )

    assert response.status_code == 200
    assert response.json()["phone"] == "+1 555 0199"
    patient.refresh_from_db()
    assert patient.phone == "+1 555 0199"
    assert AuditEvent.objects.count() == events_before + 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.reason) == ("patient.update", "Patient gave a new number")


def test_a_change_without_a_reason_is_refused_and_nothing_changes(api, patient):
    before = counts()

    response = send(api, "patch", patient_url(patient), {"phone": "+1 555 0199"})

    assert response.status_code == 422
    assert response.json() == invalid_input({"reason": ["This field is required."]})
    patient.refresh_from_db()
    assert patient.phone == "+1 555 0142"
    assert counts() == before


def test_a_blank_reason_is_refused_by_the_service(api, patient):
    before = counts()

    response = send(api, "patch", patient_url(patient), {"phone": "+1 555 0199", "reason": " "})

    assert response.status_code == 422
    assert response.json() == invalid_input({"reason": ["Reason for change is required."]})
    assert counts() == before


def test_a_change_with_nothing_to_change_is_refused(api, patient):
    response = send(api, "patch", patient_url(patient), {"reason": "Checking"})

    assert response.status_code == 422
    assert response.json() == invalid_input(
        {"__all__": ["Send at least one field to change, with the reason."]}
    )


def test_a_nurse_may_not_change_a_patient(center, patient):
    api = client_for(UserFactory(role="nurse", organization=center))
    before = counts()

    response = send(
        api, "patch", patient_url(patient), {"given_name": "Theo", "reason": "Nickname"}
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "You may not change this patient's record."}
    patient.refresh_from_db()
    assert patient.given_name == "Theodora"
    assert counts() == before


# --- measurements ---------------------------------------------------------------------------


def test_a_measurement_is_recorded_exactly_from_text_and_number(api, patient, navigator):
    # Given weight as JSON text and height as a JSON number
    events_before = AuditEvent.objects.count()

    # When the measurement is posted
    response = send(api, "post", patient_url(patient, "/measurements"), MEASUREMENT)

    # Then both are stored as exact decimals and returned as text
    assert response.status_code == 201
    stored = BodyMeasurement.objects.get(patient=patient)
    assert (stored.weight_kg, stored.height_cm) == (Decimal("68.4"), Decimal("172.5"))
    assert response.json() == {
        "public_id": str(stored.public_id),
        "measured_on": "2026-01-05",
        "weight_kg": "68.4",
        "height_cm": "172.5",
        "recorded_by": "Ana Ortiz",
        "created_at": stored.created_at.astimezone(dt.UTC).isoformat(),
    }
    assert AuditEvent.objects.count() == events_before + 1


def test_a_whole_number_weight_is_returned_with_its_decimal_place(api, patient):
    response = send(
        api, "post", patient_url(patient, "/measurements"), {**MEASUREMENT, "weight_kg": 70}
    )

    assert response.status_code == 201
    assert response.json()["weight_kg"] == "70.0"


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"weight_kg": 700}, {"weight_kg": ["Weight must be between 20 and 350 kg."]}),
        ({"height_cm": 17}, {"height_cm": ["Height must be between 100 and 250 cm."]}),
        ({"weight_kg": "68.45"}, {"weight_kg": ["Weight takes at most 1 decimal place(s) in kg."]}),
        ({"weight_kg": 68.45}, {"weight_kg": ["Weight takes at most 1 decimal place(s) in kg."]}),
        ({"weight_kg": "heavy"}, {"weight_kg": ["Weight must be a number in kg."]}),
        ({"weight_kg": True}, {"weight_kg": ['Weight must be a number in kg, e.g. "68.4".']}),
        ({"measured_on": "2026-01-05T10:00"}, {"measured_on": ["Enter the date as YYYY-MM-DD."]}),
    ],
    ids=[
        "weight-700",
        "height-17",
        "two-places-text",
        "two-places-number",
        "text",
        "boolean",
        "datetime-for-date",
    ],
)
def test_an_impossible_measurement_is_refused_and_nothing_written(api, patient, change, errors):
    before = counts()

    response = send(api, "post", patient_url(patient, "/measurements"), {**MEASUREMENT, **change})

    assert response.status_code == 422
    assert response.json() == invalid_input(errors)
    assert counts() == before


def test_a_json_number_is_read_as_an_exact_decimal_never_through_float(api, patient):
    # Given a weight whose digits a float would round to 68.4
    before = counts()
    body = json.dumps({**MEASUREMENT, "weight_kg": 0}).replace(
        '"weight_kg": 0', '"weight_kg": 68.40000000000000001'
    )

    # When it is posted
    response = api.post(
        patient_url(patient, "/measurements"), data=body, content_type="application/json"
    )

    # Then every typed digit is judged, so it is refused rather than silently rounded
    assert response.status_code == 422
    assert response.json() == invalid_input(
        {"weight_kg": ["Weight takes at most 1 decimal place(s) in kg."]}
    )
    assert counts() == before


def test_a_measurement_without_weight_names_the_field(api, patient):
    before = counts()
    body = {k: v for k, v in MEASUREMENT.items() if k != "weight_kg"}

    response = send(api, "post", patient_url(patient, "/measurements"), body)

    assert response.status_code == 422
    assert response.json() == invalid_input({"weight_kg": ["This field is required."]})
    assert counts() == before


def test_a_social_worker_may_not_record_a_measurement(center, patient):
    api = client_for(UserFactory(role="social_worker", organization=center))
    before = counts()

    response = send(api, "post", patient_url(patient, "/measurements"), MEASUREMENT)

    assert response.status_code == 403
    assert response.json() == {"detail": "You may not record measurements for this patient."}
    assert counts() == before


def test_a_measurement_for_another_centers_patient_is_not_found(api, other_center_patient):
    before = counts()

    response = send(api, "post", patient_url(other_center_patient, "/measurements"), MEASUREMENT)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert counts() == before


def test_measurements_are_listed_newest_first(api, patient):
    BodyMeasurementFactory(patient=patient, measured_on=dt.date(2025, 1, 10))
    BodyMeasurementFactory(
        patient=patient, measured_on=dt.date(2025, 3, 2), weight_kg=Decimal("66.0")
    )

    body = api.get(patient_url(patient, "/measurements")).json()

    assert [(m["measured_on"], m["weight_kg"], m["height_cm"]) for m in body] == [
        ("2025-03-02", "66.0", "167.0"),
        ("2025-01-10", "68.4", "167.0"),
    ]


# --- consents -------------------------------------------------------------------------------


def test_a_consent_is_recorded_by_the_caller(api, patient):
    events_before = AuditEvent.objects.count()

    response = send(
        api,
        "post",
        patient_url(patient, "/consents"),
        {"kind": "til_therapy", "form_version": "3.2", "signed_on": "2026-01-05"},
    )

    assert response.status_code == 201
    consent = Consent.objects.get(patient=patient)
    assert response.json() == {
        "public_id": str(consent.public_id),
        "kind": "til_therapy",
        "kind_label": "TIL therapy (treatment consent)",
        "form_version": "3.2",
        "signed_on": "2026-01-05",
        "withdrawn_on": None,
        "is_active": True,
        "obtained_by": "Ana Ortiz",
    }
    assert AuditEvent.objects.count() == events_before + 1


def test_a_consent_of_an_unknown_kind_is_refused(api, patient):
    before = counts()

    response = send(
        api,
        "post",
        patient_url(patient, "/consents"),
        {"kind": "everything", "form_version": "3.2", "signed_on": "2026-01-05"},
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["kind"]
    assert counts() == before


def test_consents_are_listed(api, patient):
    ConsentFactory(patient=patient, kind="tissue_procurement", signed_on=dt.date(2025, 2, 11))

    body = api.get(patient_url(patient, "/consents")).json()

    assert [(c["kind"], c["signed_on"], c["is_active"]) for c in body] == [
        ("tissue_procurement", "2025-02-11", True)
    ]
