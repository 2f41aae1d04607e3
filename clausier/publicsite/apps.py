from django.apps import AppConfig


class PublicsiteConfig(AppConfig):
    name = "clausier.publicsite"
    verbose_name = "Site public"
