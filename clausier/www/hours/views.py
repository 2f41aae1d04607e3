"""The monthly hours grid (per lot, per employer), the lot follow-up block and the dashboard alerts.

The grid is a spreadsheet of the contracts running in a month; one POST saves the whole month through
`employment.actions.declare_month` (all or nothing). Rows of a validated statement are read-only.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views import View

from clausier.employment.actions import (
    FACILITATOR_ONLY,
    TRANSITIONS,
    MonthEntry,
    Refused,
    check_entry,
    declare_month,
    max_monthly_hours,
)
from clausier.employment.models import Contract, HoursRecord, MonthlyStatement, StatementStatus
from clausier.employment.queries import previous_month, running_in, statements_to_chase
from clausier.organizations.access import get_object_for_user_or_404, is_facilitator_staff
from clausier.organizations.models import Company, InsertionStructure, OrganizationKind
from clausier.procurement.followup import STATUS_RULE, Status, add_months, month_start
from clausier.procurement.models import GlobalisationAgreement, Lot
from clausier.procurement.progress import POOLING_RULE, lots_progress
from clausier.publicsite.figures import cached_on_data
from clausier.reporting.charts import Point, line_chart
from clausier.utils.dates import month_label
from clausier.utils.formatting import fr_number
from clausier.utils.models import same_tenant
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin

MONTH_PARAM = "mois"
# An employer's hours grid and page, by its kind (the contract page and « Saisir un relevé » lead there).
EMPLOYER_PAGES = {
    OrganizationKind.COMPANY: ("www:company_hours", "www:company_detail"),
    OrganizationKind.INSERTION_STRUCTURE: ("www:structure_hours", "www:structure_detail"),
}
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


def today() -> datetime.date:
    """Today's date (one place, so that tests can fix it)."""
    return timezone.localdate()


def parse_month(value) -> datetime.date | None:
    """`2026-10` → 1 October 2026; anything else → None."""
    match = MONTH_RE.match((value or "").strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return datetime.date(year, month, 1)


# --- Statement steps (the grid and the statement page offer them) -------------------------------

TRANSITION_BUTTONS = {
    StatementStatus.SUBMITTED: "Transmettre le relevé",
    StatementStatus.VALIDATED: "Valider le relevé",
    StatementStatus.RETURNED: "Renvoyer pour correction",
}
TRANSITION_CONSEQUENCES = {
    StatementStatus.SUBMITTED: (
        "Le relevé part au facilitateur, qui le valide. Vous ne pourrez plus le modifier, sauf s'il vous est "
        "renvoyé pour correction."
    ),
    StatementStatus.VALIDATED: (
        "Ses heures comptent dès lors dans le suivi des lots et les bilans, et ses lignes ne se modifient plus "
        "(pour les corriger, renvoyez d'abord le relevé en correction)."
    ),
    StatementStatus.RETURNED: (
        "Le relevé revient à l'employeur, qui peut de nouveau le modifier ; ses heures ne comptent plus tant "
        "qu'il n'est pas validé de nouveau."
    ),
}


def allowed_transitions(statement, user) -> list[str]:
    """The states `user` may move `statement` to (the action decides again on POST)."""
    staff = is_facilitator_staff(user)
    return [
        to
        for to in (StatementStatus.SUBMITTED, StatementStatus.VALIDATED, StatementStatus.RETURNED)
        if to in TRANSITIONS[StatementStatus(statement.status)] and (staff or to not in FACILITATOR_ONLY)
    ]


def statement_lots(statement) -> list:
    """The lots a statement's hours go to (the way back from its page), with their market (one query)."""
    return list(
        Lot.objects.filter(contracts__hours__statement=statement)
        .select_related("market")
        .distinct()
        .order_by("market__reference", "number")
    )


def statement_steps(rows, user, back: str) -> list[dict]:
    """The statements of a grid's month (one per employer shown) with the steps `user` may take."""
    seen = {}
    for row in rows:
        if row.statement is not None:
            seen.setdefault(row.statement.pk, row.statement)
    return [
        {
            "statement": statement,
            "steps": [
                {"to": to, "label": TRANSITION_BUTTONS[to]} for to in allowed_transitions(statement, user)
            ],
            "back": back,
        }
        for statement in sorted(seen.values(), key=lambda s: s.employer.name)
    ]


# --- The grid -----------------------------------------------------------------------------------


STAFF_LOCKED = frozenset({StatementStatus.VALIDATED})  # the staff change any statement but a validated one
# An employer changes its own statement until it sends it, and again when it is returned (employment.actions).
EMPLOYER_LOCKED = frozenset({StatementStatus.VALIDATED, StatementStatus.SUBMITTED})


@dataclass
class GridRow:
    contract: Contract
    record: HoursRecord | None
    statement: MonthlyStatement | None
    index: int | None = None  # position among editable rows (keyboard navigation); None when read-only
    hours: str = ""
    training: str = ""
    errors: list = field(default_factory=list)
    locked: frozenset = STAFF_LOCKED  # statement states whose rows are read-only

    @property
    def readonly(self) -> bool:
        return self.statement is not None and self.statement.status in self.locked

    @property
    def key(self) -> str:
        return str(self.contract.uuid)


def _typed(value: Decimal | None) -> str:
    return "" if value is None else fr_number(value, decimals=None, grouping=False)


def grid_rows(*, user, contracts, month: datetime.date, locked=STAFF_LOCKED) -> list[GridRow]:
    """One row per contract of `contracts` running in `month`, with its record and statement (3 queries)."""
    contracts = list(
        contracts.filter(running_in(month))
        .select_related("participant", "contract_type", "modality", "employer", "lot__market")
        .order_by("participant__last_name", "participant__first_name", "start_date", "pk")
    )
    records = {
        r.contract_id: r
        for r in HoursRecord.objects.visible_to(user).filter(
            contract_id__in=[c.pk for c in contracts], month=month
        )
    }
    statements = {
        s.employer_id: s
        for s in MonthlyStatement.objects.visible_to(user)
        .filter(month=month, employer_id__in={c.employer_id for c in contracts})
        .select_related("employer")
    }
    rows, index = [], 0
    for contract in contracts:
        record = records.get(contract.pk)
        row = GridRow(contract, record, statements.get(contract.employer_id), locked=locked)
        if record is not None:
            row.hours, row.training = _typed(record.hours), _typed(record.training_hours)
        if not row.readonly:
            row.index, index = index, index + 1
        rows.append(row)
    return rows


class MonthlyGrid(View):
    """Base of the grids: a subject (lot or employer) and the contracts it covers; the access check is the
    subclass's (`MonthlyGridView`: the facilitator's staff; `spaces.EmployerGridView`: an employer's own)."""

    template_name = "www/hours/grid.html"
    partial_template_name = "www/hours/_grid.html"
    subject_label = ""
    show_lot = True
    show_employer = True
    locked = STAFF_LOCKED
    readonly_note = ""  # why some rows are read-only, when not "the statement is validated"

    def max_hours(self, contract) -> Decimal:
        return max_monthly_hours(self.request.organization)

    def declare(self, month, entries) -> list:
        """Save the month's entries, all or nothing (`Refused` otherwise)."""
        return declare_month(
            facilitator=self.request.organization, month=month, entries=entries, by=self.request.user
        )

    def get_subject(self):
        raise NotImplementedError

    def default_month(self) -> datetime.date:
        """The month shown without `?mois=`: the last complete one."""
        return previous_month(today())

    def get_contracts(self, subject):
        raise NotImplementedError

    def get_breadcrumb(self, subject) -> list[tuple[str, str]]:
        return []

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        patch_vary_headers(response, ("HX-Request",))
        return response

    def setup_subject(self):
        self.subject = self.get_subject()
        self.contracts = Contract.objects.visible_to(self.request.user).filter(
            **self.get_contracts(self.subject)
        )

    def get(self, request, *args, **kwargs):
        self.setup_subject()
        month = parse_month(request.GET.get(MONTH_PARAM)) or self.default_month()
        rows = grid_rows(user=request.user, contracts=self.contracts, month=month, locked=self.locked)
        return self.render(month, rows)

    def post(self, request, *args, **kwargs):
        self.setup_subject()
        month = parse_month(request.POST.get(MONTH_PARAM))
        if month is None:
            messages.error(
                request, "Mois invalide : choisissez un mois au format AAAA-MM. Rien n'a été enregistré."
            )
            return redirect(request.path)
        rows = grid_rows(user=request.user, contracts=self.contracts, month=month, locked=self.locked)
        entries = []
        for row in rows:
            if row.readonly:
                continue
            hours = request.POST.get(f"h-{row.key}", "").strip()[:20]
            training = request.POST.get(f"f-{row.key}", "").strip()[:20]
            row.hours, row.training = hours, training
            if not hours and not training:
                if row.record is not None:
                    row.errors.append(
                        "Les heures déjà saisies ne s'effacent pas en vidant la case : saisissez 0."
                    )
                continue
            entry = MonthEntry(row.contract, hours, training or "0")
            row.errors += check_entry(entry, month, self.max_hours(row.contract))[0]
            entries.append(entry)
        problems = sum(len(row.errors) for row in rows)
        general = []
        saved = None
        if not problems and entries:
            try:
                saved = self.declare(month, entries)
            except Refused as refusal:
                general = refusal.messages
        if problems or general:
            return self.render(month, rows, general=general, refused=True)
        notice = (
            f"Heures de {month_label(month)} enregistrées ({len(saved)} contrat{'s' if len(saved) > 1 else ''} "
            "modifié" + ("s" if len(saved) > 1 else "") + "). Elles compteront dans les heures réalisées "
            "une fois le relevé validé."
            if saved
            else f"Aucune heure à enregistrer pour {month_label(month)}."
        )
        if request.htmx:
            rows = grid_rows(user=request.user, contracts=self.contracts, month=month, locked=self.locked)
            return self.render(month, rows, notice=notice)
        messages.success(request, notice)
        return redirect(f"{request.path}?{MONTH_PARAM}={month:%Y-%m}")

    def render(self, month, rows, *, general=(), refused=False, notice=""):
        editable = [row for row in rows if not row.readonly]
        context = {
            "title": f"Heures de {month_label(month)} — "
            + " ".join(filter(None, (self.subject_label, str(self.subject)))),
            "subject": self.subject,
            "subject_label": self.subject_label,
            "breadcrumb_links": [
                {"label": label, "url": url} for label, url in self.get_breadcrumb(self.subject)
            ],
            "month": month,
            "month_value": f"{month:%Y-%m}",
            "month_label": month_label(month),
            "previous_month": f"{add_months(month, -1):%Y-%m}",
            "next_month": f"{add_months(month, 1):%Y-%m}",
            "month_param": MONTH_PARAM,
            "rows": rows,
            "has_editable": bool(editable),
            "readonly_count": len(rows) - len(editable),
            "readonly_note": self.readonly_note,
            "general_errors": list(general),
            "refused": refused,
            "error_count": sum(len(row.errors) for row in rows) + len(general),
            "notice": notice,
            "show_lot": self.show_lot,
            "show_employer": self.show_employer,
            "total_hours": sum((r.record.hours for r in rows if r.record), Decimal(0)),
            "total_counted": sum((r.record.counted_hours for r in rows if r.record), Decimal(0)),
            "statements": statement_steps(
                rows, self.request.user, f"{self.request.path}?{MONTH_PARAM}={month:%Y-%m}"
            ),
        }
        template = (
            self.partial_template_name
            if self.request.htmx and not self.request.htmx.boosted
            else self.template_name
        )
        return TemplateResponse(self.request, template, context)


class MonthlyGridView(FacilitatorStaffRequiredMixin, MonthlyGrid):
    """The facilitator's staff grids (per lot, per employer)."""


class LotGridView(MonthlyGridView):
    subject_label = ""  # a lot's name says « Lot 3 — … » itself
    show_lot = False
    show_employer = True

    def get_subject(self):
        return get_object_for_user_or_404(
            Lot.objects.select_related("market"), self.request.user, uuid=self.kwargs["uuid"]
        )

    def get_contracts(self, subject):
        return {"lot": subject}

    def get_breadcrumb(self, lot):
        return [
            ("Marchés", reverse("www:market_list")),
            (lot.market.reference, reverse("www:market_detail", kwargs={"uuid": lot.market.uuid})),
            (f"Lot {lot.number}", reverse("www:lot_detail", kwargs={"uuid": lot.uuid})),
        ]


class CompanyGridView(MonthlyGridView):
    subject_label = "employeur"
    show_lot = True
    show_employer = False
    model = Company
    list_url, detail_url, list_label = "www:company_list", "www:company_detail", "Entreprises"

    def get_subject(self):
        return get_object_for_user_or_404(self.model, self.request.user, uuid=self.kwargs["uuid"])

    def get_contracts(self, subject):
        return {"employer": subject}

    def get_breadcrumb(self, org):
        return [
            (self.list_label, reverse(self.list_url)),
            (org.name, reverse(self.detail_url, kwargs={"uuid": org.uuid})),
        ]


class StructureGridView(CompanyGridView):
    model = InsertionStructure
    list_url, detail_url, list_label = "www:structure_list", "www:structure_detail", "Structures d'insertion"


# --- Lot follow-up (lot page) -------------------------------------------------------------------


def lot_followup(lot, user, *, day: datetime.date | None = None) -> dict | None:
    """Everything the follow-up block of the lot page shows; None when the lot has no clause."""
    day = day or today()
    lot = Lot.objects.select_related("clause", "market").get(pk=lot.pk)
    if getattr(lot, "clause", None) is None:
        return None
    progress = lots_progress([lot], today=day)[lot.pk]
    followup = progress.followup
    start = lot.start_date or lot.market.start_date
    end = lot.end_date or lot.market.end_date
    months = sorted(progress.monthly)
    first = month_start(start) if start else (months[0] if months else None)
    last_complete = add_months(month_start(day), -1)
    shown_until = min(last_complete, month_start(end)) if end else last_complete
    last = max(shown_until, months[-1]) if months else shown_until
    table, points, cumulative = [], [], Decimal(0)
    if first is not None and first <= last:
        month = first
        while month <= last:
            value = progress.monthly.get(month, Decimal(0))
            cumulative += value
            table.append({"label": f"{month:%m/%Y}", "hours": value, "cumulative": cumulative})
            points.append(Point(f"{month:%m/%y}", cumulative))
            month = add_months(month, 1)
    projection = None
    if followup.projection is not None and end and followup.status != Status.DONE and end >= day:
        projection = (f"{end:%m/%y}", followup.projection)
    chart = (
        line_chart(
            points,
            title=f"Heures d'insertion cumulées — {lot}",
            description=(
                f"Heures réalisées cumulées mois par mois ({fr_number(followup.realised)} h au total, "
                f"dont {fr_number(progress.from_pool)} h reportées d'une convention de globalisation), "
                f"objectif {fr_number(followup.target)} h"
                + (f", projection {fr_number(projection[1])} h à la fin du lot." if projection else ".")
            ),
            target=followup.target,
            projection=projection,
        )
        if points
        else None
    )
    pools = []
    if progress.pools and is_facilitator_staff(user):
        pools = list(
            GlobalisationAgreement.objects.visible_to(user).filter(pk__in=progress.pools).order_by("name")
        )
    return {
        "followup": followup,
        "progress": progress,
        "status_label": followup.status.label,
        "status_key": str(followup.status),
        "status_rule": STATUS_RULE,
        "pooling_rule": POOLING_RULE if progress.pools else "",
        "pools": pools,
        "in_pool": bool(progress.pools),
        "chart": chart,
        "table": table,
        "projection_end": end,
    }


# --- Dashboard alerts ---------------------------------------------------------------------------

RISK_WINDOW_MONTHS = 12
RISK_RULE = (
    "Lots avec une clause, commencés, en cours ou terminés depuis moins de "
    f"{RISK_WINDOW_MONTHS} mois, dont l'état est « à risque » ou « en retard »."
)


RISK_FIELDS = (
    *("uuid", "facilitator_id", "number", "title", "start_date", "end_date"),
    *("clause__hours_target", "clause__lot_id"),
    *("market__reference", "market__start_date", "market__end_date"),
    *("market__buyer__uuid", "market__buyer__name"),
)


def lots_at_risk(facilitator, *, day: datetime.date | None = None, lots=None) -> list:
    """Progress of the facilitator's lots at risk or late (not done), late first (a constant number of queries).

    `lots`: a queryset of lots to choose from (the dashboard's filters), all the facilitator's by default.
    """
    day = day or today()
    since = add_months(month_start(day), -RISK_WINDOW_MONTHS)
    lots = (
        (Lot.objects.all() if lots is None else lots)
        .filter(same_tenant(facilitator, "market", "clause"), clause__isnull=False)
        .annotate(ends=Coalesce("end_date", "market__end_date"))
        .filter(Q(ends__isnull=True) | Q(ends__gte=since))
        .select_related("clause", "market__buyer")
        # What the follow-up, the sort and the list read: hundreds of lots are loaded to keep a few.
        .only(*RISK_FIELDS)
    )
    progress = lots_progress(lots, today=day).values()
    risky = [p for p in progress if p.followup.status in (Status.AT_RISK, Status.LATE)]
    return sorted(
        risky,
        key=lambda p: (
            p.followup.status != Status.LATE,
            p.followup.completion if p.followup.completion is not None else Decimal(0),
            p.lot.market.reference,
            p.lot.number,
        ),
    )


DASHBOARD_ALERTS = "www/_dashboard_alerts.html"


def dashboard_alerts(facilitator, *, day: datetime.date | None = None) -> dict:
    """The relances block, rendered (`alerts_html`): cached like the figures until the territory's data or the
    day change (the list is one query over every employer's contracts, read by every dashboard view)."""
    day = day or today()
    month = previous_month(day)

    def render():
        context = {
            "relances": list(statements_to_chase(facilitator, month)),
            "relances_month_label": month_label(month),
            "relances_month_value": f"{month:%Y-%m}",
        }
        return render_to_string(DASHBOARD_ALERTS, context)

    # The lots at risk follow the dashboard's filters: see `clausier.www.reporting.views.dashboard_figures`.
    return {"alerts_html": cached_on_data(facilitator, f"dashboard:alerts:{month:%Y-%m}", render, day=day)}
