from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "tilcare.audit"
    label = "audit"
    verbose_name = "Audit trail and signatures"

    def ready(self) -> None:
        # Deploy checks: the application's database role cannot step around the triggers.
        from tilcare.audit import checks  # noqa: F401
        from tilcare.audit.regulated import watch_regulated_rows

        # Each audit event vouches for the regulated rows its transaction saved (regulated.py).
        watch_regulated_rows()
