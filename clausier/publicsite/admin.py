"""The public site in the admin: read only. Texts, documents and partners are written in the staff area
(`/equipe/site-public/`), where uploads are checked and every write is audited."""

from django.contrib import admin

from clausier.publicsite.models import FiguresVersion, Partner, PublicDocument, PublicProfile


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PublicProfile)
class PublicProfileAdmin(ReadOnlyAdmin):
    list_display = ["facilitator", "updated_at"]


@admin.register(PublicDocument)
class PublicDocumentAdmin(ReadOnlyAdmin):
    list_display = ["title", "audience", "is_model_clause", "original_name", "size", "facilitator"]
    list_filter = ["facilitator", "audience", "is_model_clause"]
    search_fields = ["title", "original_name"]


@admin.register(Partner)
class PartnerAdmin(ReadOnlyAdmin):
    list_display = ["name", "order", "url", "facilitator"]
    list_filter = ["facilitator"]


@admin.register(FiguresVersion)
class FiguresVersionAdmin(ReadOnlyAdmin):
    list_display = ["facilitator", "token", "changed_at"]
