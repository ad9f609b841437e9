"""Factories with fixed defaults, shared by every domain's tests.

Records that services would audit are made here directly (no audit event): tests that check
audit behaviour create their records through the services instead.

Defaults:
- OrganizationFactory / CenterFactory: a treatment center, ISBT 128 FIN "W1234",
  time zone "America/New_York", phone "+1 555 0100", 24-hour phone "+1 555 0199".
- FacilityFactory: a manufacturing facility, same FIN and time zone (fixed, not random).
- UserFactory(role=...): navigator by default; a facility role (manufacturing_tech, qa_reviewer)
  gets a new facility, any other role a new center, unless `organization=` is given.
  Password is TEST_PASSWORD; log in with `client.force_login(user)` (django-axes needs a request
  for `client.login`).
- PatientFactory: Maria Lindqvist<n>, born 1968-04-12, female, MRN "MRN<n:06d>", cutaneous
  melanoma stage IV M1b, BRAF wild-type, diagnosed 2024-02-03, at a new center.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from tilcare.accounts.choices import OrganizationKind, Role
from tilcare.accounts.models import Organization, User
from tilcare.patients.models import BodyMeasurement, Consent, Contact, Patient, PriorTherapy

TEST_PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Test Cancer Center {n}")
    kind = OrganizationKind.CENTER
    isbt_fin = "W1234"
    time_zone = "America/New_York"
    phone = "+1 555 0100"
    after_hours_phone = "+1 555 0199"


class CenterFactory(OrganizationFactory):
    kind = OrganizationKind.CENTER


class FacilityFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"Test Cell Therapy Facility {n}")
    kind = OrganizationKind.FACILITY


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a role; facility roles get a facility, every other role a center."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    role = Role.NAVIGATOR
    credentials = ""
    organization = factory.LazyAttribute(
        lambda o: (
            FacilityFactory()
            if o.role in (Role.MANUFACTURING_TECH, Role.QA_REVIEWER)
            else CenterFactory()
        )
    )
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    center = factory.SubFactory(CenterFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    given_name = "Maria"
    family_name = factory.Sequence(lambda n: f"Lindqvist{n}")
    date_of_birth = dt.date(1968, 4, 12)
    sex = "female"
    phone = "+1 555 0142"
    cancer_type = "melanoma_cutaneous"
    disease_stage = "IV_M1b"
    braf_status = "wild_type"
    diagnosed_on = dt.date(2024, 2, 3)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    patient = factory.SubFactory(PatientFactory)
    name = "Johan Lindqvist"
    relationship = "spouse"
    phone = "+1 555 0143"
    is_caregiver = True


class PriorTherapyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriorTherapy

    patient = factory.SubFactory(PatientFactory)
    therapy_class = "anti_pd1"
    agent = "pembrolizumab"
    started_on = dt.date(2024, 3, 1)
    ended_on = dt.date(2025, 1, 15)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    patient = factory.SubFactory(PatientFactory)
    kind = "til_therapy"
    form_version = "3.2"
    signed_on = dt.date(2025, 2, 10)
    obtained_by = factory.LazyAttribute(
        lambda o: UserFactory(role=Role.NAVIGATOR, organization=o.patient.center)
    )
    withdrawn_on = None


class BodyMeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BodyMeasurement

    patient = factory.SubFactory(PatientFactory)
    measured_on = dt.date(2025, 2, 10)
    weight_kg = Decimal("68.4")
    height_cm = Decimal("167.0")
    recorded_by = factory.LazyAttribute(
        lambda o: UserFactory(role=Role.NURSE, organization=o.patient.center)
    )
