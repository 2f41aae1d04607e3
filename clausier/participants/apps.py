from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "clausier.participants"
    label = "participants"
