from django.apps import AppConfig


class EmploymentConfig(AppConfig):
    name = "clausier.employment"
    label = "employment"
