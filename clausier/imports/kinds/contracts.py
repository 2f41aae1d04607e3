"""Kind "contrats": the contracts of participants on lots (one row per contract).

A row names:
- the person by last name, first name and birth date, matched exactly after normalization (accents, case,
  hyphens, particles: `normalize_name`) among the facilitator's records (merged and anonymised ones left
  aside); no record, or several, is a problem of the row;
- the lot by the market reference and the lot number (a lot with a clause, as on the contract form);
- the employer by SIRET (a partner company or insertion structure), and optionally the awarded company
  (by default the employer when it holds the lot, else the lot's only awarded company);
- modality and contract type by reference code or label; dates, weekly hours, ROME code.

Contracts are created through `employment.actions.create_contract`, with its rules checked beforehand, row by
row: a person whose eligibility is not valid at the start date is a problem (an import never overrides it).
A contract already recorded (same person, lot, employer and start date) with the same values is unchanged;
with other values it is a problem (change it in Clausier): an import never rewrites a contract.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from clausier.employment.actions import Refused, create_contract
from clausier.employment.models import Contract
from clausier.organizations.models import Organization, OrganizationKind
from clausier.participants.models import Participant
from clausier.procurement.models import Award, Lot, Market
from clausier.reference.models import ContractType, Modality
from clausier.utils.names import normalize_name

from ..base import CREATE, UNCHANGED, Field, Item, Kind, Validation, parse_cells
from ..values import ValueProblem, normalize_label, parse_date, parse_hours, parse_text, quote
from .common import Partners, lot_key, lot_number

MAX_WEEKLY_HOURS = Decimal(48)
_ROME_RE = re.compile(r"[A-N]\d{4}")

# Usual words for the reference rows, beside their codes and labels.
MODALITY_WORDS = {
    "embauche directe": "direct_hire",
    "embauche": "direct_hire",
    "mise a disposition": "provision",
    "sous traitance": "subcontracting",
    "co traitance": "subcontracting",
    "formation": "training",
}
CONTRACT_TYPE_WORDS = {
    "interim": "interim",
    "mission d interim": "interim",
    "apprentissage": "apprenticeship",
    "professionnalisation": "professionalisation",
    "contrat aide": "pec",
    "parcours emploi competences": "pec",
    "mise a disposition ai": "ai_provision",
    "autre": "other",
}
COMPARED = ("company_id", "modality_id", "contract_type_id", "end_date", "weekly_hours", "rome_code")


class ReferenceRows:
    """Active rows of a reference table by code, by label and by the label's part before its parenthesis."""

    def __init__(self, model, words: dict[str, str], what: str):
        self.model, self.words, self.what = model, words, what
        self._index: dict[str, object] | None = None

    def find(self, value):
        if self._index is None:
            rows = list(self.model.objects.active())
            by_code = {row.code: row for row in rows}
            self._index = {}
            for row in rows:
                for key in (row.code, row.label, row.label.split(" (")[0]):
                    self._index.setdefault(normalize_label(key), row)
            for word, code in self.words.items():
                if code in by_code:
                    self._index.setdefault(word, by_code[code])
        key = normalize_label(parse_text(value))
        row = self._index.get(key)
        if row is None:
            choices = ", ".join(sorted({r.label.split(" (")[0] for r in self._index.values()}))
            raise ValueProblem(f"{quote(value)} n'est pas {self.what} ({choices}).")
        return row


def parse_weekly_hours(value) -> Decimal:
    hours = parse_hours(value)
    if hours > MAX_WEEKLY_HOURS:
        raise ValueProblem(f"{quote(value)} : une durée hebdomadaire ne dépasse pas 48 h.")
    return hours


def parse_rome(value) -> str:
    code = parse_text(value).replace(" ", "").upper()
    if not _ROME_RE.fullmatch(code):
        raise ValueProblem(
            f"{quote(value)} : le code ROME compte une lettre et quatre chiffres, ex. : F1703."
        )
    return code


@dataclass
class ContractRow:
    number: int
    values: dict  # field key → parsed value (filled cells only)


class ContractsKind(Kind):
    name = "contrats"
    label = "Contrats"
    fields = (
        Field(
            "last_name",
            "Nom",
            ("nom", "nom d usage", "nom du participant", "nom du salarie", "nom salarie", "nom beneficiaire"),
            required=True,
        ),
        Field(
            "first_name", "Prénom", ("prenom", "prenom du participant", "prenom du salarie"), required=True
        ),
        Field(
            "birth_date",
            "Date de naissance",
            ("date de naissance", "ne le", "nee le", "ne e le", "naissance"),
            required=True,
        ),
        Field(
            "market",
            "Numéro du marché",
            (
                "numero du marche",
                "numero de marche",
                "n marche",
                "n du marche",
                "reference du marche",
                "ref marche",
                "marche",
            ),
            required=True,
        ),
        Field(
            "lot", "N° de lot", ("n de lot", "numero de lot", "numero du lot", "n lot", "lot"), required=True
        ),
        Field(
            "employer",
            "SIRET de l'employeur",
            ("siret de l employeur", "siret employeur", "siret de la structure", "employeur"),
            required=True,
            help="l'entreprise attributaire, ou la structure d'insertion qui emploie",
        ),
        Field(
            "company",
            "SIRET de l'attributaire",
            ("siret de l attributaire", "siret attributaire", "siret du titulaire", "attributaire"),
            help="par défaut l'employeur s'il est attributaire du lot, sinon le seul attributaire du lot",
        ),
        Field(
            "modality",
            "Modalité",
            ("modalite", "modalite de realisation", "mode de realisation"),
            required=True,
            help="embauche directe, mise à disposition, sous-traitance, formation",
        ),
        Field(
            "contract_type",
            "Type de contrat",
            ("type de contrat", "nature du contrat", "contrat"),
            required=True,
            help="CDI, CDD, CDDI, CTTI, intérim, apprentissage…",
        ),
        Field(
            "start_date",
            "Date de début",
            ("date de debut", "debut du contrat", "date d embauche", "debut"),
            required=True,
        ),
        Field("end_date", "Date de fin", ("date de fin", "fin du contrat", "fin")),
        Field(
            "weekly_hours",
            "Durée hebdomadaire",
            (
                "duree hebdomadaire",
                "heures hebdomadaires",
                "heures par semaine",
                "temps de travail hebdomadaire",
            ),
        ),
        Field("rome_code", "Code ROME", ("code rome", "rome", "metier rome", "metier")),
    )

    # "Date de naissance" before "Date de début", "SIRET de l'employeur" before "employeur" alone.
    matched_first = ("birth_date", "employer", "company", "contract_type", "start_date", "end_date")

    # --- Validation -----------------------------------------------------------------------------------------

    def check_rows(self, validation: Validation, *, facilitator) -> None:
        columns = validation.columns
        partners = Partners(facilitator)
        modalities = ReferenceRows(Modality, MODALITY_WORDS, "une modalité connue")
        contract_types = ReferenceRows(ContractType, CONTRACT_TYPE_WORDS, "un type de contrat connu")
        parsers = {
            "last_name": parse_text,
            "first_name": parse_text,
            "birth_date": parse_date,
            "market": parse_text,
            "lot": lot_number,
            "employer": partners.employer,
            "company": partners.company,
            "modality": modalities.find,
            "contract_type": contract_types.find,
            "start_date": parse_date,
            "end_date": parse_date,
            "weekly_hours": parse_weekly_hours,
            "rome_code": parse_rome,
        }
        required = {f.key for f in self.fields if f.required}
        parsed: list[ContractRow] = []
        for row in validation.records.rows:
            values, ok = parse_cells(validation, row, lambda key, value: parsers[key](value), required)
            if ok and values.get("end_date") and values["end_date"] < values["start_date"]:
                validation.add(
                    row.number,
                    columns["end_date"],
                    "la date de fin doit être postérieure à la date de début.",
                )
                ok = False
            if ok:
                parsed.append(ContractRow(row.number, values))
        self._match(validation, parsed, facilitator)

    def _match(self, validation: Validation, parsed: list[ContractRow], facilitator) -> None:
        columns = validation.columns
        index = Index(facilitator, parsed)
        seen: dict[tuple, int] = {}
        for row in parsed:
            v = row.values
            who = f"{v['first_name']} {v['last_name'].upper()}, né(e) le {v['birth_date']:%d/%m/%Y}"
            people = index.people.get((normalize_name(v["first_name"], v["last_name"]), v["birth_date"]), [])
            if len(people) != 1:
                validation.add(
                    row.number,
                    columns["last_name"],
                    f"aucune fiche de participant ne correspond à {who} : créez-la d'abord (import des "
                    "participants)."
                    if not people
                    else f"plusieurs fiches correspondent à {who} : fusionnez-les avant d'importer ce fichier.",
                )
                continue
            participant = people[0]
            who = f"{participant}, né(e) le {participant.birth_date:%d/%m/%Y}"
            lot = index.find_lot(validation, row)
            if lot is None:
                continue
            employer: Organization = v["employer"]
            company = self._company(validation, row, lot, employer, index)
            if company is None:
                continue
            key = (participant.pk, lot.pk, employer.pk, v["start_date"])
            if key in seen:
                validation.add(
                    row.number,
                    columns["start_date"],
                    f"le contrat de {who} sur ce lot chez cet employeur au {v['start_date']:%d/%m/%Y} figure déjà "
                    f"à la ligne {seen[key]} du fichier.",
                )
                continue
            seen[key] = row.number
            values = {
                "participant": participant,
                "lot": lot,
                "company": company,
                "employer": employer,
                "modality": v["modality"],
                "contract_type": v["contract_type"],
                "start_date": v["start_date"],
                "end_date": v.get("end_date"),
                "weekly_hours": v.get("weekly_hours"),
                "rome_code": v.get("rome_code", ""),
            }
            current = index.contracts.get(key)
            if current is not None:
                differences = _differences(current, values, filled=set(v))
                if differences:
                    validation.add(
                        row.number,
                        None,
                        f"le contrat de {who} commencé le {v['start_date']:%d/%m/%Y} existe déjà avec d'autres "
                        f"valeurs ({', '.join(differences)}) : modifiez-le dans Clausier, un import ne réécrit "
                        "pas un contrat.",
                    )
                    continue
                validation.items.append(Item(row.number, UNCHANGED, values))
                continue
            problems = self._rules(values, who)
            for column_key, message in problems:
                validation.add(row.number, columns.get(column_key), message)
            if not problems:
                validation.items.append(Item(row.number, CREATE, values))

    def _company(
        self, validation, row: ContractRow, lot: Lot, employer: Organization, index
    ) -> Organization | None:
        columns, v = validation.columns, row.values
        awarded = index.awarded.get(lot.pk, {})
        if "company" in v:
            company = v["company"]
            if company.pk not in awarded:
                validation.add(row.number, columns["company"], f"{company} n'est pas attributaire du {lot}.")
                return None
            return company
        if employer.pk in awarded:
            return employer
        if len(awarded) == 1:
            return next(iter(awarded.values()))
        column = columns.get("company") or columns["employer"]
        if not awarded:
            validation.add(row.number, column, f"le {lot} n'est attribué à aucune entreprise.")
        else:
            names = ", ".join(sorted(c.name for c in awarded.values()))
            validation.add(
                row.number,
                column,
                f"le {lot} a plusieurs attributaires ({names}) : indiquez le SIRET de l'attributaire.",
            )
        return None

    def _rules(self, values: dict, who: str) -> list[tuple[str | None, str]]:
        """`create_contract`'s refusals, checked beforehand to be reported with their row and column."""
        problems = []
        participant, company, employer = values["participant"], values["company"], values["employer"]
        if employer.kind == OrganizationKind.COMPANY and employer.pk != company.pk:
            problems.append(
                ("employer", "l'employeur est l'entreprise attributaire ou une structure d'insertion.")
            )
        elif values["modality"].code == "direct_hire" and employer.pk != company.pk:
            problems.append(("modality", "en embauche directe, l'employeur est l'entreprise attributaire."))
        if not participant.is_eligible_on(values["start_date"]):
            problems.append(
                (
                    "start_date",
                    f"{who} n'a pas de validation d'éligibilité en cours au {values['start_date']:%d/%m/%Y} : "
                    "validez son éligibilité avant d'importer ce contrat (un import ne peut pas passer outre).",
                )
            )
        return problems

    # --- Commit ---------------------------------------------------------------------------------------------

    def commit(self, items, *, facilitator, by) -> None:
        for item in items:
            try:
                create_contract(facilitator=facilitator, by=by, override_reason="", **item.data)
            except Refused as refusal:
                raise Refused([f"Ligne {item.row} : {m}" for m in refusal.messages]) from refusal


def _differences(contract: Contract, values: dict, *, filled: set[str]) -> list[str]:
    """Labels of the values of the file that differ from the stored contract (an empty cell is no change)."""
    labels = {
        "company_id": ("company", "attributaire"),
        "modality_id": ("modality", "modalité"),
        "contract_type_id": ("contract_type", "type de contrat"),
        "end_date": ("end_date", "date de fin"),
        "weekly_hours": ("weekly_hours", "durée hebdomadaire"),
        "rome_code": ("rome_code", "code ROME"),
    }
    differences = []
    for attribute in COMPARED:
        key, label = labels[attribute]
        if key not in filled:
            continue
        new = values[key]
        new = new.pk if attribute.endswith("_id") else new
        if getattr(contract, attribute) != new:
            differences.append(label)
    return differences


class Index:
    """The file's people, lots, awards and existing contracts, loaded at once (a few queries)."""

    def __init__(self, facilitator, parsed: list[ContractRow]):
        self.people: dict[tuple[str, datetime.date], list[Participant]] = {}
        dates = sorted({row.values["birth_date"] for row in parsed})
        for participant in Participant.objects.filter(
            facilitator=facilitator,
            birth_date__in=dates,
            merged_into__isnull=True,
            anonymised_on__isnull=True,
        ).order_by("pk"):
            self.people.setdefault((participant.normalized_name, participant.birth_date), []).append(
                participant
            )
        # Market references compared as the "heures" kind does (case, accents and punctuation aside).
        references = {normalize_label(row.values["market"]) for row in parsed}
        markets = [
            pk
            for pk, reference in Market.objects.filter(facilitator=facilitator).values_list("pk", "reference")
            if normalize_label(reference) in references
        ]
        self.lots: dict[str, list[Lot]] = {}
        for lot in (
            Lot.objects.filter(facilitator=facilitator, market_id__in=markets)
            .select_related("market", "clause")
            .order_by("pk")
        ):
            self.lots.setdefault(normalize_label(lot.market.reference), []).append(lot)
        lot_ids = [lot.pk for lots in self.lots.values() for lot in lots]
        self.awarded: dict[int, dict[int, Organization]] = {}
        for award in Award.objects.filter(lot_id__in=lot_ids).select_related("company"):
            self.awarded.setdefault(award.lot_id, {})[award.company_id] = award.company
        participants = [p.pk for people in self.people.values() for p in people]
        self.contracts = {
            (c.participant_id, c.lot_id, c.employer_id, c.start_date): c
            for c in Contract.objects.filter(
                facilitator=facilitator, participant_id__in=participants, lot_id__in=lot_ids
            )
        }

    def find_lot(self, validation: Validation, row: ContractRow) -> Lot | None:
        columns, v = validation.columns, row.values
        lots = self.lots.get(normalize_label(v["market"]), [])
        if not lots:
            validation.add(
                row.number, columns["market"], f"aucun de vos marchés n'a le numéro {v['market']}."
            )
            return None
        found = [lot for lot in lots if lot_key(lot.number) == lot_key(v["lot"])]
        markets = {lot.market_id for lot in found}
        if not found:
            validation.add(row.number, columns["lot"], f"le marché {v['market']} n'a pas de lot {v['lot']}.")
            return None
        if len(markets) > 1:
            validation.add(
                row.number,
                columns["market"],
                f"plusieurs de vos marchés (de donneurs d'ordre différents) ont le numéro {v['market']} : "
                "saisissez ce contrat dans Clausier.",
            )
            return None
        lot = found[0]
        if not hasattr(lot, "clause"):
            validation.add(
                row.number, columns["lot"], f"le {lot} du marché {v['market']} n'a pas de clause d'insertion."
            )
            return None
        return lot
