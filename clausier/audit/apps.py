from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "clausier.audit"
    label = "audit"
    verbose_name = "Journal d'audit"
