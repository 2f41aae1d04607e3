"""The partners' spaces: a company's obligations, an insertion structure's contracts, a buyer's markets.

The dashboard ("/") shows the space of the current organization's kind (`SPACES`). An employer (company or
insertion structure) also has its own pages: the monthly grid of the contracts it employs, its statement
template and the upload of the filled template (the hours import pipeline, scoped to its own contracts), and
the people it employs under a clause (eligibility as « validée » / « à valider », never the criteria).
A buyer sees aggregates only: lots, hours and bilans, never a person.

Every page costs a constant number of queries: lists are paginated querysets with correlated aggregates, and
the lots' follow-up is `procurement.progress.lots_progress` (two queries, two more with pools).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.employment.actions import Refused, declare_month, max_monthly_hours
from clausier.employment.models import Contract, MonthlyStatement, StatementStatus
from clausier.employment.queries import employer_month_to_declare, previous_month, with_eligibility_validated
from clausier.imports.kinds import KINDS
from clausier.imports.kinds.hours import EMPLOYER_OPTION
from clausier.imports.limits import ImportRefused, Limits, format_megabytes
from clausier.imports.pipeline import commit, read, suggest_mapping, validate
from clausier.imports.tasks import background_rows, in_background
from clausier.imports.template import statement_template, template_filename
from clausier.organizations.access import current_organization
from clausier.organizations.models import Organization, OrganizationKind, StructureSuggestion
from clausier.organizations.suggestions import FOLLOW_UP_CHOICES, suggestions_for
from clausier.procurement.models import Lot
from clausier.procurement.progress import lots_progress, obligations_of
from clausier.reference.models import Modality
from clausier.utils.dates import month_label
from clausier.www.hours.views import EMPLOYER_LOCKED, MonthlyGrid, parse_month, today
from clausier.www.kit import queries
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm
from clausier.www.kit.mixins import DsfrFormMixin

K = OrganizationKind
EMPLOYERS = frozenset({K.COMPANY, K.INSERTION_STRUCTURE})
LOTS_PER_PAGE = 25
SHOWN_PROBLEMS = 200
RECENT_STATEMENTS = 6


class KindRequiredMixin:
    """Only users acting for an organization of one of `kinds`; anyone else gets a 404 (no existence leak)."""

    kinds: frozenset = frozenset()

    def dispatch(self, request, *args, **kwargs):
        org = current_organization(request.user)
        if org is None or org.kind not in self.kinds:
            raise Http404("Page réservée à d'autres organisations.")
        self.organization = org
        return super().dispatch(request, *args, **kwargs)


# --- Lots and their follow-up -------------------------------------------------------------------------------


@dataclass
class LotRow:
    lot: Lot
    progress: object  # procurement.progress.LotProgress

    @property
    def followup(self):
        return self.progress.followup

    @property
    def deadline(self) -> datetime.date | None:
        return self.lot.end_date or self.lot.market.end_date

    @property
    def status_key(self) -> str:
        return str(self.followup.status)

    @property
    def status_label(self) -> str:
        return self.followup.status.label


def lot_rows(lots, *, page_number, day: datetime.date):
    """A page of `lots` (with clause, market and buyer selected) and their follow-up: the count, the page, and
    `lots_progress`'s queries, whatever the number of lots."""
    paginator = Paginator(lots, LOTS_PER_PAGE)
    page = paginator.get_page(page_number)
    page_lots = list(page.object_list)
    progress = lots_progress(page_lots, today=day)
    page.rows = [LotRow(lot, progress[lot.pk]) for lot in page_lots]
    return page


def obligations(user, *, day: datetime.date | None = None):
    """The lots with a clause the user may see, in the order they are acted on (`procurement.progress`)."""
    return obligations_of(user, day=day or today())


# --- Employers: facilitators, statements, suggestions -------------------------------------------------------


def facilitators_of(org):
    """The facilitators `org` works with (its partnerships), by name."""
    return Organization.objects.filter(kind=K.FACILITATOR, partner_links__partner=org).order_by("name", "pk")


def employer_context(request) -> dict:
    """What both employers' spaces show: the month to declare, recent statements, links to the grid, the
    template and the upload."""
    user, org = request.user, request.organization
    month = employer_month_to_declare(org, today=today())
    statements = list(
        MonthlyStatement.objects.visible_to(user)
        .select_related("facilitator")
        .order_by("-month", "facilitator__name")[:RECENT_STATEMENTS]
    )
    to_declare = list(
        MonthlyStatement.objects.visible_to(user)
        .filter(month=month)
        .select_related("facilitator")
        .order_by("facilitator__name")
    )
    return {
        "declare_month": month,
        "declare_month_label": month_label(month),
        "declare_month_value": f"{month:%Y-%m}",
        "declare_statements": to_declare,
        "statements": statements,
        "facilitators": list(facilitators_of(org)),
        "people_count": Contract.objects.visible_to(user).filter(employer=org).count(),
    }


# --- The spaces ---------------------------------------------------------------------------------------------


class SpaceView(KindRequiredMixin, View):
    http_method_names = ["get"]
    template_name = ""
    title = ""

    def get_context(self) -> dict:
        return {}

    def get(self, request, *args, **kwargs):
        context = {"title": self.title, "is_staff_view": False, **self.get_context()}
        return TemplateResponse(request, self.template_name, context)


class CompanySpaceView(SpaceView):
    """« Mes obligations »: each awarded lot with a clause (target, realised, remaining, deadline, status), the
    structures proposed by the facilitator, the monthly statements."""

    kinds = frozenset({K.COMPANY})
    template_name = "www/spaces/company.html"
    title = "Mes obligations"

    def get_context(self):
        user = self.request.user
        return {
            "lots": lot_rows(obligations(user), page_number=self.request.GET.get("page"), day=today()),
            "suggestions": list(suggestions_for(StructureSuggestion.objects.visible_to(user))[:50]),
            "follow_ups_choices": FOLLOW_UP_CHOICES,
            **employer_context(self.request),
        }


class StructureSpaceView(SpaceView):
    """An insertion structure's mises à disposition and subcontracting: its contracts by company and lot, with
    their hours; its monthly statements."""

    kinds = frozenset({K.INSERTION_STRUCTURE})
    template_name = "www/spaces/structure.html"
    title = "Mon espace"

    def get_context(self):
        user, org = self.request.user, self.request.organization
        validated = Q(hours__statement__status=StatementStatus.VALIDATED)
        groups = (
            Contract.objects.visible_to(user)
            .filter(employer=org)
            .values(
                "company__name",
                "lot__uuid",
                "lot__number",
                "lot__title",
                "lot__market__reference",
                "modality__label",
            )
            .annotate(
                contracts=Count("pk", distinct=True),
                declared=Coalesce(Sum("hours__hours"), Decimal(0)),
                realised=Coalesce(Sum("hours__counted_hours", filter=validated), Decimal(0)),
            )
            .order_by("company__name", "lot__market__reference", "lot__number", "modality__label")
        )
        paginator = Paginator(groups, LOTS_PER_PAGE)
        return {"groups": paginator.get_page(self.request.GET.get("page")), **employer_context(self.request)}


class BuyerSpaceView(SpaceView):
    """A buyer's operations, markets and lots with their progress, and its bilans: aggregates only."""

    kinds = frozenset({K.BUYER})
    template_name = "www/spaces/buyer.html"
    title = "Mon espace"
    shown = 10

    def get_context(self):
        user = self.request.user
        lots = obligations(user)
        totals = lots.aggregate(target=Coalesce(Sum("clause__hours_target"), Decimal(0)), count=Count("pk"))
        operations = queries.operations(user).order_by("name")
        markets = queries.markets(user).order_by("-notified_on", "reference")
        return {
            "lots": lot_rows(lots, page_number=self.request.GET.get("page"), day=today()),
            "totals": totals,
            "realised_total": queries.realised_hours()
            .filter(contract__lot__in=lots.values("pk"))
            .aggregate(total=Coalesce(Sum(queries.REALISED), Decimal(0)))["total"],
            "operations": list(operations[: self.shown]),
            "operations_count": operations.count(),
            "markets": list(markets[: self.shown]),
            "markets_count": markets.count(),
            "shown": self.shown,
        }


SPACES = {K.COMPANY: CompanySpaceView, K.INSERTION_STRUCTURE: StructureSpaceView, K.BUYER: BuyerSpaceView}


# --- The people an employer employs -------------------------------------------------------------------------


class PeopleFilterForm(ListFilterForm):
    eligibility = forms.ChoiceField(
        label="Éligibilité",
        required=False,
        choices=[("", "Toutes"), ("validee", "Validée"), ("a-valider", "À valider")],
    )
    modality = forms.ModelChoiceField(
        Modality.objects.none(), label="Modalité", required=False, empty_label="Toutes", to_field_name="code"
    )
    lookups = {"modality": "modality"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["modality"].queryset = Modality.objects.active()

    def filter_eligibility(self, queryset, value):
        return queryset.filter(eligibility_validated=value == "validee")


class PeopleListView(KindRequiredMixin, FilteredListView):
    """The people working under a clause for the employer: its own employees, and for a company the people an
    insertion structure places on its lots. Eligibility: validated or to be validated, never the criteria."""

    kinds = EMPLOYERS
    title = "Personnes en insertion"
    table_template_name = "www/spaces/_people_table.html"
    filter_form_class = PeopleFilterForm
    search_fields = ("participant__last_name", "participant__first_name", "lot__market__reference")
    search_placeholder = "Nom, prénom ou n° de marché"
    sort_fields = {
        "nom": ("participant__last_name", "participant__first_name"),
        "debut": ("start_date",),
        "heures": ("hours_realised",),
    }
    default_sort = "nom"
    columns = (
        Column("Nom", "nom", value=(("Nom", "participant.last_name"), ("Prénom", "participant.first_name"))),
        Column(
            "Contrat",
            "debut",
            value=(("Type", "contract_type"), ("Modalité", "modality"), ("Début", "start_date")),
        ),
        Column("Lot", value=(("Marché", "lot.market.reference"), ("Lot", "lot.number"))),
        Column("Employeur", value="employer.name"),
        Column("Heures réalisées", "heures", numeric=True, value="hours_realised"),
        Column("Éligibilité", value=lambda c: "validée" if c.eligibility_validated else "à valider"),
    )
    export_personal_data = True

    def get_base_queryset(self):
        return with_eligibility_validated(queries.contracts(self.request.user))


# --- The monthly grid of an employer's own contracts --------------------------------------------------------


class EmployerGridView(KindRequiredMixin, MonthlyGrid):
    """The employer fills in its own contracts' hours, month by month, in a statement it has not sent yet
    (draft) or that was returned to it; the statement is then sent from its page (« Transmettre le relevé »)."""

    kinds = EMPLOYERS
    subject_label = "employeur"
    show_lot = True
    show_employer = False
    locked = EMPLOYER_LOCKED
    readonly_note = (
        "le relevé de ce mois est transmis au facilitateur ou validé. Il ne se modifie plus, sauf s'il vous "
        "est renvoyé pour correction."
    )

    def get_subject(self):
        return self.organization

    def default_month(self):
        return employer_month_to_declare(self.organization, today=today())

    def get_contracts(self, subject):
        return {"employer": subject}

    def get_breadcrumb(self, org):
        # The home's name in the menu: « Mes obligations » for a company, « Mon espace » for a structure.
        home = "Mes obligations" if org.kind == K.COMPANY else "Mon espace"
        return [(home, reverse("www:dashboard"))]

    def max_hours(self, contract):
        # The contract's own facilitator (an employer may work with several); its settings are selected below.
        return max_monthly_hours(contract.facilitator)

    def setup_subject(self):
        super().setup_subject()
        self.contracts = self.contracts.select_related("facilitator__settings")

    def declare(self, month, entries):
        """One `declare_month` per facilitator of the contracts (an employer may work with several), all or
        nothing."""
        by_facilitator = {}
        for entry in entries:
            by_facilitator.setdefault(entry.contract.facilitator_id, []).append(entry)
        saved = []
        with transaction.atomic():
            for group in by_facilitator.values():
                facilitator = group[0].contract.facilitator
                saved += declare_month(
                    facilitator=facilitator, month=month, entries=group, by=self.request.user
                )
        return saved


# --- The statement template and its upload ------------------------------------------------------------------


def _chosen_facilitator(request, value):
    """The facilitator whose statement it is: one of the employer's (by uuid), else its first; or 404."""
    facilitators = facilitators_of(request.organization)
    if value:
        chosen = next((f for f in facilitators if str(f.uuid) == str(value)), None)
    else:
        chosen = facilitators.first()
    if chosen is None:
        raise Http404("Aucun facilitateur.")
    return chosen


class MyStatementTemplateView(KindRequiredMixin, View):
    """The employer's own statement template for a month (`?mois=AAAA-MM`, `&facilitateur=<uuid>` when it works
    with several facilitators): its contracts running that month, hours already recorded pre-filled."""

    kinds = EMPLOYERS
    http_method_names = ["get"]

    def get(self, request):
        facilitator = _chosen_facilitator(request, request.GET.get("facilitateur"))
        month = parse_month(request.GET.get("mois")) or previous_month(today())
        employer = request.organization
        data = statement_template(facilitator=facilitator, employer=employer, month=month)
        # Names and birth dates leave the application: an export of personal data, in the facilitator's log.
        record(
            action=Action.EXPORT,
            obj=employer,
            by=request.user,
            detail=f"modèle de relevé {month:%m/%Y}",
            facilitator=facilitator,
        )
        response = HttpResponse(
            data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{template_filename(employer, month)}"'
        return response


VERIFY, IMPORT = "verifier", "importer"


class StatementUploadForm(DsfrFormMixin, forms.Form):
    file = forms.FileField(label="Relevé rempli")
    facilitator = forms.ModelChoiceField(
        Organization.objects.none(), label="Facilitateur", to_field_name="uuid", empty_label=None
    )

    def __init__(self, *args, employer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facilitator"].queryset = facilitators_of(employer)
        if self.fields["facilitator"].queryset.count() < 2:
            self.fields["facilitator"].required = False
            self.fields["facilitator"].widget = forms.HiddenInput()
        self.fields["file"].help_text = (
            "Le modèle de relevé téléchargé depuis Clausier, rempli (XLSX, XLS, ODS ou CSV, "
            f"{format_megabytes(Limits.from_settings().max_bytes)} au plus)."
        )


class MyStatementUploadView(KindRequiredMixin, View):
    """Upload the filled statement template: read → validate → (check only, or) commit, through the hours
    import pipeline, limited to the employer's own contracts (`kinds.hours`: option `employer`)."""

    kinds = EMPLOYERS
    template_name = "www/spaces/upload.html"

    def render(self, form, *, result=None, status=200):
        return TemplateResponse(
            self.request,
            self.template_name,
            {
                "title": "Déposer un relevé d'heures",
                "form": form,
                "result": result,
                "verify": VERIFY,
                "import": IMPORT,
                "month_value": f"{previous_month(today()):%Y-%m}",
            },
            status=status,
        )

    def get(self, request):
        return self.render(StatementUploadForm(employer=request.organization))

    def post(self, request):
        employer = request.organization
        form = StatementUploadForm(request.POST, request.FILES, employer=employer)
        if not form.is_valid():
            return self.render(form, status=422)
        facilitator = form.cleaned_data.get("facilitator") or _chosen_facilitator(request, None)
        upload, kind = form.cleaned_data["file"], KINDS["heures"]
        try:
            records = read(upload, filename=upload.name, kind=kind)
        except ImportRefused as refusal:
            form.add_error("file", refusal.message)
            return self.render(form, status=422)
        if in_background(len(records.rows)):
            form.add_error(
                "file",
                f"Ce fichier compte {len(records.rows)} lignes : un relevé mensuel en compte au plus "
                f"{background_rows()}. Déposez un relevé par mois.",
            )
            return self.render(form, status=422)
        mapping = suggest_mapping(records, kind)
        validation = validate(
            records, kind, mapping, facilitator=facilitator, options={EMPLOYER_OPTION: employer.pk}
        )
        result = {
            "ok": validation.ok,
            "counts": validation.counts,
            "problems": [str(p) for p in validation.problems[:SHOWN_PROBLEMS]],
            "more_problems": max(0, validation.problem_count - SHOWN_PROBLEMS),
            "problem_count": validation.problem_count,
            "rows": len(records.rows),
            "filename": upload.name,
        }
        if not validation.ok or request.POST.get("action") != IMPORT:
            return self.render(form, result=result, status=200 if validation.ok else 422)
        try:
            counts = commit(validation, kind, facilitator=facilitator, by=request.user)
        except Refused as refusal:
            result.update(ok=False, problems=refusal.messages, problem_count=len(refusal.messages))
            return self.render(form, result=result, status=422)
        messages.success(
            request,
            f"Relevé enregistré : {counts['create']} ligne(s) créée(s), {counts['update']} mise(s) à jour, "
            f"{counts['unchanged']} inchangée(s). Transmettez-le au facilitateur depuis la page du relevé.",
        )
        return redirect("www:statement_list")
