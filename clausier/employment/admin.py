from django.contrib import admin

from clausier.employment.models import Contract, HoursRecord


class HoursRecordInline(admin.TabularInline):
    model = HoursRecord
    extra = 0
    exclude = ["facilitator", "uuid"]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = [
        "participant",
        "employer",
        "company",
        "lot",
        "contract_type",
        "start_date",
        "end_date",
        "facilitator",
    ]
    list_filter = ["facilitator", "contract_type", "modality"]
    search_fields = ["participant__last_name", "participant__first_name", "employer__name", "company__name"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
    autocomplete_fields = ["facilitator", "participant", "lot", "company", "employer"]
    list_select_related = [
        "participant",
        "employer",
        "company",
        "lot__market",
        "contract_type",
        "facilitator",
    ]
    date_hierarchy = "start_date"


@admin.register(HoursRecord)
class HoursRecordAdmin(admin.ModelAdmin):
    list_display = ["contract", "month", "hours", "training_hours", "facilitator"]
    list_filter = ["facilitator"]
    search_fields = ["contract__participant__last_name"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
    autocomplete_fields = ["facilitator", "contract"]
    list_select_related = ["contract__participant", "contract__contract_type", "facilitator"]
    date_hierarchy = "month"
