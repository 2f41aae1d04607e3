"""« Mes notifications »: each user chooses which e-mails it receives (every category is on by default)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import FormView

from clausier.notifications.actions import preferences_of, set_preferences
from clausier.www.members.forms import NotificationPreferencesForm


class NotificationPreferencesView(FormView):
    template_name = "www/notifications/preferences.html"
    form_class = NotificationPreferencesForm

    def get_form_kwargs(self):
        kinds = {m.organization.kind for m in getattr(self.request, "memberships", [])}
        return {**super().get_form_kwargs(), "kinds": kinds, "enabled": preferences_of(self.request.user)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(title="Mes notifications", **kwargs)

    def form_valid(self, form):
        changed = set_preferences(user=self.request.user, choices=form.choices(), by=self.request.user)
        messages.success(
            self.request,
            "Vos choix de notifications sont enregistrés." if changed else "Vos choix n'ont pas changé.",
        )
        return redirect("www:notification_preferences")
