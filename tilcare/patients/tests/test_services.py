"""Writes to a patient record: one audit event per success, nothing left by a refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tilcare.audit.models import AuditEvent
from tilcare.audit.selectors import verify_chain
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.patients import services
from tilcare.patients.models import BodyMeasurement, Consent, Contact, Patient, PriorTherapy
from tilcare.patients.tests.factories import (
    CenterFactory,
    ConsentFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MEASURED_ON = dt.date(2025, 2, 10)


@pytest.fixture
def patient(center):
    return PatientFactory(center=center, mrn="MRN004512", family_name="Lindqvist")


def _data(**overrides):
    data = {
        "mrn": "MRN100200",
        "given_name": "Ada",
        "family_name": "Okafor",
        "date_of_birth": dt.date(1971, 9, 30),
        "sex": "female",
        "cancer_type": "melanoma_cutaneous",
        "disease_stage": "IV_M1c",
        "diagnosed_on": dt.date(2023, 5, 2),
    }
    data.update(overrides)
    return data


def _years_before(day: dt.date, years: int) -> dt.date:
    # 29 February has no counterpart in most years; the day before keeps the age exact.
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# ---------- create_patient ----------


def test_create_patient_stores_the_record_and_one_audit_event(center, navigator):
    # Given a navigator at the center
    # When they register a patient
    patient = services.create_patient(actor=navigator, center=center, data=_data())

    # Then the patient exists at the center and one "patient.create" event names them
    stored = Patient.objects.get()
    assert stored.pk == patient.pk
    assert (stored.center_id, stored.mrn, stored.family_name) == (center.pk, "MRN100200", "Okafor")
    event = AuditEvent.objects.get()
    assert event.action == "patient.create"
    assert event.actor_id == navigator.pk
    assert event.subject_id == str(patient.public_id)
    assert event.after["mrn"] == "MRN100200"
    assert event.before is None


def test_create_patient_strips_spaces_around_the_mrn(center, navigator):
    patient = services.create_patient(actor=navigator, center=center, data=_data(mrn="  MRN7  "))

    assert Patient.objects.get(pk=patient.pk).mrn == "MRN7"


def test_duplicate_mrn_at_the_same_center_is_refused_with_a_message(center, navigator, patient):
    # Given a patient with MRN004512 at the center
    # When another patient is registered with the same MRN
    with pytest.raises(InvalidInput) as refused:
        services.create_patient(actor=navigator, center=center, data=_data(mrn="MRN004512"))

    # Then it is refused on the MRN field and nothing is written
    assert refused.value.errors == {
        "mrn": [
            "Medical record number MRN004512 is already used by another patient at this center."
        ]
    }
    assert Patient.objects.count() == 1
    assert AuditEvent.objects.count() == 0


def test_same_mrn_at_another_center_is_accepted(navigator, patient):
    # Given MRN004512 used at another center
    other_center = CenterFactory()
    other_navigator = UserFactory(role="navigator", organization=other_center)

    # When a patient with the same MRN is registered at the other center
    services.create_patient(actor=other_navigator, center=other_center, data=_data(mrn="MRN004512"))

    # Then both exist: MRNs are unique per center, not across the network
    assert Patient.objects.filter(mrn="MRN004512").count() == 2


def test_date_of_birth_in_the_future_is_refused(center, navigator, today):
    tomorrow = today + dt.timedelta(days=1)

    with pytest.raises(InvalidInput) as refused:
        services.create_patient(
            actor=navigator,
            center=center,
            data=_data(date_of_birth=tomorrow, diagnosed_on=None),
        )

    assert refused.value.errors == {
        "date_of_birth": [f"Date of birth cannot be in the future (today is {today:%Y-%m-%d})."]
    }
    assert Patient.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_age_over_120_is_refused(center, navigator, today):
    # Given a date of birth one day more than 121 years ago (age 121)
    born = _years_before(today, 121)

    with pytest.raises(InvalidInput) as refused:
        services.create_patient(
            actor=navigator, center=center, data=_data(date_of_birth=born, diagnosed_on=None)
        )

    assert refused.value.errors == {
        "date_of_birth": ["Date of birth gives an age over 120 years; check the year."]
    }
    assert Patient.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_age_of_exactly_120_is_accepted(center, navigator, today):
    born = _years_before(today, 120)

    services.create_patient(
        actor=navigator, center=center, data=_data(date_of_birth=born, diagnosed_on=None)
    )

    assert Patient.objects.get().date_of_birth == born
    assert AuditEvent.objects.count() == 1


def test_diagnosis_before_birth_is_refused(center, navigator):
    with pytest.raises(InvalidInput) as refused:
        services.create_patient(
            actor=navigator,
            center=center,
            data=_data(date_of_birth=dt.date(1971, 9, 30), diagnosed_on=dt.date(1970, 1, 1)),
        )

    assert refused.value.errors == {
        "diagnosed_on": ["Date of diagnosis cannot be before the date of birth (1971-09-30)."]
    }
    assert Patient.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_missing_required_fields_are_each_named(center, navigator):
    with pytest.raises(InvalidInput) as refused:
        services.create_patient(
            actor=navigator, center=center, data=_data(given_name="", family_name="  ")
        )

    assert refused.value.errors == {
        "given_name": ["Given name is required."],
        "family_name": ["Family name is required."],
    }
    assert Patient.objects.count() == 0


def test_nurse_may_not_register_a_patient(center):
    # Given a nurse (records measurements, does not register patients)
    nurse = UserFactory(role="nurse", organization=center)

    with pytest.raises(PermissionDenied):
        services.create_patient(actor=nurse, center=center, data=_data())

    assert Patient.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_navigator_may_not_register_at_another_center(navigator):
    other_center = CenterFactory()

    with pytest.raises(PermissionDenied):
        services.create_patient(actor=navigator, center=other_center, data=_data())

    assert Patient.objects.count() == 0
    assert AuditEvent.objects.count() == 0


# ---------- update_patient ----------


def test_update_records_before_after_and_reason(navigator, patient):
    services.update_patient(
        patient,
        actor=navigator,
        changes={"date_of_birth": dt.date(1968, 4, 21)},
        reason="Corrected from referral letter",
    )

    patient.refresh_from_db()
    assert patient.date_of_birth == dt.date(1968, 4, 21)
    event = AuditEvent.objects.get()
    assert event.action == "patient.update"
    assert event.before == {"date_of_birth": "1968-04-12"}
    assert event.after == {"date_of_birth": "1968-04-21"}
    assert event.reason == "Corrected from referral letter"


def test_update_without_a_reason_is_refused(navigator, patient):
    with pytest.raises(InvalidInput) as refused:
        services.update_patient(
            patient, actor=navigator, changes={"given_name": "Marie"}, reason="  "
        )

    assert refused.value.errors == {"reason": ["Reason for change is required."]}
    assert Patient.objects.get(pk=patient.pk).given_name == "Maria"
    assert AuditEvent.objects.count() == 0


def test_update_to_an_mrn_used_by_another_patient_is_refused(center, navigator, patient):
    other = PatientFactory(center=center, mrn="MRN009999")

    with pytest.raises(InvalidInput) as refused:
        services.update_patient(other, actor=navigator, changes={"mrn": "MRN004512"}, reason="x")

    assert list(refused.value.errors) == ["mrn"]
    assert Patient.objects.get(pk=other.pk).mrn == "MRN009999"
    assert AuditEvent.objects.count() == 0


def test_update_with_no_actual_change_writes_no_event(navigator, patient):
    services.update_patient(patient, actor=navigator, changes={"given_name": "Maria"}, reason="x")

    assert AuditEvent.objects.count() == 0


def test_nurse_may_not_change_identity(center, patient):
    nurse = UserFactory(role="nurse", organization=center)

    with pytest.raises(PermissionDenied):
        services.update_patient(patient, actor=nurse, changes={"given_name": "X"}, reason="x")

    assert Patient.objects.get(pk=patient.pk).given_name == "Maria"
    assert AuditEvent.objects.count() == 0


# ---------- record_measurement ----------


def _measure(patient, actor, weight, height, measured_on=MEASURED_ON):
    return services.record_measurement(
        patient, actor=actor, measured_on=measured_on, weight_kg=weight, height_cm=height
    )


@pytest.mark.parametrize("weight", ["20", "20.0", "350", "350.0", Decimal("68.4")])
def test_weight_inside_the_band_is_recorded_with_one_audit_event(navigator, patient, weight):
    measurement = _measure(patient, navigator, weight, "167.0")

    assert BodyMeasurement.objects.get().weight_kg == Decimal(str(weight))
    event = AuditEvent.objects.get()
    assert event.action == "patient.measurement.record"
    assert event.object_id == str(measurement.public_id)
    assert event.subject_id == str(patient.public_id)


@pytest.mark.parametrize("weight", ["19.9", "350.1", "0", "-70", "700"])
def test_weight_outside_20_to_350_kg_is_refused_and_nothing_written(navigator, patient, weight):
    with pytest.raises(InvalidInput) as refused:
        _measure(patient, navigator, weight, "167.0")

    assert refused.value.errors == {"weight_kg": ["Weight must be between 20 and 350 kg."]}
    assert BodyMeasurement.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("height", ["100", "250", "100.0", "250.0"])
def test_height_at_the_band_edges_is_recorded(navigator, patient, height):
    _measure(patient, navigator, "68.4", height)

    assert BodyMeasurement.objects.get().height_cm == Decimal(height)
    assert AuditEvent.objects.count() == 1


@pytest.mark.parametrize("height", ["99.9", "250.1", "17", "1.67"])
def test_height_outside_100_to_250_cm_is_refused_and_nothing_written(navigator, patient, height):
    with pytest.raises(InvalidInput) as refused:
        _measure(patient, navigator, "68.4", height)

    assert refused.value.errors == {"height_cm": ["Height must be between 100 and 250 cm."]}
    assert BodyMeasurement.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("weight", "height", "errors"),
    [
        pytest.param(
            "68.45",
            "167.25",
            {
                "weight_kg": ["Weight takes at most 1 decimal place(s) in kg."],
                "height_cm": ["Height takes at most 1 decimal place(s) in cm."],
            },
            id="two decimal places",
        ),
        # A weight that arrived as a binary float (digits already lost)
        pytest.param(
            68.4,
            "167.0",
            {"weight_kg": ["Weight must be sent as an exact decimal number in kg, not a float."]},
            id="a float weight",
        ),
    ],
)
def test_a_measurement_not_written_as_exact_decimals_is_refused(
    navigator, patient, weight, height, errors
):
    with pytest.raises(InvalidInput) as refused:
        _measure(patient, navigator, weight, height)

    assert refused.value.errors == errors
    assert BodyMeasurement.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_a_float_height_is_refused(navigator, patient):
    with pytest.raises(InvalidInput) as refused:
        _measure(patient, navigator, "68.4", 167.0)

    assert refused.value.errors == {
        "height_cm": ["Height must be sent as an exact decimal number in cm, not a float."]
    }
    assert BodyMeasurement.objects.count() == 0


@pytest.mark.parametrize("weight", ["", None, "seventy", "NaN", "Infinity"])
def test_missing_or_non_numeric_weight_is_refused(navigator, patient, weight):
    with pytest.raises(InvalidInput) as refused:
        _measure(patient, navigator, weight, "167.0")

    assert list(refused.value.errors) == ["weight_kg"]
    assert BodyMeasurement.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_measurement_before_birth_is_refused(navigator, patient):
    with pytest.raises(InvalidInput) as refused:
        _measure(patient, navigator, "68.4", "167.0", measured_on=dt.date(1960, 1, 1))

    assert refused.value.errors == {
        "measured_on": ["Measurement date cannot be before the date of birth (1968-04-12)."]
    }
    assert BodyMeasurement.objects.count() == 0


def test_measurement_in_the_future_is_refused(navigator, patient, today):
    with pytest.raises(InvalidInput) as refused:
        _measure(patient, navigator, "68.4", "167.0", measured_on=today + dt.timedelta(days=1))

    assert refused.value.errors == {
        "measured_on": [f"Measurement date cannot be in the future (today is {today:%Y-%m-%d})."]
    }
    assert BodyMeasurement.objects.count() == 0


def test_social_worker_may_not_record_a_measurement(center, patient):
    social_worker = UserFactory(role="social_worker", organization=center)

    with pytest.raises(PermissionDenied):
        _measure(patient, social_worker, "68.4", "167.0")

    assert BodyMeasurement.objects.count() == 0
    assert AuditEvent.objects.count() == 0


# ---------- contacts and prior therapy ----------


def test_add_contact_stores_it_with_one_audit_event(navigator, patient):
    services.add_contact(
        patient,
        actor=navigator,
        data={"name": "Johan", "relationship": "spouse", "phone": "+1 555 0143"},
    )

    assert Contact.objects.get().name == "Johan"
    assert AuditEvent.objects.get().action == "patient.contact.add"


def test_contact_without_phone_is_refused(navigator, patient):
    with pytest.raises(InvalidInput) as refused:
        services.add_contact(
            patient, actor=navigator, data={"name": "Johan", "relationship": "spouse", "phone": ""}
        )

    assert refused.value.errors == {"phone": ["Phone is required."]}
    assert Contact.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_add_prior_therapy_stores_it_with_one_audit_event(navigator, patient):
    services.add_prior_therapy(
        patient,
        actor=navigator,
        data={
            "therapy_class": "anti_pd1",
            "agent": "nivolumab",
            "started_on": dt.date(2024, 3, 1),
            "ended_on": dt.date(2024, 9, 1),
        },
    )

    assert PriorTherapy.objects.get().agent == "nivolumab"
    assert AuditEvent.objects.get().action == "patient.prior_therapy.add"


def test_prior_therapy_ending_before_it_started_is_refused(navigator, patient):
    with pytest.raises(InvalidInput) as refused:
        services.add_prior_therapy(
            patient,
            actor=navigator,
            data={
                "therapy_class": "anti_pd1",
                "started_on": dt.date(2024, 9, 1),
                "ended_on": dt.date(2024, 3, 1),
            },
        )

    assert refused.value.errors == {"ended_on": ["End date cannot be before the start date."]}
    assert PriorTherapy.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_prior_therapy_before_birth_is_refused(navigator, patient):
    with pytest.raises(InvalidInput) as refused:
        services.add_prior_therapy(
            patient,
            actor=navigator,
            data={"therapy_class": "surgery", "started_on": dt.date(1950, 1, 1)},
        )

    assert refused.value.errors == {
        "started_on": ["Start date cannot be before the date of birth (1968-04-12)."]
    }
    assert PriorTherapy.objects.count() == 0


# ---------- consents ----------


def test_record_consent_stores_it_with_one_audit_event(navigator, patient):
    consent = services.record_consent(
        patient,
        actor=navigator,
        kind="til_therapy",
        form_version=" 3.2 ",
        signed_on=dt.date(2025, 2, 10),
    )

    stored = Consent.objects.get()
    assert (stored.form_version, stored.obtained_by_id, stored.is_active) == (
        "3.2",
        navigator.pk,
        True,
    )
    event = AuditEvent.objects.get()
    assert event.action == "patient.consent.record"
    assert event.object_id == str(consent.public_id)


def test_consent_signed_before_birth_is_refused(navigator, patient):
    with pytest.raises(InvalidInput) as refused:
        services.record_consent(
            patient,
            actor=navigator,
            kind="til_therapy",
            form_version="3.2",
            signed_on=dt.date(1960, 1, 1),
        )

    assert refused.value.errors == {
        "signed_on": ["Date signed cannot be before the date of birth (1968-04-12)."]
    }
    assert Consent.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_unknown_consent_kind_and_blank_version_are_refused(navigator, patient):
    with pytest.raises(InvalidInput) as refused:
        services.record_consent(
            patient, actor=navigator, kind="marketing", form_version="", signed_on=MEASURED_ON
        )

    assert sorted(refused.value.errors) == ["form_version", "kind"]
    assert Consent.objects.count() == 0


def test_withdraw_consent_keeps_the_row_and_records_the_reason(navigator, patient):
    consent = ConsentFactory(patient=patient, signed_on=dt.date(2025, 2, 10))

    services.withdraw_consent(
        consent, actor=navigator, withdrawn_on=dt.date(2025, 3, 1), reason="Patient request"
    )

    stored = Consent.objects.get()
    assert stored.withdrawn_on == dt.date(2025, 3, 1)
    assert stored.is_active is False
    event = AuditEvent.objects.get()
    assert event.action == "patient.consent.withdraw"
    assert event.reason == "Patient request"
    assert event.before["withdrawn_on"] is None
    assert event.after["withdrawn_on"] == "2025-03-01"


def test_withdrawal_before_signing_is_refused(navigator, patient):
    consent = ConsentFactory(patient=patient, signed_on=dt.date(2025, 2, 10))

    with pytest.raises(InvalidInput) as refused:
        services.withdraw_consent(
            consent, actor=navigator, withdrawn_on=dt.date(2025, 2, 9), reason="x"
        )

    assert refused.value.errors == {
        "withdrawn_on": ["Withdrawal cannot be before the date signed (2025-02-10)."]
    }
    assert Consent.objects.get().withdrawn_on is None
    assert AuditEvent.objects.count() == 0


def test_withdrawal_in_the_future_is_refused(navigator, patient, today):
    consent = ConsentFactory(patient=patient, signed_on=dt.date(2025, 2, 10))

    with pytest.raises(InvalidInput) as refused:
        services.withdraw_consent(
            consent, actor=navigator, withdrawn_on=today + dt.timedelta(days=1), reason="x"
        )

    assert refused.value.errors == {
        "withdrawn_on": [f"Withdrawal date cannot be in the future (today is {today})."]
    }
    assert Consent.objects.get().withdrawn_on is None
    assert AuditEvent.objects.count() == 0


def test_a_second_withdrawal_is_refused_and_keeps_the_first_date(navigator, patient):
    consent = ConsentFactory(
        patient=patient, signed_on=dt.date(2025, 2, 10), withdrawn_on=dt.date(2025, 3, 1)
    )

    with pytest.raises(InvalidInput) as refused:
        services.withdraw_consent(
            consent, actor=navigator, withdrawn_on=dt.date(2025, 3, 5), reason="again"
        )

    assert refused.value.errors == {
        "withdrawn_on": ["This consent was already withdrawn on 2025-03-01."]
    }
    assert Consent.objects.get().withdrawn_on == dt.date(2025, 3, 1)
    assert AuditEvent.objects.count() == 0


def test_withdrawal_without_a_reason_is_refused(navigator, patient):
    consent = ConsentFactory(patient=patient, signed_on=dt.date(2025, 2, 10))

    with pytest.raises(InvalidInput) as refused:
        services.withdraw_consent(
            consent, actor=navigator, withdrawn_on=dt.date(2025, 3, 1), reason=" "
        )

    assert refused.value.errors == {"reason": ["Say why the consent was withdrawn."]}
    assert Consent.objects.get().withdrawn_on is None


def test_nurse_may_not_record_consent(center, patient):
    nurse = UserFactory(role="nurse", organization=center)

    with pytest.raises(PermissionDenied):
        services.record_consent(
            patient, actor=nurse, kind="til_therapy", form_version="3.2", signed_on=MEASURED_ON
        )

    assert Consent.objects.count() == 0
    assert AuditEvent.objects.count() == 0


# ---------- the audit chain ----------


def test_a_sequence_of_writes_leaves_an_intact_chain_with_one_event_each(navigator, patient):
    # Given four different writes to one patient
    services.add_contact(
        patient, actor=navigator, data={"name": "J", "relationship": "spouse", "phone": "1"}
    )
    _measure(patient, navigator, "68.4", "167.0")
    consent = services.record_consent(
        patient, actor=navigator, kind="til_therapy", form_version="3.2", signed_on=MEASURED_ON
    )
    services.withdraw_consent(
        consent, actor=navigator, withdrawn_on=dt.date(2025, 3, 1), reason="Patient request"
    )

    # Then there is one event per write, in order, all for this patient, and the chain verifies
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == [
        "patient.contact.add",
        "patient.measurement.record",
        "patient.consent.record",
        "patient.consent.withdraw",
    ]
    assert set(AuditEvent.objects.values_list("subject_id", flat=True)) == {str(patient.public_id)}
    assert verify_chain().ok is True
