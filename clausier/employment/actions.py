"""Writes on contracts, hours and monthly statements. Each action is atomic and writes its audit entry."""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.employment.counting import RuleBook
from clausier.employment.models import (
    Contract,
    HoursRecord,
    MonthlyStatement,
    StatementStatus,
    StatementTransition,
)
from clausier.notifications.events import statement_returned
from clausier.organizations.access import current_organization, is_facilitator_admin
from clausier.organizations.models import OrganizationKind
from clausier.participants.profiles import refresh_profile
from clausier.procurement.followup import month_start
from clausier.procurement.models import Award
from clausier.utils.bulk import update_by_value

DEFAULT_MAX_MONTHLY_HOURS = Decimal(220)
UPDATE_BATCH = 500


class Refused(Exception):
    """The action was refused and wrote nothing; `messages` are French sentences for the user."""

    def __init__(self, messages):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__(" ".join(self.messages))


@dataclass(frozen=True)
class MonthEntry:
    contract: object
    hours: object
    training_hours: object = Decimal(0)


def max_monthly_hours(facilitator) -> Decimal:
    settings = getattr(facilitator, "settings", None)
    try:
        return Decimal(settings.max_monthly_hours) if settings else DEFAULT_MAX_MONTHLY_HOURS
    except AttributeError:
        return DEFAULT_MAX_MONTHLY_HOURS


def _fr_hours(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",") + " h"


def _decimal(value) -> Decimal | None:
    if isinstance(value, str):
        value = value.replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


# Hours are declared for a month that has begun (the current month included: payroll closes before its end),
# never for a month to come; the grid, the statements, the imports and the API all go through `check_entry`.
NOT_STARTED = "ce mois n'a pas encore commencé : les heures se déclarent pour un mois commencé"


def check_entry(
    entry: MonthEntry, month: datetime.date, maximum: Decimal
) -> tuple[list[str], Decimal, Decimal]:
    """French problems with one contract-month entry (empty if fine), and the parsed hours."""
    contract = entry.contract
    where = f"Contrat de {contract.participant} ({contract.lot}) — {month:%m/%Y}"
    hours, training = _decimal(entry.hours), _decimal(entry.training_hours or 0)
    problems = []
    if hours is None or training is None:
        return [f"{where} : saisissez un nombre d'heures (par exemple 151,67)."], Decimal(0), Decimal(0)
    if hours < 0 or training < 0:
        problems.append(f"{where} : les heures ne peuvent pas être négatives.")
    if hours > maximum:
        problems.append(
            f"{where} : {_fr_hours(hours)} dépasse le maximum plausible de {_fr_hours(maximum)} par mois."
        )
    if training > hours:
        problems.append(f"{where} : les heures de formation ne peuvent pas dépasser les heures travaillées.")
    current = month_start(timezone.localdate())
    if month > current:
        problems.append(f"{where} : {NOT_STARTED} (au plus tard {current:%m/%Y}).")
    starts, ends = month_start(contract.start_date), contract.end_date and month_start(contract.end_date)
    if month < starts or (ends and month > ends):
        period = f"du {contract.start_date:%d/%m/%Y}" + (
            f" au {contract.end_date:%d/%m/%Y}" if contract.end_date else ""
        )
        problems.append(f"{where} : ce mois est en dehors des dates du contrat ({period}).")
    return problems, hours, training


def _lock_statement(*, facilitator, employer, month) -> MonthlyStatement:
    statement, _ = MonthlyStatement.objects.get_or_create(
        facilitator=facilitator, employer=employer, month=month
    )
    # Every write on an employer's month goes through this row lock: no lost update, no duplicate record.
    return MonthlyStatement.objects.select_for_update().get(pk=statement.pk)


# An employer (company or insertion structure) declares the hours of its own contracts, in a statement it has
# not sent yet (draft) or that was returned to it; once sent, only the facilitator's staff change it.
EMPLOYER_EDITABLE = (StatementStatus.DRAFT, StatementStatus.RETURNED)
NOT_YOUR_CONTRACT = (
    "Vous ne pouvez déclarer que les heures des contrats dont votre organisation est l'employeur."
)


def submitted_message(month: datetime.date) -> str:
    return (
        f"Le relevé de {month:%m/%Y} est transmis au facilitateur : il ne se modifie plus, sauf s'il vous est "
        "renvoyé pour correction."
    )


def _declaring_employer(by):
    """The employer declaring its own hours (`by` acts for a company or a structure), or None for the staff."""
    org = current_organization(by)
    return org if org is not None and org.kind != OrganizationKind.FACILITATOR else None


def declare_month(*, facilitator, month: datetime.date, entries: list[MonthEntry], by) -> list[HoursRecord]:
    """Record the hours of several contracts for one month, all or nothing.

    Creates or updates one record per contract and month, counts them with the facilitator's rules
    (the rule applied is stored on the record), and refuses with every problem at once. An employer (`by`
    acting for a company or a structure) only declares its own contracts, in a draft or returned statement.
    """
    month = month_start(month)
    maximum = max_monthly_hours(facilitator)
    employer = _declaring_employer(by)
    problems, parsed = [], []
    for entry in entries:
        if entry.contract.facilitator_id != facilitator.pk:
            raise Refused("Ce contrat n'appartient pas à ce facilitateur.")
        if employer is not None and entry.contract.employer_id != employer.pk:
            raise Refused(NOT_YOUR_CONTRACT)
        entry_problems, hours, training = check_entry(entry, month, maximum)
        problems += entry_problems
        parsed.append((entry.contract, hours, training))
    if problems:
        raise Refused(problems)

    rules = RuleBook(facilitator)
    with transaction.atomic():
        statements = {}
        for contract, _, _ in parsed:
            if contract.employer_id not in statements:
                statement = _lock_statement(facilitator=facilitator, employer=contract.employer, month=month)
                if statement.status == StatementStatus.VALIDATED:
                    raise Refused(
                        f"Le relevé de {month:%m/%Y} de {contract.employer} est validé : "
                        "renvoyez-le en correction avant de modifier ses heures."
                    )
                if employer is not None and statement.status not in EMPLOYER_EDITABLE:
                    raise Refused(submitted_message(month))
                statements[contract.employer_id] = statement
        existing = {
            r.contract_id: r
            for r in HoursRecord.objects.filter(
                contract__in=[c for c, _, _ in parsed], month=month
            ).select_for_update()
        }
        to_create, to_update, changes = [], [], {}
        now = timezone.now()  # bulk_update does not apply auto_now: stamp the edited records ourselves
        for contract, hours, training in parsed:
            market_end = contract.lot.end_date or contract.lot.market.end_date
            counted = rules.count(
                contract=contract, month=month, hours=hours, training_hours=training, market_end=market_end
            )
            statement = statements[contract.employer_id]
            current = existing.get(contract.pk)
            if current is None:
                to_create.append(
                    HoursRecord(
                        facilitator=facilitator,
                        contract=contract,
                        month=month,
                        statement=statement,
                        hours=hours,
                        training_hours=training,
                        counted_hours=counted.hours,
                        rule=counted.rule,
                    )
                )
                changes[str(contract.uuid)] = [None, str(hours)]
            elif (current.hours, current.training_hours, current.counted_hours, current.rule_id) != (
                hours,
                training,
                counted.hours,
                counted.rule.pk,
            ):
                changes[str(contract.uuid)] = [str(current.hours), str(hours)]
                current.hours, current.training_hours = hours, training
                current.counted_hours, current.rule, current.statement = (
                    counted.hours,
                    counted.rule,
                    statement,
                )
                current.updated_at = now
                to_update.append(current)
        HoursRecord.objects.bulk_create(to_create)
        # One WHEN per distinct value, not per row (`utils.bulk`): a 500-contract month through the API spent
        # most of its time building bulk_update's 3,000 expressions.
        update_by_value(
            HoursRecord,
            to_update,
            ["hours", "training_hours", "counted_hours", "rule", "statement", "updated_at"],
            batch_size=UPDATE_BATCH,
        )
        employer_of = {str(c.uuid): c.employer_id for c, _, _ in parsed}  # once: not per change × statement
        for statement in statements.values():
            mine = {k: v for k, v in changes.items() if employer_of[k] == statement.employer_id}
            if mine:
                record(action=Action.UPDATE, obj=statement, by=by, changes=mine, detail="heures du mois")
    return to_create + to_update


# Contracts -------------------------------------------------------------------------------------


def create_contract(
    *,
    facilitator,
    participant,
    lot,
    company,
    employer,
    modality,
    contract_type,
    start_date: datetime.date,
    end_date: datetime.date | None = None,
    weekly_hours=None,
    rome_code: str = "",
    job_title: str = "",
    override_reason: str = "",
    by,
) -> Contract:
    """Place a participant on a lot. Refused if the person's eligibility is not valid at the start date,
    unless a facilitator admin overrides it with a reason (kept on the contract and in the audit log)."""
    problems = []
    if {participant.facilitator_id, lot.facilitator_id} != {facilitator.pk}:
        raise Refused("Ce participant ou ce lot n'appartient pas à ce facilitateur.")
    if participant.merged_into_id:
        problems.append(f"La fiche de {participant} a été fusionnée : placez la fiche conservée.")
    if not Award.objects.filter(lot=lot, company=company).exists():
        problems.append(f"{company} n'est pas attributaire du {lot}.")
    if modality.code == "direct_hire" and employer.pk != company.pk:
        problems.append("En embauche directe, l'employeur est l'entreprise attributaire.")
    if end_date and end_date < start_date:
        problems.append("La date de fin doit être postérieure à la date de début.")
    override = ""
    if not participant.is_eligible_on(start_date):
        if not override_reason.strip():
            problems.append(
                f"{participant} n'a pas de validation d'éligibilité en cours au {start_date:%d/%m/%Y}. "
                "Validez son éligibilité, ou un administrateur du facilitateur peut passer outre en indiquant un motif."
            )
        elif not is_facilitator_admin(by):
            problems.append(
                "Seul un administrateur du facilitateur peut placer une personne sans éligibilité valide."
            )
        else:
            override = override_reason.strip()
    if problems:
        raise Refused(problems)
    with transaction.atomic():
        contract = Contract.objects.create(
            facilitator=facilitator,
            participant=participant,
            lot=lot,
            company=company,
            employer=employer,
            modality=modality,
            contract_type=contract_type,
            start_date=start_date,
            end_date=end_date,
            weekly_hours=weekly_hours,
            rome_code=rome_code,
            job_title=job_title,
            eligibility_override_reason=override,
            eligibility_override_by=by if override else None,
        )
        record(
            action=Action.CREATE, obj=contract, by=by, detail=f"dérogation : {override}" if override else ""
        )
        refresh_profile(participant)  # entry = the first contract's start, for reporting
    return contract


# Statement lifecycle ---------------------------------------------------------------------------

TRANSITIONS = {
    StatementStatus.DRAFT: {StatementStatus.SUBMITTED, StatementStatus.VALIDATED},
    StatementStatus.SUBMITTED: {StatementStatus.VALIDATED, StatementStatus.RETURNED},
    StatementStatus.RETURNED: {StatementStatus.SUBMITTED, StatementStatus.VALIDATED},
    StatementStatus.VALIDATED: {StatementStatus.RETURNED},
}
FACILITATOR_ONLY = {StatementStatus.VALIDATED, StatementStatus.RETURNED}


def change_statement_status(
    *, statement: MonthlyStatement, to: str, by, comment: str = ""
) -> MonthlyStatement:
    """Move a statement along its lifecycle; validating or returning is for the facilitator's staff."""
    org = current_organization(by)
    is_staff = (
        org is not None and org.kind == OrganizationKind.FACILITATOR and org.pk == statement.facilitator_id
    )
    is_employer = org is not None and org.pk == statement.employer_id
    if not (is_staff or is_employer) or (to in FACILITATOR_ONLY and not is_staff):
        raise Refused("Vous n'avez pas le droit de faire cette opération sur ce relevé.")
    if to == StatementStatus.RETURNED and not comment.strip():
        raise Refused(
            "Indiquez ce qui doit être corrigé : le commentaire est obligatoire pour renvoyer un relevé."
        )
    with transaction.atomic():
        locked = MonthlyStatement.objects.select_for_update().get(pk=statement.pk)
        if to not in TRANSITIONS[StatementStatus(locked.status)]:
            raise Refused(
                f"Un relevé « {locked.get_status_display().lower()} » ne peut pas passer à "
                f"« {StatementStatus(to).label.lower()} »."
            )
        before = locked.status
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        transition = StatementTransition.objects.create(
            statement=locked, from_status=before, to_status=to, by=by, comment=comment
        )
        record(action=Action.TRANSITION, obj=locked, by=by, changes={"status": [before, to]}, detail=comment)
        if to == StatementStatus.RETURNED:  # the employer's members are e-mailed once this commits (issue 8)
            transaction.on_commit(lambda: statement_returned(transition=transition))
    return locked
