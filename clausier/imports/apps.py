from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "clausier.imports"
    label = "imports"
    verbose_name = "imports de tableurs"
