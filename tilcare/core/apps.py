from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tilcare.core"
    label = "core"
    verbose_name = "Core"
