from django.apps import AppConfig


class JourneyConfig(AppConfig):
    name = "tilcare.journey"
    label = "journey"
    verbose_name = "Patient journey"
