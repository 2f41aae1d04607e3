from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    name = "clausier.reference"
    label = "reference"
