from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "clausier.accounts"
    label = "accounts"
    verbose_name = "Comptes et sécurité"

    def ready(self):
        from clausier.accounts import signals  # noqa: F401 — connects the login receivers
