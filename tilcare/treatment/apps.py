from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    name = "tilcare.treatment"
    label = "treatment"
    verbose_name = "Treatment"
