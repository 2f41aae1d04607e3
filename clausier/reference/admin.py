"""Reference tables in the admin: read-only, the versioned files being the source (`load_reference`)."""

from django.contrib import admin

from clausier.reference import models


class ReferenceAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "order", "is_active", "version"]
    list_filter = ["is_active", "version"]
    search_fields = ["code", "label"]
    ordering = ["order", "label"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.OrganizationCategory)
class OrganizationCategoryAdmin(ReferenceAdmin):
    list_display = ["code", "label", "kind", "order", "is_active", "version"]
    list_filter = ["kind", *ReferenceAdmin.list_filter]


@admin.register(models.LegalBasis)
class LegalBasisAdmin(ReferenceAdmin):
    list_display = [
        "code",
        "article",
        "code_version",
        "lever",
        "in_force_from",
        "in_force_until",
        "replaced_by",
        "is_active",
    ]
    list_filter = ["code_version", "lever", *ReferenceAdmin.list_filter]
    search_fields = ["code", "label", "article", "lever"]
    list_select_related = ["replaced_by"]


@admin.register(models.Modality)
class ModalityAdmin(ReferenceAdmin):
    pass


@admin.register(models.ContractType)
class ContractTypeAdmin(ReferenceAdmin):
    list_display = ["code", "label", "is_durable", "order", "is_active", "version"]


@admin.register(models.QualificationLevel)
class QualificationLevelAdmin(ReferenceAdmin):
    list_display = ["code", "label", "band", "order", "is_active", "version"]


@admin.register(models.OutcomeCategory)
class OutcomeCategoryAdmin(ReferenceAdmin):
    list_display = ["code", "label", "group", "order", "is_active", "version"]
    list_filter = ["group", *ReferenceAdmin.list_filter]


@admin.register(models.EligibilityCriterion)
class EligibilityCriterionAdmin(ReferenceAdmin):
    list_display = ["code", "label", "category", "is_sensitive", "requires_reason", "is_active", "version"]
    list_filter = ["category", "is_sensitive", *ReferenceAdmin.list_filter]


@admin.register(models.LotFamily)
class LotFamilyAdmin(ReferenceAdmin):
    list_display = ["code", "label", "default_labour_share", "order", "is_active", "version"]
