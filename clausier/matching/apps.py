from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "clausier.matching"
    label = "matching"
    verbose_name = "Mise en relation : candidatures, offres, propositions"
