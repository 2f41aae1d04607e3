from django.apps import AppConfig


class PublicsiteConfig(AppConfig):
    name = "clausier.publicsite"
    verbose_name = "Site public"

    def ready(self):
        from clausier.publicsite import signals

        signals.connect()
