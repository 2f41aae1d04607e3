from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "clausier.geo"
    label = "geo"
