"""Kind "heures": the monthly hours statement an employer sends (one row per contract and month).

A row names its contract either by its identifier (the hidden column of the statement template) or by the
person (last name, birth date, optionally first name) and the lot (number, optionally the market reference).
Rows are committed through `employment.actions.declare_month`, one call per month, in one transaction.

An employer uploading its own statement (option `employer`: its id) declares only its contracts: a row naming
another employer's contract is refused (its person is not looked up among the others' contracts, so the file
tells nothing about them), and so are the months whose statement it has already sent (`EMPLOYER_EDITABLE`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from clausier.employment.actions import (
    EMPLOYER_EDITABLE,
    NOT_STARTED,
    MonthEntry,
    check_entry,
    declare_month,
    max_monthly_hours,
)
from clausier.employment.models import Contract, HoursRecord, MonthlyStatement, StatementStatus
from clausier.procurement.followup import month_start

from ..base import CREATE, UNCHANGED, UPDATE, Field, Item, Kind, Validation
from ..values import ValueProblem, is_blank, normalize_label, parse_date, parse_hours, parse_month, parse_text
from .common import lot_key

CONTRACT_LABEL = "Identifiant contrat (ne pas modifier)"
ZERO = Decimal(0)
EMPLOYER_OPTION = "employer"  # validation option: the id of the employer uploading its own statement
OTHER_EMPLOYER = (
    "ce contrat n'est pas l'un des vôtres : vous ne pouvez déclarer que les heures des personnes dont votre "
    "organisation est l'employeur."
)


class HoursKind(Kind):
    name = "heures"
    label = "Relevé d'heures mensuel"
    # Order matters for the suggestions: "formation" columns are matched before "heures" ones.
    fields = (
        Field(
            "contract",
            "Identifiant contrat",
            ("identifiant contrat", "identifiant du contrat", "id contrat", "uuid contrat", "uuid"),
            help="colonne cachée du modèle de relevé ; sinon, nom, date de naissance et lot",
        ),
        Field(
            "last_name",
            "Nom",
            ("nom", "nom d usage", "nom du participant", "nom du salarie", "nom salarie", "nom beneficiaire"),
        ),
        Field("first_name", "Prénom", ("prenom", "prenom du participant", "prenom du salarie")),
        Field(
            "birth_date",
            "Date de naissance",
            ("date de naissance", "ne le", "nee le", "ne e le", "naissance"),
        ),
        Field(
            "market",
            "Marché",
            (
                "marche",
                "n marche",
                "numero du marche",
                "numero de marche",
                "reference du marche",
                "ref marche",
            ),
        ),
        Field("lot", "Lot", ("lot", "n lot", "numero de lot", "numero du lot")),
        Field("month", "Mois", ("mois", "periode", "mois concerne", "mois de"), required=True),
        Field(
            "training_hours",
            "dont heures de formation",
            ("dont heures de formation", "heures de formation", "dont formation", "formation", "h formation"),
        ),
        Field(
            "hours",
            "Heures travaillées",
            (
                "heures travaillees",
                "heures",
                "nb heures",
                "nombre d heures",
                "nb d heures",
                "heures realisees",
                "heures effectuees",
            ),
            required=True,
        ),
    )

    def missing(self, columns):
        problems = super().missing(columns)
        if "contract" not in columns and not {"last_name", "birth_date", "lot"} <= set(columns):
            absent = [self.field(k).label for k in ("last_name", "birth_date", "lot") if k not in columns]
            problems.append(
                "Pour retrouver chaque contrat, il faut la colonne « Identifiant contrat » ou les colonnes "
                f"nom, date de naissance et lot ; manquante(s) : {', '.join(absent)}."
            )
        return problems

    def is_template(self, records) -> bool:
        column = records.header.column(CONTRACT_LABEL)
        return column is not None and records.header.matches.get("contract") == column

    # --- Validation -----------------------------------------------------------------------------------------

    def check_rows(self, validation: Validation, *, facilitator) -> None:
        columns = validation.columns
        employer_id = validation.options.get(EMPLOYER_OPTION)
        index = ContractIndex(facilitator, employer_id=employer_id)
        maximum = max_monthly_hours(facilitator)
        get = {key: column.index for key, column in columns.items()}
        parsed = []
        seen: dict[tuple[int, object], int] = {}
        for row in validation.records.rows:
            cells = row.cells
            width = len(cells)

            def cell(key, cells=cells, width=width):
                position = get.get(key)
                return cells[position] if position is not None and position < width else None

            if (
                is_blank(cell("hours"))
                and is_blank(cell("training_hours"))
                and not is_blank(cell("contract"))
            ):
                continue  # a contract of the statement template left empty: nothing declared
            ok = True
            try:
                month = parse_month(cell("month"))
            except ValueProblem as problem:
                validation.add(row.number, columns["month"], problem.message)
                month, ok = None, False
            try:
                hours = parse_hours(cell("hours"))
            except ValueProblem as problem:
                validation.add(row.number, columns["hours"], problem.message)
                ok = False
            training = ZERO
            if not is_blank(cell("training_hours")):
                try:
                    training = parse_hours(cell("training_hours"))
                except ValueProblem as problem:
                    validation.add(row.number, columns["training_hours"], problem.message)
                    ok = False
            contract = index.find(validation, row, cell, month)
            if contract is None or month is None:
                continue
            key = (contract.pk, month)
            if key in seen:  # a second row for the contract and month, even if the first one is in error
                validation.add(
                    row.number,
                    None,
                    f"ce contrat a déjà des heures pour {month:%m/%Y} à la ligne {seen[key]} du fichier.",
                )
                continue
            seen[key] = row.number
            if not ok:
                continue
            for message in check_entry(MonthEntry(contract, hours, training), month, maximum)[0]:
                on_month = "dates du contrat" in message or NOT_STARTED in message
                column = columns["month"] if on_month else columns["hours"]
                validation.add(row.number, column, message.split(" : ", 1)[-1])
            parsed.append((row.number, contract, month, hours, training))
        if not validation.ok:
            return
        months = {month for _, _, month, _, _ in parsed}
        existing = {
            (contract_id, month): (hours, training)
            for contract_id, month, hours, training in HoursRecord.objects.filter(
                facilitator=facilitator, month__in=months
            ).values_list("contract_id", "month", "hours", "training_hours")
        }
        validated = set(
            MonthlyStatement.objects.filter(
                facilitator=facilitator, month__in=months, status=StatementStatus.VALIDATED
            ).values_list("employer_id", "month")
        )
        sent = set()  # an employer's own statements it may no longer change (submitted)
        if employer_id is not None:
            sent = set(
                MonthlyStatement.objects.filter(
                    facilitator=facilitator, employer_id=employer_id, month__in=months
                )
                .exclude(status__in=EMPLOYER_EDITABLE)
                .values_list("employer_id", "month")
            )
        for number, contract, month, hours, training in parsed:
            before = existing.get((contract.pk, month))
            if before is None:
                action = CREATE
            elif before == (hours, training):
                action = UNCHANGED
            else:
                action = UPDATE
            if action != UNCHANGED and (contract.employer_id, month) in validated:
                validation.add(
                    number,
                    columns["hours"],
                    f"le relevé de {month:%m/%Y} de {contract.employer} est validé : "
                    "renvoyez-le en correction avant de modifier ses heures.",
                )
            elif action != UNCHANGED and (contract.employer_id, month) in sent:
                validation.add(
                    number,
                    columns["hours"],
                    f"le relevé de {month:%m/%Y} est déjà transmis au facilitateur : il ne se modifie plus, "
                    "sauf s'il vous est renvoyé pour correction.",
                )
            validation.items.append(Item(number, action, (month, MonthEntry(contract, hours, training))))

    # --- Commit ---------------------------------------------------------------------------------------------

    def commit(self, items, *, facilitator, by) -> None:
        by_month = defaultdict(list)
        for item in items:
            month, entry = item.data
            by_month[month].append(entry)
        for month in sorted(by_month):
            declare_month(facilitator=facilitator, month=month, entries=by_month[month], by=by)


class ContractIndex:
    """The facilitator's contracts by identifier and by person, loaded once (one query).

    With `employer_id` (an employer's own statement), people are looked up among its contracts only, and an
    identifier of another employer's contract is refused."""

    def __init__(self, facilitator, *, employer_id=None):
        contracts = Contract.objects.filter(facilitator=facilitator).select_related(
            "participant", "lot__market", "employer"
        )
        self.employer_id = employer_id
        self.by_uuid = {}
        self.by_person = defaultdict(list)
        for contract in contracts:
            self.by_uuid[contract.uuid] = contract
            if employer_id is not None and contract.employer_id != employer_id:
                continue
            person = contract.participant
            self.by_person[(normalize_label(person.last_name), person.birth_date)].append(contract)

    def find(self, validation: Validation, row, cell, month) -> Contract | None:
        columns = validation.columns
        if "contract" in columns and not is_blank(cell("contract")):
            value = cell("contract")
            try:
                contract = self.by_uuid.get(uuid.UUID(str(value).strip()))
            except ValueError:
                contract = None
            if contract is None:
                validation.add(
                    row.number,
                    columns["contract"],
                    f"contrat introuvable (identifiant « {str(value)[:40]} ») : "
                    "utilisez le modèle de relevé téléchargé depuis Clausier.",
                )
            elif self.employer_id is not None and contract.employer_id != self.employer_id:
                validation.add(row.number, columns["contract"], OTHER_EMPLOYER)
                return None
            return contract
        if not {"last_name", "birth_date", "lot"} <= set(columns):
            validation.add(row.number, columns.get("contract"), "l'identifiant du contrat est vide.")
            return None
        problems = 0
        try:
            last_name = normalize_label(parse_text(cell("last_name")))
        except ValueProblem as problem:
            validation.add(row.number, columns["last_name"], problem.message)
            problems += 1
        try:
            birth_date = parse_date(cell("birth_date"))
        except ValueProblem as problem:
            validation.add(row.number, columns["birth_date"], problem.message)
            problems += 1
        try:
            lot = lot_key(cell("lot"))
        except ValueProblem as problem:
            validation.add(row.number, columns["lot"], problem.message)
            problems += 1
        if problems:
            return None
        candidates = [
            c for c in self.by_person.get((last_name, birth_date), []) if lot_key(c.lot.number) == lot
        ]
        if "market" in columns and not is_blank(cell("market")):
            market = normalize_label(parse_text(cell("market")))
            candidates = [c for c in candidates if normalize_label(c.lot.market.reference) == market]
        if "first_name" in columns and not is_blank(cell("first_name")) and len(candidates) > 1:
            first = normalize_label(parse_text(cell("first_name")))
            candidates = [c for c in candidates if normalize_label(c.participant.first_name) == first]
        if len(candidates) > 1 and month is not None:
            running = [c for c in candidates if _runs_in(c, month)]
            candidates = running or candidates
        who = f"{parse_text(cell('last_name'))} né(e) le {birth_date:%d/%m/%Y}, lot {parse_text(cell('lot'))}"
        if not candidates:
            validation.add(row.number, columns["last_name"], f"aucun contrat trouvé pour {who}.")
            return None
        if len(candidates) > 1:
            validation.add(
                row.number,
                columns["last_name"],
                f"plusieurs contrats correspondent à {who} : ajoutez la colonne « Marché » ou "
                "utilisez le modèle de relevé (identifiant du contrat).",
            )
            return None
        return candidates[0]


def _runs_in(contract, month) -> bool:
    return month_start(contract.start_date) <= month and (
        contract.end_date is None or month <= month_start(contract.end_date)
    )
