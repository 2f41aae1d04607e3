from django.contrib import admin

from clausier.participants.models import AssessmentCriterion, EligibilityAssessment, Outcome, Participant


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "birth_date", "commune", "facilitator", "merged_into"]
    list_filter = ["facilitator", "sex"]
    search_fields = ["last_name", "first_name", "normalized_name"]
    readonly_fields = ["uuid", "normalized_name", "created_at", "updated_at"]
    autocomplete_fields = ["facilitator", "commune", "prescriber", "merged_into"]
    list_select_related = ["commune", "facilitator", "merged_into"]


class AssessmentCriterionInline(admin.TabularInline):
    model = AssessmentCriterion
    extra = 0
    exclude = ["facilitator"]  # the assessment's, copied on save


@admin.register(EligibilityAssessment)
class EligibilityAssessmentAdmin(admin.ModelAdmin):
    list_display = ["participant", "assessed_on", "valid_until", "validated_by", "facilitator"]
    list_filter = ["facilitator"]
    search_fields = ["participant__last_name", "participant__first_name"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
    autocomplete_fields = ["facilitator", "participant", "prescriber", "validated_by"]
    list_select_related = ["participant", "validated_by", "facilitator"]
    inlines = [AssessmentCriterionInline]


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = ["participant", "timing", "category", "observed_on", "facilitator"]
    list_filter = ["facilitator", "timing", "category"]
    search_fields = ["participant__last_name", "participant__first_name"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
    autocomplete_fields = ["facilitator", "participant", "contract"]
    list_select_related = ["participant", "category", "facilitator"]
