from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Invented demo data, built through every domain's services as their users would."""

    name = "tilcare.demo"
    label = "demo"
    verbose_name = "Demo data"
