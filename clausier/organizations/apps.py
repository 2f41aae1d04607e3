from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "clausier.organizations"
    label = "organizations"
