from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "clausier.organizations"
    label = "organizations"

    def ready(self):
        # `Model.objects.visible_to(user)` goes through the access gate, which imports the models it filters.
        from clausier.organizations import access
        from clausier.utils.models import gate

        gate.install(rows=access.scope, organizations=access.organizations_visible_to)
