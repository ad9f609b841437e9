"""The patient pages: list, register, record, edit, and the add forms on the record's cards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tilcare.audit.models import AuditEvent
from tilcare.patients.models import BodyMeasurement, Consent, Contact, Patient, PriorTherapy
from tilcare.patients.tests.factories import (
    BodyMeasurementFactory,
    CenterFactory,
    ConsentFactory,
    ContactFactory,
    FacilityFactory,
    PatientFactory,
    PriorTherapyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _detail(patient):
    return reverse("patients:patient-detail", kwargs={"public_id": patient.public_id})


def _url(name, patient, **kwargs):
    return reverse(f"patients:{name}", kwargs={"public_id": patient.public_id, **kwargs})


def _create_post(**overrides):
    data = {
        "mrn": "MRN100200",
        "given_name": "Ada",
        "family_name": "Okafor",
        "date_of_birth": "1971-09-30",
        "sex": "female",
        "phone": "+1 555 0111",
        "email": "",
        "address": "",
        "preferred_language": "English",
        "cancer_type": "melanoma_cutaneous",
        "disease_stage": "IV_M1c",
        "braf_status": "v600_mutant",
        "diagnosed_on": "2023-05-02",
    }
    data.update(overrides)
    return data


def _register(client, **overrides):
    """Post the registration form, complete but for `overrides`, as the signed-in user."""
    return client.post(reverse("patients:patient-create"), _create_post(**overrides))


def _edit_post(patient, **overrides):
    data = {
        "mrn": patient.mrn,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "phone": patient.phone,
        "email": patient.email,
        "address": patient.address,
        "preferred_language": patient.preferred_language,
        "cancer_type": patient.cancer_type,
        "disease_stage": patient.disease_stage,
        "braf_status": patient.braf_status,
        "diagnosed_on": patient.diagnosed_on.isoformat() if patient.diagnosed_on else "",
        "reason": "",
    }
    data.update(overrides)
    return data


def _edit(client, patient, **overrides):
    """Post the patient's edit form, as it is filled but for `overrides`, as the signed-in user."""
    return client.post(_url("patient-edit", patient), _edit_post(patient, **overrides))


def _measurement_post(**overrides):
    data = {
        "measurement-measured_on": "2025-02-10",
        "measurement-weight_kg": "68.4",
        "measurement-height_cm": "167.0",
    }
    data.update(overrides)
    return data


# ---------- anonymous ----------


@pytest.mark.parametrize("name", ["patient-list", "patient-create"])
def test_anonymous_is_sent_to_login_from_pages(client, name):
    response = client.get(reverse(f"patients:{name}"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_anonymous_is_sent_to_login_from_the_record(client, patient):
    response = client.get(_detail(patient))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "Lindqvist" not in response.content.decode()


def test_anonymous_post_writes_nothing(client, patient):
    response = client.post(_url("measurement-add", patient), _measurement_post())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert BodyMeasurement.objects.count() == 0


# ---------- list ----------


def test_list_shows_own_center_patients_with_latest_measurement(client, navigator, patient):
    # Given two measurements for the patient and a patient at another center
    BodyMeasurementFactory(
        patient=patient, measured_on=dt.date(2025, 1, 5), weight_kg=Decimal("71.0")
    )
    BodyMeasurementFactory(
        patient=patient, measured_on=dt.date(2025, 2, 10), weight_kg=Decimal("68.4")
    )
    PatientFactory(center=CenterFactory(), family_name="Elsewhere")
    client.force_login(navigator)

    # When the navigator opens the list
    response = client.get(reverse("patients:patient-list"))

    # Then they see their patient with identity, diagnosis and the newest weight only
    body = response.content.decode()
    assert response.status_code == 200
    assert "Lindqvist, Theodora" in body
    assert "MRN004512" in body
    assert "12 Apr 1968" in body
    assert "Melanoma, cutaneous" in body
    assert "68.4 kg" in body
    assert "71.0 kg" not in body
    assert "Elsewhere" not in body
    assert _detail(patient) in body


def test_list_search_by_mrn(client, navigator, patient, center):
    PatientFactory(center=center, family_name="Okafor", mrn="MRN777777")
    client.force_login(navigator)

    response = client.get(reverse("patients:patient-list"), {"q": "mrn004512"})

    body = response.content.decode()
    assert "Lindqvist" in body
    assert "Okafor" not in body


def test_list_search_by_name(client, navigator, patient, center):
    PatientFactory(center=center, family_name="Okafor", mrn="MRN777777")
    client.force_login(navigator)

    response = client.get(reverse("patients:patient-list"), {"q": "okaf"})

    body = response.content.decode()
    assert "Okafor" in body
    assert "Lindqvist" not in body


def test_list_search_with_no_match_says_so(client, navigator, patient):
    client.force_login(navigator)

    response = client.get(reverse("patients:patient-list"), {"q": "Nobody"})

    assert "No patient at your center matches" in response.content.decode()


def test_list_search_from_htmx_returns_only_the_table(client, navigator, patient):
    client.force_login(navigator)

    response = client.get(
        reverse("patients:patient-list"),
        {"q": "Lindqvist"},
        headers={**HTMX, "HX-Target": "patient-results"},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Lindqvist, Theodora" in body
    assert "<html" not in body


def test_list_offers_registration_to_a_navigator_only(client, navigator, center):
    nurse = UserFactory(role="nurse", organization=center)
    create_url = reverse("patients:patient-create")

    client.force_login(navigator)
    as_navigator = client.get(reverse("patients:patient-list")).content.decode()
    client.force_login(nurse)
    as_nurse = client.get(reverse("patients:patient-list")).content.decode()

    assert create_url in as_navigator
    assert create_url not in as_nurse


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
def test_facility_user_gets_403_on_the_list_and_sees_no_identity(client, role, patient):
    user = UserFactory(role=role, organization=FacilityFactory())
    client.force_login(user)

    response = client.get(reverse("patients:patient-list"), {"q": "Lindqvist"})

    body = response.content.decode()
    assert response.status_code == 403
    for identity in ("Theodora", "Lindqvist", "MRN004512", "1968", "12 Apr"):
        assert identity not in body


def test_patient_role_gets_403_on_the_list(client, center, patient):
    portal_user = UserFactory(role="patient", organization=center)
    client.force_login(portal_user)

    response = client.get(reverse("patients:patient-list"))

    assert response.status_code == 403
    assert "Lindqvist" not in response.content.decode()


def test_list_is_paginated(client, navigator, center):
    for n in range(51):
        PatientFactory(center=center, mrn=f"P{n:03d}")
    client.force_login(navigator)

    first = client.get(reverse("patients:patient-list"))
    second = client.get(reverse("patients:patient-list"), {"page": 2})

    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 1
    assert "Page 1 of 2" in first.content.decode()


# ---------- create ----------


def test_create_redirects_to_the_new_record_with_one_audit_event(client, navigator, center):
    client.force_login(navigator)

    response = _register(client)

    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _detail(patient)
    assert (patient.center_id, patient.mrn, patient.given_name) == (center.pk, "MRN100200", "Ada")
    assert patient.braf_status == "v600_mutant"
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["patient.create"]


def test_create_with_date_of_birth_in_the_future_rerenders_with_the_message(
    client, navigator, today
):
    client.force_login(navigator)
    tomorrow = today + dt.timedelta(days=1)

    response = _register(client, date_of_birth=tomorrow.isoformat(), diagnosed_on="")

    assert response.status_code == 200
    assert (
        f"Date of birth cannot be in the future (today is {today:%Y-%m-%d})."
        in response.content.decode()
    )
    assert Patient.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_create_with_age_over_120_rerenders_with_the_message(client, navigator):
    client.force_login(navigator)

    response = _register(client, date_of_birth="1890-01-01", diagnosed_on="")

    assert response.status_code == 200
    assert "Date of birth gives an age over 120 years; check the year." in (
        response.content.decode()
    )
    assert Patient.objects.count() == 0


def test_create_with_duplicate_mrn_rerenders_with_the_message(client, navigator, patient):
    client.force_login(navigator)

    response = _register(client, mrn="MRN004512")

    assert response.status_code == 200
    assert (
        "Medical record number MRN004512 is already used by another patient at this center."
        in response.content.decode()
    )
    assert Patient.objects.count() == 1
    assert AuditEvent.objects.count() == 0


def test_create_with_diagnosis_before_birth_rerenders_with_the_message(client, navigator):
    client.force_login(navigator)

    response = _register(client, diagnosed_on="1960-01-01")

    assert response.status_code == 200
    assert "Date of diagnosis cannot be before the date of birth (1971-09-30)." in (
        response.content.decode()
    )
    assert Patient.objects.count() == 0


def test_create_with_missing_fields_names_each_field(client, navigator):
    client.force_login(navigator)

    response = _register(client, given_name="", mrn="", date_of_birth="", sex="")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Given name is required." in body
    assert "Medical record number (MRN) is required." in body
    assert "Date of birth is required." in body
    assert "Sex is required." in body
    assert "Nothing was saved." in body
    assert Patient.objects.count() == 0


def test_create_with_a_malformed_date_names_the_field_and_format(client, navigator):
    client.force_login(navigator)

    response = _register(client, date_of_birth="30/09/1971")

    assert "Date of birth must be a valid date (YYYY-MM-DD)." in response.content.decode()
    assert Patient.objects.count() == 0


@pytest.mark.parametrize("role", ["nurse", "physician", "social_worker"])
def test_roles_without_create_permission_get_403(client, center, role):
    client.force_login(UserFactory(role=role, organization=center))

    page = client.get(reverse("patients:patient-create"))
    post = _register(client)

    assert page.status_code == 403
    assert post.status_code == 403
    assert Patient.objects.count() == 0


def test_facility_user_gets_403_on_create(client):
    client.force_login(UserFactory(role="manufacturing_tech"))

    response = _register(client)

    assert response.status_code == 403
    assert Patient.objects.count() == 0


# ---------- detail ----------


def test_record_shows_every_card(client, navigator, patient):
    # Given a patient with a caregiver, therapy, consents and three measurements
    ContactFactory(patient=patient, name="Johan Lindqvist", is_caregiver=True)
    PriorTherapyFactory(patient=patient, agent="pembrolizumab")
    ConsentFactory(patient=patient, kind="til_therapy", form_version="3.2")
    ConsentFactory(
        patient=patient,
        kind="research",
        form_version="1.0",
        signed_on=dt.date(2025, 1, 5),
        withdrawn_on=dt.date(2025, 2, 1),
    )
    for day, weight in [(5, "70.2"), (20, "69.0"), (28, "68.4")]:
        BodyMeasurementFactory(
            patient=patient, measured_on=dt.date(2025, 1, day), weight_kg=Decimal(weight)
        )
    client.force_login(navigator)

    # When the navigator opens the record
    response = client.get(_detail(patient))

    # Then identity, diagnosis, contacts, therapy, consents and measurements are all there
    body = response.content.decode()
    assert response.status_code == 200
    assert "Lindqvist, Theodora" in body
    assert "MRN004512" in body
    assert "Stage IV, M1b" in body
    assert "Johan Lindqvist" in body
    assert "Caregiver named" in body
    assert "pembrolizumab" in body
    assert "Anti-PD-1 on record" in body
    assert "TIL therapy consent active" in body
    assert "Withdrawn 1 Feb 2025" in body
    assert [m.weight_kg for m in response.context["measurements"]] == [
        Decimal("68.4"),
        Decimal("69.0"),
        Decimal("70.2"),
    ]


def test_record_highlights_the_latest_measurement_row(client, navigator, patient):
    BodyMeasurementFactory(patient=patient, measured_on=dt.date(2025, 1, 5))
    BodyMeasurementFactory(
        patient=patient, measured_on=dt.date(2025, 1, 28), weight_kg=Decimal("66.6")
    )
    client.force_login(navigator)

    body = client.get(_detail(patient)).content.decode()

    latest_row = body.split('class="is-latest"', 1)[1].split("</tr>", 1)[0]
    assert "28 Jan 2025" in latest_row
    assert "66.6" in latest_row
    assert body.count('class="is-latest"') == 1


def test_record_warns_when_no_caregiver_and_no_treatment_consent(client, navigator, patient):
    client.force_login(navigator)

    body = client.get(_detail(patient)).content.decode()

    assert "No caregiver named" in body
    assert "No active TIL therapy consent" in body


def test_navigator_sees_every_write_form(client, navigator, patient):
    ConsentFactory(patient=patient)
    client.force_login(navigator)

    body = client.get(_detail(patient)).content.decode()

    assert _url("patient-edit", patient) in body
    assert _url("contact-add", patient) in body
    assert _url("prior-therapy-add", patient) in body
    assert _url("consent-add", patient) in body
    assert _url("measurement-add", patient) in body
    assert "/withdraw/" in body


def test_nurse_sees_only_the_measurement_form(client, center, patient):
    ConsentFactory(patient=patient)
    client.force_login(UserFactory(role="nurse", organization=center))

    body = client.get(_detail(patient)).content.decode()

    assert _url("measurement-add", patient) in body
    assert _url("patient-edit", patient) not in body
    assert _url("contact-add", patient) not in body
    assert _url("prior-therapy-add", patient) not in body
    assert _url("consent-add", patient) not in body
    assert "/withdraw/" not in body


def test_social_worker_sees_the_record_without_any_write_form(client, center, patient):
    client.force_login(UserFactory(role="social_worker", organization=center))

    response = client.get(_detail(patient))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Lindqvist, Theodora" in body
    assert '<form method="post" action="/patients/' not in body


def test_staff_of_another_center_gets_404(client, patient):
    client.force_login(UserFactory(role="navigator", organization=CenterFactory()))

    response = client.get(_detail(patient))

    assert response.status_code == 404
    assert "Lindqvist" not in response.content.decode()


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
@pytest.mark.parametrize("name", ["patient-detail", "patient-edit"], ids=["detail", "edit"])
def test_facility_user_gets_404_on_patient_pages_with_no_identity(client, role, name, patient):
    client.force_login(UserFactory(role=role, organization=FacilityFactory()))

    response = client.get(_url(name, patient))

    body = response.content.decode()
    assert response.status_code == 404
    for identity in ("Theodora", "Lindqvist", "MRN004512", "1968", "12 Apr"):
        assert identity not in body


@pytest.mark.parametrize(
    "name", ["contact-add", "prior-therapy-add", "consent-add", "measurement-add"]
)
def test_facility_user_gets_404_on_every_write_endpoint(client, name, patient):
    client.force_login(UserFactory(role="manufacturing_tech"))

    response = client.post(_url(name, patient), {})

    assert response.status_code == 404
    assert "Lindqvist" not in response.content.decode()
    assert AuditEvent.objects.count() == 0


def test_patient_role_gets_404_on_another_patients_record(client, center, patient):
    portal_user = UserFactory(role="patient", organization=center)
    PatientFactory(center=center, portal_user=portal_user)
    client.force_login(portal_user)

    response = client.get(_detail(patient))

    assert response.status_code == 404
    assert "Lindqvist" not in response.content.decode()


def test_unknown_patient_id_is_404(client, navigator):
    client.force_login(navigator)

    response = client.get("/patients/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404


# ---------- edit ----------


def test_edit_form_is_filled_with_the_current_record(client, navigator, patient):
    client.force_login(navigator)

    response = client.get(_url("patient-edit", patient))

    assert response.status_code == 200
    assert 'value="MRN004512"' in response.content.decode()
    assert "Reason for change" in response.content.decode()


def test_edit_without_a_reason_is_refused_and_nothing_changes(client, navigator, patient):
    client.force_login(navigator)

    response = _edit(client, patient, given_name="Theo")

    assert response.status_code == 200
    assert "Reason for change is required." in response.content.decode()
    assert Patient.objects.get(pk=patient.pk).given_name == "Theodora"
    assert AuditEvent.objects.count() == 0


def test_edit_with_a_reason_saves_and_audits_it(client, navigator, patient):
    client.force_login(navigator)

    response = _edit(
        client, patient, date_of_birth="1968-04-21", reason="Corrected from referral letter"
    )

    assert response.status_code == 302
    assert response["Location"] == _detail(patient)
    assert Patient.objects.get(pk=patient.pk).date_of_birth == dt.date(1968, 4, 21)
    event = AuditEvent.objects.get()
    assert event.action == "patient.update"
    assert event.reason == "Corrected from referral letter"
    assert event.before == {"date_of_birth": "1968-04-12"}


def test_edit_to_a_duplicate_mrn_is_refused(client, navigator, patient, center):
    PatientFactory(center=center, mrn="MRN777777")
    client.force_login(navigator)

    response = _edit(client, patient, mrn="MRN777777", reason="typo")

    assert response.status_code == 200
    assert "Medical record number MRN777777 is already used" in response.content.decode()
    assert Patient.objects.get(pk=patient.pk).mrn == "MRN004512"
    assert AuditEvent.objects.count() == 0


def test_edit_keeping_the_own_mrn_is_not_a_duplicate(client, navigator, patient):
    client.force_login(navigator)

    response = _edit(client, patient, phone="+1 555 0000", reason="New phone")

    assert response.status_code == 302
    assert Patient.objects.get(pk=patient.pk).phone == "+1 555 0000"


def test_edit_with_nothing_changed_writes_no_event(client, navigator, patient):
    client.force_login(navigator)

    response = _edit(client, patient, reason="checked")

    assert response.status_code == 302
    assert AuditEvent.objects.count() == 0


def test_nurse_may_not_edit(client, center, patient):
    client.force_login(UserFactory(role="nurse", organization=center))

    page = client.get(_url("patient-edit", patient))
    post = _edit(client, patient, given_name="X", reason="x")

    assert page.status_code == 403
    assert post.status_code == 403
    assert Patient.objects.get(pk=patient.pk).given_name == "Theodora"


# ---------- measurements ----------


def test_measurement_post_redirects_to_the_record(client, navigator, patient):
    client.force_login(navigator)

    response = client.post(_url("measurement-add", patient), _measurement_post())

    assert response.status_code == 302
    assert response["Location"] == _detail(patient) + "#measurements"
    measurement = BodyMeasurement.objects.get()
    assert (measurement.weight_kg, measurement.height_cm) == (Decimal("68.4"), Decimal("167.0"))
    assert measurement.recorded_by == navigator
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "patient.measurement.record"
    ]


def test_measurement_post_from_htmx_returns_the_card(client, navigator, patient):
    client.force_login(navigator)

    response = client.post(_url("measurement-add", patient), _measurement_post(), headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith("<section")
    assert 'id="measurements"' in body
    assert "Measurement recorded: 68.4 kg, 167.0 cm." in body
    assert "<html" not in body
    assert BodyMeasurement.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weight_kg", "19.9", "Weight must be between 20 and 350 kg."),
        ("weight_kg", "350.1", "Weight must be between 20 and 350 kg."),
        ("height_cm", "99.9", "Height must be between 100 and 250 cm."),
        ("height_cm", "250.1", "Height must be between 100 and 250 cm."),
        ("weight_kg", "68.45", "Weight takes at most 1 decimal place(s) in kg."),
        ("weight_kg", "abc", "Weight must be a number in kg."),
        ("weight_kg", "", "Weight is required (in kg)."),
        ("measured_on", "1960-01-01", "Measurement date cannot be before the date of birth"),
    ],
)
def test_refused_measurement_rerenders_the_record_with_the_message(
    client, navigator, patient, field, value, message
):
    client.force_login(navigator)

    response = client.post(
        _url("measurement-add", patient), _measurement_post(**{f"measurement-{field}": value})
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert message in body
    assert "Lindqvist, Theodora" in body  # the whole record, with the form open
    assert BodyMeasurement.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(("weight", "height"), [("20", "100"), ("350", "250")])
def test_measurement_at_the_band_edges_is_accepted_through_the_form(
    client, navigator, patient, weight, height
):
    client.force_login(navigator)

    response = client.post(
        _url("measurement-add", patient),
        _measurement_post(**{"measurement-weight_kg": weight, "measurement-height_cm": height}),
    )

    assert response.status_code == 302
    assert BodyMeasurement.objects.get().weight_kg == Decimal(weight)


def test_refused_measurement_from_htmx_returns_the_card_with_the_message(
    client, navigator, patient
):
    client.force_login(navigator)

    response = client.post(
        _url("measurement-add", patient),
        _measurement_post(**{"measurement-weight_kg": "700"}),
        headers=HTMX,
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Weight must be between 20 and 350 kg." in body
    assert '<details class="card-form" open>' in body
    assert "<html" not in body
    assert BodyMeasurement.objects.count() == 0


def test_measurement_in_the_future_is_refused_through_the_form(client, navigator, patient, today):
    client.force_login(navigator)
    tomorrow = (today + dt.timedelta(days=1)).isoformat()

    response = client.post(
        _url("measurement-add", patient), _measurement_post(**{"measurement-measured_on": tomorrow})
    )

    assert f"Measurement date cannot be in the future (today is {today:%Y-%m-%d})." in (
        response.content.decode()
    )
    assert BodyMeasurement.objects.count() == 0


def test_social_worker_may_not_record_a_measurement(client, center, patient):
    client.force_login(UserFactory(role="social_worker", organization=center))

    response = client.post(_url("measurement-add", patient), _measurement_post())

    assert response.status_code == 403
    assert BodyMeasurement.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_nurse_records_a_measurement(client, center, patient):
    nurse = UserFactory(role="nurse", organization=center)
    client.force_login(nurse)

    response = client.post(_url("measurement-add", patient), _measurement_post())

    assert response.status_code == 302
    assert BodyMeasurement.objects.get().recorded_by == nurse


def test_write_endpoints_refuse_get(client, navigator, patient):
    client.force_login(navigator)

    response = client.get(_url("measurement-add", patient))

    assert response.status_code == 405


# ---------- contacts and prior therapy ----------


def test_contact_post_adds_the_contact(client, navigator, patient):
    client.force_login(navigator)

    response = client.post(
        _url("contact-add", patient),
        {
            "contact-name": "Johan Lindqvist",
            "contact-relationship": "spouse",
            "contact-phone": "+1 555 0143",
            "contact-is_caregiver": "on",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == _detail(patient) + "#contacts"
    contact = Contact.objects.get()
    assert (contact.name, contact.is_caregiver) == ("Johan Lindqvist", True)
    assert AuditEvent.objects.get().action == "patient.contact.add"


def test_contact_from_htmx_returns_the_card_with_the_new_contact(client, navigator, patient):
    client.force_login(navigator)

    response = client.post(
        _url("contact-add", patient),
        {"contact-name": "Ines", "contact-relationship": "child", "contact-phone": "555"},
        headers=HTMX,
    )

    body = response.content.decode()
    assert 'id="contacts"' in body
    assert "Ines added." in body
    assert "<html" not in body


def test_nurse_may_not_add_a_contact(client, center, patient):
    client.force_login(UserFactory(role="nurse", organization=center))

    response = client.post(
        _url("contact-add", patient),
        {"contact-name": "Johan", "contact-relationship": "spouse", "contact-phone": "555"},
    )

    assert response.status_code == 403
    assert Contact.objects.count() == 0


def test_prior_therapy_post_adds_it(client, navigator, patient):
    client.force_login(navigator)

    response = client.post(
        _url("prior-therapy-add", patient),
        {
            "therapy-therapy_class": "anti_pd1",
            "therapy-agent": "nivolumab",
            "therapy-started_on": "2024-03-01",
            "therapy-ended_on": "2024-09-01",
        },
    )

    assert response.status_code == 302
    assert PriorTherapy.objects.get().agent == "nivolumab"
    assert AuditEvent.objects.get().action == "patient.prior_therapy.add"


# ---------- consents ----------


def test_consent_post_records_it(client, navigator, patient):
    client.force_login(navigator)

    response = client.post(
        _url("consent-add", patient),
        {
            "consent-kind": "til_therapy",
            "consent-form_version": "3.2",
            "consent-signed_on": "2025-02-10",
        },
    )

    assert response.status_code == 302
    consent = Consent.objects.get()
    assert (consent.kind, consent.obtained_by) == ("til_therapy", navigator)
    assert AuditEvent.objects.get().action == "patient.consent.record"


def test_withdraw_consent_records_the_date(client, navigator, patient):
    consent = ConsentFactory(patient=patient, signed_on=dt.date(2025, 2, 10))
    client.force_login(navigator)

    response = client.post(
        _url("consent-withdraw", patient, consent_id=consent.public_id),
        {"withdraw-withdrawn_on": "2025-03-01", "withdraw-reason": "Patient request"},
    )

    assert response.status_code == 302
    assert Consent.objects.get().withdrawn_on == dt.date(2025, 3, 1)
    event = AuditEvent.objects.get()
    assert (event.action, event.reason) == ("patient.consent.withdraw", "Patient request")


def test_withdraw_from_htmx_returns_the_card_showing_withdrawn(client, navigator, patient):
    consent = ConsentFactory(patient=patient, signed_on=dt.date(2025, 2, 10))
    client.force_login(navigator)

    response = client.post(
        _url("consent-withdraw", patient, consent_id=consent.public_id),
        {"withdraw-withdrawn_on": "2025-03-01", "withdraw-reason": "Patient request"},
        headers=HTMX,
    )

    body = response.content.decode()
    assert 'id="consents"' in body
    assert "Withdrawn 1 Mar 2025" in body
    assert "<html" not in body


def test_withdraw_without_reason_is_refused_on_its_row(client, navigator, patient):
    consent = ConsentFactory(patient=patient, signed_on=dt.date(2025, 2, 10))
    client.force_login(navigator)

    response = client.post(
        _url("consent-withdraw", patient, consent_id=consent.public_id),
        {"withdraw-withdrawn_on": "2025-03-01", "withdraw-reason": ""},
    )

    assert response.status_code == 200
    assert "Reason for withdrawal is required." in response.content.decode()
    assert Consent.objects.get().withdrawn_on is None
    assert AuditEvent.objects.count() == 0


def test_withdraw_before_signing_is_refused(client, navigator, patient):
    consent = ConsentFactory(patient=patient, signed_on=dt.date(2025, 2, 10))
    client.force_login(navigator)

    response = client.post(
        _url("consent-withdraw", patient, consent_id=consent.public_id),
        {"withdraw-withdrawn_on": "2025-02-01", "withdraw-reason": "x"},
    )

    assert "Date withdrawn cannot be before the date signed (2025-02-10)." in (
        response.content.decode()
    )
    assert Consent.objects.get().withdrawn_on is None


def test_second_withdrawal_is_refused_and_keeps_the_first_date(client, navigator, patient):
    consent = ConsentFactory(
        patient=patient, signed_on=dt.date(2025, 2, 10), withdrawn_on=dt.date(2025, 3, 1)
    )
    client.force_login(navigator)

    response = client.post(
        _url("consent-withdraw", patient, consent_id=consent.public_id),
        {"withdraw-withdrawn_on": "2025-03-05", "withdraw-reason": "again"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert "was already withdrawn on 2025-03-01; nothing was changed." in (
        response.content.decode()
    )
    assert Consent.objects.get().withdrawn_on == dt.date(2025, 3, 1)
    assert AuditEvent.objects.count() == 0


def test_withdrawing_another_patients_consent_through_this_url_is_404(
    client, navigator, patient, center
):
    other_consent = ConsentFactory(patient=PatientFactory(center=center))
    client.force_login(navigator)

    response = client.post(
        _url("consent-withdraw", patient, consent_id=other_consent.public_id),
        {"withdraw-withdrawn_on": "2025-03-01", "withdraw-reason": "x"},
    )

    assert response.status_code == 404
    assert Consent.objects.get().withdrawn_on is None


def test_nurse_may_not_record_consent(client, center, patient):
    client.force_login(UserFactory(role="nurse", organization=center))

    response = client.post(
        _url("consent-add", patient),
        {
            "consent-kind": "til_therapy",
            "consent-form_version": "3.2",
            "consent-signed_on": "2025-02-10",
        },
    )

    assert response.status_code == 403
    assert Consent.objects.count() == 0


# ---------- refused card forms ----------


@pytest.mark.parametrize(
    ("name", "data", "message", "model"),
    [
        pytest.param(
            "contact-add",
            {"contact-name": "Johan", "contact-relationship": "spouse", "contact-phone": ""},
            "Phone is required.",
            Contact,
            id="contact without phone",
        ),
        pytest.param(
            "prior-therapy-add",
            {
                "therapy-therapy_class": "anti_pd1",
                "therapy-started_on": "2024-09-01",
                "therapy-ended_on": "2024-03-01",
            },
            "End date cannot be before the start date.",
            PriorTherapy,
            id="prior therapy ending before start",
        ),
        pytest.param(
            "consent-add",
            {
                "consent-kind": "til_therapy",
                "consent-form_version": "3.2",
                "consent-signed_on": "1960-01-01",
            },
            "Date signed cannot be before the date of birth (1968-04-12).",
            Consent,
            id="consent signed before birth",
        ),
    ],
)
def test_refused_card_form_rerenders_with_the_message(
    client, navigator, patient, name, data, message, model
):
    client.force_login(navigator)

    response = client.post(_url(name, patient), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert model.objects.count() == 0
