"""One list view for every list page: search, filters, whitelisted sort, pagination, htmx partial.

A list declares its scoped queryset, its filter form, its sortable columns and its table template.
The full page and the htmx partial render the same `_results.html`, so they always show the same rows.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.db.models.query import ModelIterable
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.text import slugify
from django.views.generic import ListView

from clausier.organizations.access import is_facilitator_staff
from clausier.utils.exports import ListExportMixin
from clausier.www.kit.mixins import DsfrFormMixin


@dataclass(frozen=True)
class Column:
    label: str
    sort: str | None = None  # public sort key, looked up in the view's `sort_fields`
    numeric: bool = False
    # What an export writes (`clausier.utils.exports`): a dotted path on the row, a callable of the row, or
    # ((header, path or callable), ...) for several cells; None: the column is not exported.
    value: str | Callable | tuple | None = None

    @property
    def key(self) -> str:
        """The column's name in `?colonnes=`."""
        return slugify(self.label)


def year_choices():
    this_year = datetime.date.today().year
    return [("", "Toutes")] + [(str(y), str(y)) for y in range(this_year + 1, 2007, -1)]


class ListFilterForm(DsfrFormMixin, forms.Form):
    """Search box plus filters; each filter is a field, applied by `filter_<name>` or `lookups[name]`."""

    q = forms.CharField(label="Rechercher", required=False, max_length=200)
    lookups: dict[str, str] = {}

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off"})

    def apply(self, queryset, search_fields):
        data = self.cleaned_data if self.is_bound else {}
        for name, value in data.items():
            if value in (None, "", [], ()):
                continue
            if name == "q":
                queryset = search(queryset, search_fields, value)
            elif hasattr(self, f"filter_{name}"):
                queryset = getattr(self, f"filter_{name}")(queryset, value)
            elif name in self.lookups:
                queryset = queryset.filter(**{self.lookups[name]: value})
        return queryset

    @property
    def has_filters(self):
        return len(self.fields) > 1


def search(queryset, fields, text):
    """Every word of `text` must be found in one of `fields`."""
    words = text.split()[:8]
    if not words or not fields:
        return queryset
    conditions = [reduce(or_, (Q(**{f"{field}__icontains": word}) for field in fields)) for word in words]
    return queryset.filter(reduce(and_, conditions))


class AnnotatedPaginator(Paginator):
    """Counts and slices on the primary keys, then annotates only the page's rows.

    The list querysets carry correlated aggregates and are often DISTINCT (tenant joins): counting them, or
    sorting and slicing them, made the database compute every aggregate for every row (1.2 s for the
    buyers of the demo). Selecting `pk` alone leaves out the annotations the filters and the sort do not
    use; the page's rows are then fetched with their aggregates, in the same order.
    """

    @cached_property
    def two_step(self) -> bool:
        """Model rows with aggregates; a union or a `values()` list is paginated as usual."""
        query = getattr(self.object_list, "query", None)
        return (
            query is not None
            and query.combinator is None
            and bool(query.annotations)
            and self.object_list._iterable_class is ModelIterable
        )

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if query is not None and query.combinator == "union" and query.combinator_all:
            # A UNION ALL has as many rows as its parts: counting each part lets the database drop the
            # selected expressions, which a COUNT over the whole union computes for every row.
            using = self.object_list.db
            return sum(part.get_count(using) for part in query.combined_queries)
        if not self.two_step:
            return super().count
        return self.object_list.order_by().values("pk").count()

    def page(self, number):
        if not self.two_step:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        pks = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._get_page(list(self.object_list.filter(pk__in=pks)), number, self)


class FilteredListView(ListExportMixin, ListView):
    paginator_class = AnnotatedPaginator
    paginate_by = 50
    template_name = "www/list.html"
    partial_template_name = "www/_results.html"
    table_template_name: str = ""
    filter_form_class = ListFilterForm
    search_fields: tuple[str, ...] = ()
    search_placeholder = ""
    sort_fields: dict[str, tuple[str, ...]] = {}
    default_sort = ""
    columns: tuple[Column, ...] = ()
    title = ""
    create_url_name: str | None = None
    create_label = "Ajouter"
    import_kind: str | None = None  # the import that fills this list (`clausier.imports.kinds`): "Importer"
    sort_param = "tri"

    def get_base_queryset(self):
        """The rows the user may see, annotated: always built on `visible_to(user)`."""
        raise NotImplementedError

    def get_filter_form(self):
        data = (
            self.request.GET
            if any(k in self.request.GET for k in self.filter_form_class.base_fields)
            else None
        )
        form = self.filter_form_class(data, user=self.request.user)
        if self.search_placeholder:
            form.fields["q"].widget.attrs["placeholder"] = self.search_placeholder
        return form

    def current_sort(self):
        value = self.request.GET.get(self.sort_param, "")
        return value if value.lstrip("-") in self.sort_fields else self.default_sort

    def get_ordering(self):
        key = self.current_sort()
        if not key:
            return ("pk",)
        fields = self.sort_fields[key.lstrip("-")]
        if key.startswith("-"):
            fields = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in fields)
        return (*fields, "pk")

    def get_queryset(self):
        self.filter_form = self.get_filter_form()
        if self.filter_form.is_bound:
            self.filter_form.is_valid()
        queryset = self.filter_form.apply(self.get_base_queryset(), self.search_fields)
        return queryset.order_by(*self.get_ordering())

    def paginate_queryset(self, queryset, page_size):
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get("page"))  # a bad page number shows the last/first page
        page.pages_list = list(paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_template_names(self):
        if self.request.htmx and not self.request.htmx.boosted:
            return [self.partial_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.title,
            filter_form=self.filter_form,
            table_template_name=self.table_template_name,
            columns=self.columns,
            current_sort=self.current_sort(),
            sort_param=self.sort_param,
            search_placeholder=self.search_placeholder,
            can_create=bool(self.create_url_name) and is_facilitator_staff(self.request.user),
            create_url_name=self.create_url_name,
            create_label=self.create_label,
            import_url=self.import_url(),
            # A column of realised hours says where they come from (only validated statements count).
            realised_rule=any("réalis" in column.label.lower() for column in self.columns),
            **self.export_context(),
        )
        return context

    def import_url(self) -> str:
        """The import of this list's rows, its kind chosen, for the facilitator's staff; "" otherwise."""
        if not self.import_kind or not is_facilitator_staff(self.request.user):
            return ""
        return f"{reverse('www:import_start')}?{urlencode({'type': self.import_kind})}"

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        patch_vary_headers(response, ("HX-Request",))
        return response
