from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "tilcare.portal"
    label = "portal"
    verbose_name = "Patient portal"
