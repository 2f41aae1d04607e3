from django.contrib import admin

from clausier.procurement.models import Award, Clause, Lot, Market, Operation

TENANT_READONLY = ["uuid", "created_at", "updated_at"]


class TenantAdmin(admin.ModelAdmin):
    readonly_fields = TENANT_READONLY
    list_filter = ["facilitator"]


@admin.register(Operation)
class OperationAdmin(TenantAdmin):
    list_display = ["name", "buyer", "kind", "facilitator", "start_date", "end_date"]
    list_filter = ["facilitator", "kind"]
    search_fields = ["name", "buyer__name"]
    autocomplete_fields = ["facilitator", "buyer", "commune"]
    list_select_related = ["buyer", "facilitator"]


class LotInline(admin.TabularInline):
    model = Lot
    extra = 0
    fields = ["number", "title", "family", "amount_ht", "start_date", "end_date"]
    show_change_link = True


@admin.register(Market)
class MarketAdmin(TenantAdmin):
    list_display = ["reference", "title", "buyer", "facilitator", "notified_on", "amount_ht"]
    list_filter = ["facilitator", "family", "procedure"]
    search_fields = ["reference", "title", "buyer__name"]
    autocomplete_fields = ["facilitator", "buyer", "operation"]
    list_select_related = ["buyer", "facilitator"]
    date_hierarchy = "notified_on"
    inlines = [LotInline]


class AwardInline(admin.TabularInline):
    model = Award
    extra = 0
    autocomplete_fields = ["company"]
    exclude = ["facilitator"]


@admin.register(Lot)
class LotAdmin(TenantAdmin):
    list_display = ["__str__", "market", "family", "amount_ht", "facilitator"]
    search_fields = ["number", "title", "market__reference"]
    autocomplete_fields = ["facilitator", "market"]
    list_select_related = ["market", "family", "facilitator"]


@admin.register(Clause)
class ClauseAdmin(TenantAdmin):
    list_display = ["lot", "legal_basis", "method", "hours_target", "facilitator"]
    list_filter = ["facilitator", "method", "legal_basis"]
    search_fields = ["lot__market__reference", "lot__title"]
    autocomplete_fields = ["facilitator", "lot"]
    list_select_related = ["lot__market", "legal_basis", "facilitator"]


@admin.register(Award)
class AwardAdmin(TenantAdmin):
    list_display = ["company", "lot", "role", "awarded_on", "facilitator"]
    list_filter = ["facilitator", "role"]
    search_fields = ["company__name", "lot__market__reference"]
    autocomplete_fields = ["facilitator", "lot", "company"]
    list_select_related = ["company", "lot__market", "facilitator"]
