from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "tilcare.patients"
    label = "patients"
    verbose_name = "Patients"
