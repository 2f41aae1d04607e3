from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from clausier.organizations.models import FacilitatorSettings, Membership, Organization, Partnership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organization", "user"]


@admin.register(User)
class ClausierUserAdmin(UserAdmin):
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff", "last_login"]
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["email"]
    inlines = [MembershipInline]


class PartnershipInline(admin.TabularInline):
    model = Partnership
    fk_name = "partner"
    extra = 0
    autocomplete_fields = ["facilitator"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "category", "siret", "commune", "is_active"]
    list_filter = ["kind", "is_active", "category"]
    search_fields = ["name", "siret", "slug"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
    autocomplete_fields = ["commune"]
    list_select_related = ["category", "commune"]
    inlines = [PartnershipInline, MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "is_active", "joined_at"]
    list_filter = ["role", "is_active", "organization__kind"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    list_display = ["facilitator", "partner", "agreement_reference", "start_date", "end_date"]
    list_filter = ["partner__kind"]
    search_fields = ["facilitator__name", "partner__name", "agreement_reference"]
    autocomplete_fields = ["facilitator", "partner"]
    list_select_related = ["facilitator", "partner"]


@admin.register(FacilitatorSettings)
class FacilitatorSettingsAdmin(admin.ModelAdmin):
    list_display = ["facilitator", "fte_hours", "eligibility_validity_months", "territory_label"]
    autocomplete_fields = ["facilitator"]
