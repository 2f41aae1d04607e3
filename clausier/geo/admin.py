"""Communes and QPV in the admin: read-only, since they come from official files (`clausier geo …`)."""

from django.contrib import admin

from clausier.geo.models import Commune, Qpv


class ImportedDataAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Commune)
class CommuneAdmin(ImportedDataAdmin):
    list_display = ["insee_code", "name", "postal_codes", "department_code", "epci_name", "population"]
    list_filter = ["department_code"]
    search_fields = ["insee_code", "name", "postal_codes", "epci_name"]
    show_full_result_count = False


@admin.register(Qpv)
class QpvAdmin(ImportedDataAdmin):
    list_display = ["code", "name", "millesime", "commune_codes", "valid_from", "valid_until"]
    list_filter = ["millesime"]
    search_fields = ["code", "name", "commune_codes"]
    exclude = ["geometry"]
