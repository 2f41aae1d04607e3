"""Indicator filters (dashboard) and bilans per buyer, operation, market and year (HTML, PDF, XLSX).

Who gets a bilan: the facilitator's staff (any buyer, operation or market of theirs, and the territory's
year), and a buyer's users (its own markets and operations, and itself), with the small-cell rule.
Everyone else gets a 404, like any object they may not see.
"""

import datetime
import hashlib

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from clausier.geo.models import Commune
from clausier.organizations.access import (
    current_organization,
    is_facilitator_staff,
)
from clausier.organizations.models import Organization, OrganizationKind
from clausier.procurement.models import Lot, Market, Operation
from clausier.publicsite.figures import cached_on_data
from clausier.reference.models import ContractType, Modality
from clausier.reporting.bilans import build_bilan
from clausier.reporting.filters import IndicatorFilter
from clausier.reporting.indicators import overlapping
from clausier.reporting.subjects import bilan_subject
from clausier.www.kit.fields import FrenchDateField
from clausier.www.kit.forms import UuidModelChoiceField, buyers_of
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm, year_choices
from clausier.www.kit.mixins import DsfrFormMixin
from clausier.www.kit.widgets import QuickSelect

K = OrganizationKind


class IndicatorFilterForm(DsfrFormMixin, forms.Form):
    """The dashboard's filters; every choice list is scoped to what the user may see."""

    annee = forms.TypedChoiceField(
        label="Année", required=False, choices=year_choices, coerce=int, empty_value=None, widget=QuickSelect
    )
    debut = FrenchDateField(label="Du", required=False)
    fin = FrenchDateField(label="Au", required=False)
    donneur = UuidModelChoiceField(
        Organization.objects.none(), label="Donneur d'ordre", required=False, empty_label="Tous"
    )
    operation = UuidModelChoiceField(
        Operation.objects.none(), label="Opération", required=False, empty_label="Toutes"
    )
    marche = UuidModelChoiceField(Market.objects.none(), label="Marché", required=False, empty_label="Tous")
    lot = UuidModelChoiceField(Lot.objects.none(), label="Lot", required=False, empty_label="Tous")
    entreprise = UuidModelChoiceField(
        Organization.objects.none(), label="Entreprise", required=False, empty_label="Toutes"
    )
    modalite = forms.ModelChoiceField(
        Modality.objects.none(),
        label="Modalité",
        required=False,
        empty_label="Toutes",
        to_field_name="code",
        widget=QuickSelect,
    )
    type_contrat = forms.ModelChoiceField(
        ContractType.objects.none(),
        label="Type de contrat",
        required=False,
        empty_label="Tous",
        to_field_name="code",
        widget=QuickSelect,
    )
    commune = forms.ModelChoiceField(
        Commune.objects.none(),
        label="Commune des travaux",
        required=False,
        empty_label="Toutes",
        to_field_name="insee_code",
        widget=QuickSelect,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        f = self.fields
        # Only what the options show (uuid and label): hundreds of rows each at a territory's scale.
        f["donneur"].queryset = buyers_of(user).only("uuid", "name")
        f["operation"].queryset = Operation.objects.visible_to(user).order_by("name").only("uuid", "name")
        f["marche"].queryset = (
            Market.objects.visible_to(user).order_by("reference").only("uuid", "reference", "title")
        )
        # The lots of the chosen market only (a territory has hundreds of lots).
        market = self.data.get("marche") if self.is_bound else None
        lots = Lot.objects.visible_to(user).order_by("number")
        f["lot"].queryset = lots.filter(market__uuid=market) if _is_uuid(market) else lots.none()
        f["entreprise"].queryset = (
            Organization.objects.filter(kind=K.COMPANY, partnerships__facilitator=current_organization(user))
            .distinct()
            .order_by("name")
            .only("uuid", "name")
        )
        f["modalite"].queryset = Modality.objects.active()
        f["type_contrat"].queryset = ContractType.objects.active()
        f["commune"].queryset = Commune.objects.filter(
            insee_code__in=Operation.objects.visible_to(user).values("commune_id")
        ).order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("debut") and data.get("fin") and data["fin"] < data["debut"]:
            self.add_error("fin", "La fin de la période précède son début.")
        return data

    def to_filter(self, facilitator) -> IndicatorFilter:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        start, end = data.get("debut"), data.get("fin")
        if data.get("annee") and not (start or end):
            start, end = datetime.date(data["annee"], 1, 1), datetime.date(data["annee"], 12, 31)

        def pk(name):
            value = data.get(name)
            return value.pk if value is not None else None

        return IndicatorFilter(
            facilitator,
            start=start,
            end=end,
            buyer_id=pk("donneur"),
            operation_id=pk("operation"),
            market_id=pk("marche"),
            lot_id=pk("lot"),
            company_id=pk("entreprise"),
            modality_id=pk("modalite"),
            contract_type_id=pk("type_contrat"),
            commune_id=pk("commune"),
        )


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- Bilans ----------------------------------------------------------------------------------------------


def _year(request) -> int | None:
    value = request.GET.get("annee", "")
    if not value:
        return None
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise Http404("Année invalide.")
    return int(value)


def resolve_bilan(request, kind: str, uuid=None):
    """(filter, title, subject) of the bilan `kind` for the user, or 404 (access layer)."""
    return bilan_subject(request.user, kind, uuid, _year(request))


@require_safe
def bilan(request, kind: str, fmt: str = "html", uuid=None):
    f, title, subject = resolve_bilan(request, kind, uuid)
    report = build_bilan(f, title=title, subject=subject, public=not is_facilitator_staff(request.user))
    filename = slugify(title)[:80] or "bilan"
    if fmt == "pdf":
        from clausier.reporting.pdf import render_pdf

        response = HttpResponse(render_pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
        return response
    if fmt == "xlsx":
        from clausier.reporting.xlsx import render_xlsx

        response = HttpResponse(
            render_xlsx(report),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    name = {"buyer": "bilan_buyer", "operation": "bilan_operation", "market": "bilan_market"}.get(
        kind, "bilan_territory"
    )
    kwargs = {"uuid": uuid} if uuid else {}
    year = _year(request)
    query = f"?annee={year}" if year else ""
    return render(
        request,
        "www/reporting/bilan.html",
        {
            "title": title,
            "bilan": report,
            "pdf_url": reverse(f"www:{name}_pdf", kwargs=kwargs) + query,
            "xlsx_url": reverse(f"www:{name}_xlsx", kwargs=kwargs) + query,
            "has_all_years": kind != "territory",
            "year": year or (report.indicators.months_year if kind == "territory" else None),
            "years": range(
                datetime.date.today().year,
                (report.indicators.first_year or datetime.date.today().year) - 1,
                -1,
            ),
        },
    )


class BilanFilterForm(ListFilterForm):
    """The bilans page's search: markets by number, object or buyer, a buyer, an operation, a year."""

    donneur = UuidModelChoiceField(
        Organization.objects.none(), label="Donneur d'ordre", required=False, empty_label="Tous"
    )
    operation = UuidModelChoiceField(
        Operation.objects.none(), label="Opération", required=False, empty_label="Toutes"
    )
    annee = forms.TypedChoiceField(
        label="Année", required=False, choices=year_choices, coerce=int, empty_value=None, widget=QuickSelect
    )
    lookups = {"donneur": "buyer", "operation": "operation"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["donneur"].queryset = buyers_of(self.user)
        self.fields["operation"].queryset = Operation.objects.visible_to(self.user).order_by("name")

    def filter_annee(self, queryset, year):
        return queryset.filter(overlapping(year))


class BilanIndexView(FilteredListView):
    """The bilans the user may open: the territory's years (staff), each buyer, and the markets with a clause,
    searched and filtered (a territory has hundreds); a chosen buyer, operation or year leads to its bilan."""

    template_name = "www/reporting/index.html"
    title = "Bilans"
    table_template_name = "www/reporting/_markets.html"
    filter_form_class = BilanFilterForm
    search_fields = ("reference", "title", "buyer__name")
    search_placeholder = "Numéro, objet ou donneur d'ordre"
    sort_fields = {
        "numero": ("reference",),
        "donneur": ("buyer__name", "reference"),
        "debut": ("start_date",),
    }
    default_sort = "numero"
    paginate_by = 25
    columns = (
        Column("Marché", "numero", value="reference"),
        Column("Objet", value="title"),
        Column("Donneur d'ordre", "donneur", value="buyer.name"),
        Column("Période", "debut", value="start_date"),
        Column("Télécharger"),
    )

    def available(self) -> bool:
        """Bilans are for the facilitator's staff and the buyers; anyone else gets the page that says so."""
        org = current_organization(self.request.user)
        return org is not None and org.kind in (K.FACILITATOR, K.BUYER)

    def get_base_queryset(self):
        if not self.available():
            return Market.objects.none()
        return Market.objects.visible_to(self.request.user).with_clause().select_related("buyer")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        available, staff = self.available(), is_facilitator_staff(user)
        chosen = self.filter_form.cleaned_data if self.filter_form.is_bound else {}
        year = chosen.get("annee")
        own = [current_organization(user)] if available else []  # a buyer: itself
        buyers = buyers_of(user) if staff else own
        context.update(
            available=available,
            is_staff_view=staff,
            buyers=buyers,
            years=range(datetime.date.today().year, 2007, -1) if staff else [],
            chosen_buyer=chosen.get("donneur"),
            chosen_operation=chosen.get("operation"),
            chosen_year=year,
            year_query=f"?annee={year}" if year else "",
        )
        return context


# --- Dashboard ---------------------------------------------------------------------------------------------


DASHBOARD_FIGURES = "www/reporting/_dashboard_figures.html"
DASHBOARD_FILTERS = "www/reporting/_dashboard_filters.html"


def dashboard_figures(request, facilitator) -> dict:
    """The dashboard's filters and figures block under the query string (staff only), with the lots at risk
    among the filtered lots: `figures` (the indicators) and both pieces already rendered (`filters_html`,
    `figures_html`), cached together until the territory's data change or the day changes.

    Rendering was most of a cached view (the filters list every buyer, operation, market and company of
    the territory): the cache keeps the HTML, not only the numbers. A form with errors is never cached (it
    shows what was typed, with its errors)."""
    from clausier.reporting.bilans import layout
    from clausier.reporting.breakdowns import indicators
    from clausier.www.hours.views import RISK_RULE, lots_at_risk, today

    fields = IndicatorFilterForm.base_fields
    data = request.GET if any(name in request.GET for name in fields) else None
    form = IndicatorFilterForm(data, user=request.user)
    f = form.to_filter(facilitator)
    day = today()

    def compute():
        # The lots at risk among the filtered lots (buyer, operation, market, lot, company, commune of the
        # works, markets running in the period): part of the block the htmx partial refreshes.
        lots = Lot.objects.filter(pk__in=f.lots().values("pk"))
        result = indicators(f, today=day)
        key_figures, charts, tables = layout(result, public=False)
        context = {
            "lots_at_risk": lots_at_risk(facilitator, lots=lots, day=day),
            "risk_rule": RISK_RULE,
            "filter_form": form,
            "indicator_filter": f,
            "figures": result,
            "key_figures": key_figures,
            "charts": charts,
            "tables": tables,
            "filtered": form.is_bound and form.is_valid() and any(form.cleaned_data.values()),
        }
        return {
            "figures": result,
            "figures_html": render_to_string(DASHBOARD_FIGURES, context),
            "filters_html": render_to_string(DASHBOARD_FILTERS, {"filter_form": form}),
        }

    if form.is_bound and not form.is_valid():
        return compute()
    return cached_on_data(facilitator, f"dashboard:{_dashboard_key(request, form, f)}", compute, day=day)


def _dashboard_key(request, form, f) -> str:
    """What the cached block depends on besides the data and the day: the filter, the form as typed (a year
    or its dates give the same filter but not the same form) and the viewer's role (the choice lists are
    what that role may see)."""
    typed = sorted((name, request.GET.getlist(name)) for name in form.fields if name in request.GET)
    role = next((m.role for m in request.memberships if m.organization_id == f.facilitator.pk), "")
    digest = hashlib.sha256(repr(typed).encode()).hexdigest()[:32]
    return f"{f.key}:{role}:{digest}"
