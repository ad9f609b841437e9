from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tilcare.accounts"
    label = "accounts"
    verbose_name = "Organizations and people"
