from django.apps import AppConfig


class CalculatorsConfig(AppConfig):
    name = "tilcare.calculators"
    label = "calculators"
    verbose_name = "Calculators"
