from django.apps import AppConfig


class WwwConfig(AppConfig):
    name = "clausier.www"
    label = "www"
