from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "clausier.reporting"
    label = "reporting"
