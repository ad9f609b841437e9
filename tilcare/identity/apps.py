from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "tilcare.identity"
    label = "identity"
    verbose_name = "Chain of identity and custody"
