from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "tilcare.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"
