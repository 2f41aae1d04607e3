from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "clausier.notifications"
    label = "notifications"
    verbose_name = "Notifications par e-mail"
