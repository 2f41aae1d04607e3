"""Contracts, monthly hours and statements: what a payroll tool reads and declares.

Employers (a company for its own employees, an insertion structure for the people it places) and the
facilitator's staff read the contracts and hours they see in the pages, declare a month's hours in one request
(all or nothing, through `employment.actions.declare_month`, like the monthly grid) and the employer sends its
statement. A contract shows the person's name, never their eligibility criteria (domain.md §8).
"""

import datetime
import re
from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from ninja import Field, Path, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from clausier.accounts.models import ApiScope
from clausier.api.auth import is_staff, require
from clausier.api.idempotency import idempotency_header, render, replay_or_run
from clausier.api.pagination import KeysetPagination
from clausier.api.problems import Problem
from clausier.audit.log import record_view
from clausier.employment.actions import (
    EMPLOYER_EDITABLE,
    NOT_STARTED,
    NOT_YOUR_CONTRACT,
    MonthEntry,
    change_statement_status,
    check_entry,
    declare_month,
    max_monthly_hours,
)
from clausier.employment.models import Contract, HoursRecord, MonthlyStatement, StatementStatus
from clausier.organizations.access import get_object_for_user_or_404
from clausier.organizations.models import OrganizationKind as K
from clausier.procurement.followup import month_start

router = Router(tags=["Heures et contrats"])
VIEW = {K.FACILITATOR, K.COMPANY, K.INSERTION_STRUCTURE}
EMPLOYERS = {K.COMPANY, K.INSERTION_STRUCTURE}
MAX_ENTRIES = 2000
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
MONTH_EXPECTED = "un mois AAAA-MM (ou le premier jour du mois, AAAA-MM-01) est attendu"
UNKNOWN_CONTRACT = "contrat introuvable : aucun de vos contrats n'a cet identifiant"
MONTH_PATH = Path(description="Le mois : AAAA-MM (ou AAAA-MM-01).", examples=["2024-05"])


# --- Schemas ------------------------------------------------------------------------------------------------


class ContractOut(Schema):
    id: UUID = Field(alias="uuid")
    participant: UUID = Field(alias="participant.uuid")
    participant_name: str = Field(description="Prénom et nom, comme dans l'espace de l'employeur.")
    lot: UUID = Field(alias="lot.uuid")
    market: UUID = Field(alias="lot.market.uuid")
    company: UUID = Field(alias="company.uuid", description="L'entreprise dont l'obligation est remplie.")
    employer: UUID = Field(alias="employer.uuid", description="L'entreprise ou la structure d'insertion.")
    modality: str = Field(alias="modality.code")
    contract_type: str = Field(alias="contract_type.code")
    rome_code: str
    job_title: str
    start_date: datetime.date
    end_date: datetime.date | None
    weekly_hours: Decimal | None
    updated_at: datetime.datetime

    @staticmethod
    def resolve_participant_name(contract):
        return str(contract.participant)


class HoursOut(Schema):
    id: UUID = Field(alias="uuid")
    contract: UUID = Field(alias="contract.uuid")
    month: datetime.date = Field(description="Le premier jour du mois.")
    hours: Decimal = Field(description="Heures travaillées.")
    training_hours: Decimal = Field(description="Dont heures de formation.")
    counted_hours: Decimal = Field(description="Heures comptées pour la clause (règles de comptage).")
    statement: UUID | None = Field(None, alias="statement.uuid")
    statement_status: str | None = Field(None, alias="statement.status")
    updated_at: datetime.datetime


class StatementOut(Schema):
    id: UUID = Field(alias="uuid")
    facilitator: UUID = Field(alias="facilitator.uuid")
    employer: UUID = Field(alias="employer.uuid")
    employer_name: str = Field(alias="employer.name")
    month: datetime.date
    status: str = Field(description="draft, submitted, validated ou returned.")
    updated_at: datetime.datetime


class HoursEntryIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contract: UUID
    hours: Decimal = Field(description="Heures travaillées dans le mois (au plus deux décimales).")
    training_hours: Decimal = Field(Decimal(0), description="Dont heures de formation.")


class DeclarationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    entries: list[HoursEntryIn] = Field(min_length=1, max_length=MAX_ENTRIES)


class DeclarationOut(Schema):
    month: datetime.date
    records: list[HoursOut] = Field(description="Les heures du mois des contrats déclarés, après l'écriture.")
    created: int
    updated: int
    unchanged: int


# --- Reads --------------------------------------------------------------------------------------------------


def contracts_of(request):
    return Contract.objects.visible_to(request.auth).select_related(
        "participant", "lot__market", "company", "employer", "modality", "contract_type"
    )


@router.get("/contracts", response=list[ContractOut], summary="Contrats (sans les critères d'éligibilité)")
@paginate(KeysetPagination)
def list_contracts(request):
    require(request, kinds=VIEW)
    return contracts_of(request)


@router.get("/contracts/{contract_id}", response=ContractOut, summary="Un contrat")
def get_contract(request, contract_id: UUID):
    require(request, kinds=VIEW)
    found = get_object_for_user_or_404(contracts_of(request), request.auth, uuid=contract_id)
    # Like the contract page: whose data was shown, to whom (the token's name in the channel).
    record_view(
        obj=found.participant,
        by=request.auth,
        detail=f"contrat {found.uuid} ({found.contract_type}, {found.start_date:%d/%m/%Y})",
    )
    return found


@router.get("/hours", response=list[HoursOut], summary="Heures mensuelles des contrats")
@paginate(KeysetPagination)
def list_hours(request, month: datetime.date | None = None, contract: UUID | None = None):
    require(request, kinds=VIEW)
    rows = HoursRecord.objects.visible_to(request.auth).select_related("contract", "statement")
    if month is not None:
        rows = rows.filter(month=month_start(month))
    if contract is not None:
        rows = rows.filter(contract__uuid=contract)
    return rows


@router.get("/statements", response=list[StatementOut], summary="Relevés mensuels des employeurs")
@paginate(KeysetPagination)
def list_statements(request, month: datetime.date | None = None, status: StatementStatus | None = None):
    require(request, kinds=VIEW)
    rows = MonthlyStatement.objects.visible_to(request.auth).select_related("facilitator", "employer")
    if month is not None:
        rows = rows.filter(month=month_start(month))
    if status is not None:
        rows = rows.filter(status=status)
    return rows


# --- Writes -------------------------------------------------------------------------------------------------


def parse_month(value: str) -> datetime.date:
    """`2024-03` or `2024-03-01` → 1 March 2024; anything else is a 422 naming `path.month`."""
    match = MONTH_RE.match(value.strip())
    message = MONTH_EXPECTED
    if match:
        try:
            day = datetime.date(int(match[1]), int(match[2]), int(match[3] or 1))
        except ValueError:
            day = None
        if day is not None and day.day == 1:
            return day
        if day is not None:
            message = "le premier jour du mois est attendu (AAAA-MM ou AAAA-MM-01)"
    raise Problem(422, f"Mois invalide : {message}.", [{"field": "path.month", "message": message}])


def invalid(errors: list[dict]):
    detail = "Rien n'a été enregistré : " + " ; ".join(f"{e['field']} : {e['message']}" for e in errors[:5])
    if len(errors) > 5:
        detail += f" (et {len(errors) - 5} autres)"
    return Problem(422, detail, errors)


def _has_cents_at_most(value: Decimal) -> bool:
    exponent = value.normalize().as_tuple().exponent  # no quantize: it raises on a huge number
    return isinstance(exponent, int) and exponent >= -2


def resolve_entries(request, month: datetime.date, entries: list[HoursEntryIn]) -> list[MonthEntry]:
    """The entries with their contracts (one query), or a 422 naming each bad row; nothing is written."""
    found = {
        c.uuid: c
        for c in contracts_of(request)
        .select_related("facilitator__settings")
        .filter(uuid__in={e.contract for e in entries})
    }
    employer = None if is_staff(request) else request.auth.current_organization
    errors, resolved, seen = [], [], {}
    for index, entry in enumerate(entries):
        row = f"body.entries.{index}"
        contract = found.get(entry.contract)
        if contract is None:
            errors.append({"field": f"{row}.contract", "message": UNKNOWN_CONTRACT})
            continue
        if entry.contract in seen:
            message = f"ce contrat figure déjà à la ligne {seen[entry.contract]} : une ligne par contrat"
            errors.append({"field": f"{row}.contract", "message": message})
            continue
        seen[entry.contract] = index
        if employer is not None and contract.employer_id != employer.pk:
            errors.append({"field": f"{row}.contract", "message": NOT_YOUR_CONTRACT})
            continue
        for name in ("hours", "training_hours"):
            if not _has_cents_at_most(getattr(entry, name)):
                errors.append(
                    {"field": f"{row}.{name}", "message": "au plus deux décimales (par exemple 151.67)"}
                )
        item = MonthEntry(contract, entry.hours, entry.training_hours)
        problems, _, _ = check_entry(item, month, max_monthly_hours(contract.facilitator))
        errors += [{"field": row, "message": problem} for problem in problems]
        resolved.append(item)
    if errors:
        raise invalid(errors)
    return resolved


def declare(request, month: datetime.date, payload: DeclarationIn) -> dict:
    resolved = resolve_entries(request, month, payload.entries)
    contracts = [item.contract for item in resolved]
    by_facilitator: dict[int, list[MonthEntry]] = {}
    for item in resolved:  # an employer may work with several facilitators: one declaration each
        by_facilitator.setdefault(item.contract.facilitator_id, []).append(item)
    with transaction.atomic():  # all the facilitators' declarations, or none
        existing = set(
            HoursRecord.objects.filter(contract__in=contracts, month=month).values_list(
                "contract_id", flat=True
            )
        )
        saved = []
        for group in by_facilitator.values():
            saved += declare_month(
                facilitator=group[0].contract.facilitator, month=month, entries=group, by=request.auth
            )
    created = sum(1 for c in contracts if c.pk not in existing)
    order = {c.pk: index for index, c in enumerate(contracts)}
    records = sorted(
        HoursRecord.objects.filter(contract__in=contracts, month=month).select_related(
            "contract", "statement"
        ),
        key=lambda r: order[r.contract_id],
    )
    return {
        "month": month,
        "records": records,
        "created": created,
        "updated": len(saved) - created,
        "unchanged": len(contracts) - len(saved),
    }


@router.put(
    "/statements/{month}/hours",
    response=DeclarationOut,
    summary="Déclarer les heures d'un mois (tout ou rien)",
    description=(
        "Les heures de plusieurs contrats pour un mois (`AAAA-MM`), une ligne par contrat : crée ou met à jour "
        "l'enregistrement du contrat pour le mois. Une ligne invalide et rien n'est enregistré (422, chaque "
        f"ligne nommée : `body.entries.3.contract`). Au plus {MAX_ENTRIES} lignes. Un employeur déclare ses "
        "propres contrats, dans un relevé qu'il n'a pas encore transmis (ou qui lui est renvoyé) ; le personnel "
        "du facilitateur, ceux de tous ses employeurs."
    ),
)
def declare_hours(
    request,
    payload: DeclarationIn,
    month: str = MONTH_PATH,
    idempotency_key: str | None = idempotency_header(),
):
    require(request, kinds=VIEW, scope=ApiScope.HOURS)
    day = parse_month(month)
    current = month_start(timezone.localdate())
    if day > current:
        message = f"{NOT_STARTED} (au plus tard {current:%Y-%m})"
        raise Problem(
            422, f"Rien n'a été enregistré : {message}.", [{"field": "path.month", "message": message}]
        )
    return replay_or_run(request, lambda: render(request, DeclarationOut, declare(request, day, payload)))


def submit_statements(request, month: datetime.date, facilitator: UUID | None) -> list[MonthlyStatement]:
    org = request.auth.current_organization
    rows = MonthlyStatement.objects.visible_to(request.auth).filter(employer=org, month=month)
    if facilitator is not None:
        rows = rows.filter(facilitator__uuid=facilitator)
    chosen = list(rows.order_by("pk"))
    if not chosen:
        raise Http404("Aucun relevé pour ce mois.")
    # Several facilitators: send those still to send; when none is, the action says why (already sent…).
    todo = [s for s in chosen if s.status in EMPLOYER_EDITABLE] or chosen[:1]
    with transaction.atomic():
        for statement in todo:
            change_statement_status(statement=statement, to=StatementStatus.SUBMITTED, by=request.auth)
    return list(
        MonthlyStatement.objects.filter(pk__in=[s.pk for s in chosen])
        .select_related("facilitator", "employer")
        .order_by("pk")
    )


@router.post(
    "/statements/{month}/submit",
    response=list[StatementOut],
    summary="Transmettre le relevé d'un mois au facilitateur",
    description=(
        "L'employeur transmet son relevé du mois (`AAAA-MM`) : ses heures ne se modifient plus, sauf s'il lui est "
        "renvoyé pour correction. Avec plusieurs facilitateurs, tous les relevés du mois à transmettre, ou celui "
        "de `facilitator`. La réponse : les relevés du mois concernés."
    ),
)
def submit(
    request,
    month: str = MONTH_PATH,
    facilitator: UUID | None = None,
    idempotency_key: str | None = idempotency_header(),
):
    require(request, kinds=EMPLOYERS, scope=ApiScope.HOURS)
    day = parse_month(month)
    return replay_or_run(
        request, lambda: render(request, list[StatementOut], submit_statements(request, day, facilitator))
    )
