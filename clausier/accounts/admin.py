from django.contrib import admin

from clausier.accounts.models import Lockout, LoginAttempt, TOTPDevice


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LoginAttempt)
class LoginAttemptAdmin(ReadOnlyAdmin):
    list_display = ["at", "email", "ip", "step", "outcome", "user"]
    list_filter = ["outcome", "step"]
    search_fields = ["email", "ip"]
    date_hierarchy = "at"


@admin.register(Lockout)
class LockoutAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "scope", "key", "until", "failures"]
    list_filter = ["scope"]
    search_fields = ["key"]


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    """A platform administrator may remove the device of a user who lost both phone and recovery codes."""

    list_display = ["user", "confirmed_at", "last_used_at"]
    search_fields = ["user__email"]
    fields = ["user", "confirmed_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False
