from django.apps import AppConfig


class ProcurementConfig(AppConfig):
    name = "clausier.procurement"
    label = "procurement"
