from django.apps import AppConfig


class RgpdConfig(AppConfig):
    name = "clausier.rgpd"
    label = "rgpd"
    verbose_name = "Données personnelles (RGPD), sauvegarde et restauration"
