from django.apps import AppConfig


class ManufacturingConfig(AppConfig):
    name = "tilcare.manufacturing"
    label = "manufacturing"
    verbose_name = "Manufacturing"
