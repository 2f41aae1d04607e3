"""The audit log in the application: the entries of the current facilitator, for its administrators only.

Read-only (GET and HEAD; no edit or delete anywhere: the log is append-only). Anyone but an administrator of
the current facilitator gets a 404, as on the other administrators-only pages (erasure). Rows come through
`audit_entries_visible_to` (scoped by `facilitator_id`: never another tenant's). Each entry's before/after
values unfold in its row. Queries: the count, the page (with author and organization), the authors of the
filter — whatever the number of entries.
"""

import datetime
import functools
import json

from django import forms
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404
from django.utils import timezone

from clausier.audit.models import Action
from clausier.organizations.access import (
    audit_entries_visible_to,
    is_facilitator_admin,
    organizations_visible_to,
)
from clausier.organizations.models import Organization, User
from clausier.www.kit.fields import FrenchDateField
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm

EMPTY = "—"


@functools.cache
def _object_types() -> tuple[tuple[str, str], ...]:
    models = [m for m in apps.get_models() if m.__module__.startswith("clausier.")]
    return tuple(
        sorted(
            ((m._meta.label_lower, str(m._meta.verbose_name).capitalize()) for m in models),
            key=lambda choice: choice[1].lower(),
        )
    )


def object_type_choices():
    """Every model of Clausier (the label the entries carry), by French name; no query."""
    return [("", "Tous"), *_object_types()]


def model_of(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


class ActorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        name = user.get_full_name()
        return f"{name} ({user.email})" if name else user.email


def start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class AuditFilterForm(ListFilterForm):
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Toutes"), *Action.choices])
    object_type = forms.ChoiceField(label="Type d'objet", required=False, choices=object_type_choices)
    actor = ActorChoiceField(
        User.objects.none(), label="Utilisateur", required=False, empty_label="Tous", to_field_name="email"
    )
    start = FrenchDateField(label="Du", required=False)
    end = FrenchDateField(label="Au", required=False)
    lookups = {"action": "action", "object_type": "object_type", "actor": "actor"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Who may have written an entry: the members (present or past) of the facilitator and its partners.
        self.fields["actor"].queryset = (
            User.objects.filter(
                memberships__organization__in=organizations_visible_to(self.user, Organization.objects.all())
            )
            .distinct()
            .order_by("last_name", "first_name", "email")
        )

    def filter_start(self, queryset, day):
        return queryset.filter(at__gte=start_of(day))

    def filter_end(self, queryset, day):
        return queryset.filter(at__lt=start_of(day + datetime.timedelta(days=1)))


def readable(value) -> str:
    if value is None:
        return EMPTY
    if value is True:
        return "Oui"
    if value is False:
        return "Non"
    if value == "":
        return "(vide)"
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value) or "(aucun)"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def field_label(model, key: str) -> str:
    if model is not None:
        for name in (key, key.removesuffix("_id")):
            try:
                return str(model._meta.get_field(name).verbose_name).capitalize()
            except FieldDoesNotExist:
                continue
    return key.replace("_", " ").capitalize()


def change_lines(entry) -> list[tuple[str, str, str]]:
    """(field label, before, after) of an entry's changes, readable (no query)."""
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    model = model_of(entry.object_type)
    lines = []
    for key, pair in changes.items():
        before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        lines.append((field_label(model, key), readable(before), readable(after)))
    return lines


class AuditLogView(FilteredListView):
    title = "Journal d'audit"
    http_method_names = ["get", "head"]
    table_template_name = "www/audit/_table.html"
    filter_form_class = AuditFilterForm
    search_fields = ("object_repr",)
    search_placeholder = "Objet (nom, intitulé…)"
    sort_fields = {"date": ("at",)}
    default_sort = "-date"
    columns = (  # no `value`: the log is not exported from here
        Column("Date", "date"),
        Column("Action"),
        Column("Objet"),
        Column("Auteur"),
        Column("Détail"),
    )

    def dispatch(self, request, *args, **kwargs):
        if not is_facilitator_admin(request.user):
            raise Http404("Réservé aux administrateurs du facilitateur.")
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return audit_entries_visible_to(self.request.user).select_related("actor", "organization")

    def paginate_queryset(self, queryset, page_size):
        paginator, page, rows, is_paginated = super().paginate_queryset(queryset, page_size)
        types = dict(_object_types())
        page.object_list = list(page.object_list)
        for entry in page.object_list:
            entry.type_label = types.get(entry.object_type, entry.object_type)
            entry.change_lines = change_lines(entry)
        return paginator, page, page.object_list, is_paginated
