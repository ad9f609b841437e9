from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "tilcare.audit"
    label = "audit"
    verbose_name = "Audit trail and signatures"
