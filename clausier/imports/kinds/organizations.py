"""Kinds "donneurs-d-ordre", "entreprises" and "structures": lists of organizations, one row per establishment.

A row is identified by its SIRET (14 digits, spaces and dots tolerated, Luhn key checked) among the
organizations of the same kind (the SIRET is unique per kind on the platform):

- one of the facilitator's partners → the values that changed are updated (`update_partner`, audited) or the
  row is left unchanged; an empty cell leaves the stored value as it is;
- an organization known on the platform but not yet a partner (it works with another facilitator) → linked
  to the facilitator (`create_partner`: the partnership; for a buyer, the facilitation agreement, as the
  buyer form does), then given the file's values; counted as created;
- one partner of the same kind with no SIRET and the same name (and one row of that name in the file) → given
  the SIRET and the file's values: counted as updated (a buyer typed in by hand is not duplicated);
- otherwise a new organization, linked to the facilitator.

The facilitator "has" the organizations it is linked to (`access.organizations_visible_to`); companies and
structures may be linked to several facilitators. The same SIRET twice in the file is a problem.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from clausier.employment.actions import Refused
from clausier.geo.models import Commune
from clausier.organizations.actions import create_partner, update_partner
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.reference.models import OrganizationCategory

from ..acting import acting_for
from ..base import CREATE, UNCHANGED, UPDATE, Field, Item, Kind, Validation, parse_cells
from ..values import (
    ValueProblem,
    is_blank,
    normalize_label,
    parse_siret,
    parse_text,
    quote,
    siret_luhn_ok,
)

K = OrganizationKind
CHUNK = 500  # SIRETs per query (SQLite's variable limit)

# Words found in files for the reference categories (codes of `organization_categories.json`), on top of
# the codes, the labels and the abbreviations between brackets in the labels.
BUYER_WORDS = {
    "mairie": "commune",
    "ville": "commune",
    "communaute de communes": "epci",
    "communaute d agglomeration": "epci",
    "communaute urbaine": "epci",
    "metropole": "epci",
    "intercommunalite": "epci",
    "conseil departemental": "departement",
    "conseil regional": "region",
    "bailleur": "social_landlord",
    "office public de l habitat": "social_landlord",
    "oph": "social_landlord",
    "esh": "social_landlord",
    "hopital": "hospital",
    "etat": "state",
    "prive": "private_buyer",
    "private": "private_buyer",
}
STRUCTURE_WORDS = {
    "chantier d insertion": "aci",
    "atelier chantier d insertion": "aci",
    "regie": "regie_quartier",
    "rq": "regie_quartier",
}


def _fields(name_synonyms: tuple[str, ...], *extra: Field) -> tuple[Field, ...]:
    return (
        Field(
            "name",
            "Nom",
            ("nom", "raison sociale", "denomination", "name", *name_synonyms),
            required=True,
        ),
        Field(
            "siret",
            "SIRET",
            (
                "siret",
                "n siret",
                "numero siret",
                "numero de siret",
                "siret de l etablissement",
                "siret etablissement",
            ),
            required=True,
            help="14 chiffres, espaces acceptés",
        ),
        *extra,
        Field("address", "Adresse", ("adresse", "adresse postale", "address", "rue", "voie")),
        Field("postal_code", "Code postal", ("code postal", "cp", "post code", "postcode", "postal code")),
        Field(
            "commune",
            "Commune",
            ("commune", "ville", "localite", "city", "code insee", "commune insee", "insee"),
            help="nom ou code INSEE",
        ),
    )


NAF = Field(
    "naf_code",
    "Code NAF",
    ("code naf", "naf", "code ape", "ape", "naf ape", "code naf ape", "activite principale"),
    help="ex. : 43.99C ou 4399C",
)
_NAF_RE = re.compile(r"(\d{2})\.?(\d{2})([A-Z])")
_INSEE_RE = re.compile(r"\d{5}|2[AB]\d{3}")
_CEDEX_RE = re.compile(r" cedex(?: \d+)?$")  # "Saint-Omer Cedex", "Toulouse CEDEX 9"


@dataclass
class Change:
    """What to write for one row."""

    organization: Organization | None  # None: a new organization
    values: dict  # a new one's values; else the changed values only (possibly none)
    link: bool = False  # an organization known on the platform, to link to the facilitator first


class OrganizationsKind(Kind):
    organization_kind = ""
    category_words: dict[str, str] = {}
    what = ""  # "type de donneur d'ordre", for the messages about categories

    # Specific titles first: "Code postal" and "Nom de la commune" must not be taken for "Nom".
    matched_first = ("siret", "postal_code", "commune", "naf_code", "category", "address")

    # --- Validation -----------------------------------------------------------------------------------------

    def check_rows(self, validation: Validation, *, facilitator) -> None:
        columns = validation.columns
        lookups = Lookups(self)
        parsed: list[tuple[int, dict]] = []
        seen: dict[str, int] = {}
        required = {f.key for f in self.fields if f.required}

        def parse(key, value):
            if is_blank(value):
                raise ValueProblem(lookups.missing(key))
            return value if key == "commune" else lookups.parse(key, value)  # commune: below

        for row in validation.records.rows:
            values, ok = parse_cells(validation, row, parse, required)
            if "commune" in values:  # after the other cells: the postal code tells homonyms apart
                try:
                    values["commune"] = lookups.commune(values["commune"], values.get("postal_code"))
                except ValueProblem as problem:
                    del values["commune"]
                    validation.add(row.number, columns["commune"], problem.message)
                    ok = False
            if "commune" in values and "postal_code" in values:
                try:
                    check_postal_code(values["postal_code"], values["commune"])
                except ValueProblem as problem:
                    validation.add(row.number, columns["postal_code"], problem.message)
                    ok = False
            siret = values.get("siret")
            if siret:
                if siret in seen:
                    validation.add(
                        row.number,
                        columns["siret"],
                        f"le SIRET {siret} figure déjà à la ligne {seen[siret]} du fichier.",
                    )
                    ok = False
                else:
                    seen[siret] = row.number
            if ok:
                parsed.append((row.number, values))
        self._match(validation, parsed, facilitator)

    def _match(self, validation: Validation, parsed: list[tuple[int, dict]], facilitator) -> None:
        kind = self.organization_kind
        sirets = sorted(values["siret"] for _, values in parsed)
        known: dict[str, Organization] = {}
        for start in range(0, len(sirets), CHUNK):
            for organization in Organization.objects.filter(
                kind=kind, siret__in=sirets[start : start + CHUNK]
            ):
                known[organization.siret] = organization
        partners = set(
            Partnership.objects.filter(facilitator=facilitator, partner__kind=kind).values_list(
                "partner_id", flat=True
            )
        )
        without_siret = defaultdict(list)
        for organization in Organization.objects.filter(
            kind=kind, siret="", partnerships__facilitator=facilitator
        ):
            without_siret[normalize_label(organization.name)].append(organization)
        names_in_file = defaultdict(int)
        for _, values in parsed:
            names_in_file[normalize_label(values["name"])] += 1
        for number, values in parsed:
            organization = known.get(values["siret"])
            if organization is not None and organization.pk in partners:
                changes = _changes(organization, values)
                validation.items.append(
                    Item(number, UPDATE if changes else UNCHANGED, Change(organization, changes))
                )
                continue
            if organization is not None:
                validation.items.append(
                    Item(number, CREATE, Change(organization, _changes(organization, values), link=True))
                )
                continue
            name = normalize_label(values["name"])
            same_name = without_siret.get(name, [])
            if len(same_name) == 1 and names_in_file[name] == 1:
                organization = same_name[0]
                changes = {**_changes(organization, values), "siret": values["siret"]}
                validation.items.append(Item(number, UPDATE, Change(organization, changes)))
                continue
            validation.items.append(Item(number, CREATE, Change(None, values)))

    # --- Commit ---------------------------------------------------------------------------------------------

    def commit(self, items, *, facilitator, by) -> None:
        by = acting_for(by, facilitator)
        for item in items:
            change = item.data
            try:
                if change.organization is None:
                    values = dict(change.values)
                    create_partner(
                        facilitator=facilitator,
                        by=by,
                        kind=self.organization_kind,
                        name=values.pop("name"),
                        **values,
                    )
                    continue
                if change.link:
                    create_partner(
                        facilitator=facilitator,
                        by=by,
                        kind=self.organization_kind,
                        name=change.organization.name,
                        siret=change.organization.siret,
                    )
                if change.values:
                    update_partner(
                        partner=change.organization, facilitator=facilitator, by=by, **change.values
                    )
            except ValidationError as error:
                raise Refused([f"Ligne {item.row} : {message}" for message in error.messages]) from error


def _changes(organization: Organization, values: dict) -> dict:
    changes = {}
    for name, new in values.items():
        if name == "siret":
            continue  # the key
        if isinstance(new, Commune | OrganizationCategory):
            if getattr(organization, f"{name}_id") != new.pk:
                changes[name] = new
        elif getattr(organization, name) != new:
            changes[name] = new
    return changes


class Lookups:
    """Cell parsers for each field; categories and communes loaded once, when needed."""

    def __init__(self, kind: OrganizationsKind):
        self.kind = kind
        self._categories: dict[str, OrganizationCategory] | None = None
        self._known_categories = ""
        self._communes: dict[str, Commune | None] = {}
        self._communes_by_name: dict[str, list[Commune]] | None = None

    def missing(self, key: str) -> str:
        match key:
            case "name":
                return "Valeur manquante : le nom est obligatoire."
            case "siret":
                return "Valeur manquante : le SIRET est obligatoire (14 chiffres)."
            case "category":
                self._load_categories()
                return f"Valeur manquante : le {self.kind.what} est obligatoire ({self._known_categories})."
        return "Valeur manquante."  # pragma: no cover - only the fields above are required

    def parse(self, key: str, value):
        match key:
            case "name" | "address":
                return parse_text(value, max_length=255)
            case "siret":
                siret = parse_siret(value)
                if not siret_luhn_ok(siret):
                    raise ValueProblem(
                        f"{quote(value)} n'est pas un SIRET valide (la clé de contrôle ne correspond pas) : "
                        "vérifiez les 14 chiffres."
                    )
                return siret
            case "category":
                return self.category(value)
            case "naf_code":
                text = parse_text(value).upper().replace(" ", "")
                match = _NAF_RE.fullmatch(text)
                if match is None:
                    raise ValueProblem(
                        f"{quote(value)} n'est pas un code NAF (4 chiffres et une lettre, ex. : 43.99C ou 4399C)."
                    )
                return "{}.{}{}".format(*match.groups())
            case "postal_code":
                text = parse_text(value).replace(" ", "")
                if text.isdigit() and len(text) == 4:  # a number cell that lost its leading zero
                    text = "0" + text
                if not (len(text) == 5 and text.isdigit() and text.isascii()):
                    raise ValueProblem(f"{quote(value)} n'est pas un code postal (5 chiffres attendus).")
                return text
        raise AssertionError(key)  # pragma: no cover

    # --- Categories -----------------------------------------------------------------------------------------

    def _load_categories(self) -> None:
        if self._categories is not None:
            return
        categories = list(OrganizationCategory.objects.active().filter(kind=self.kind.organization_kind))
        index: dict[str, OrganizationCategory] = {}
        shown = []
        for category in categories:
            label = category.label
            before, _, inside = label.partition("(")
            abbreviations = [a.strip() for a in inside.rstrip(")").split(",") if a.strip()]
            words = [category.code, category.code.replace("_", " "), label, before, *abbreviations]
            for word in words:
                index.setdefault(normalize_label(word), category)
            upper = [a for a in abbreviations if a.isupper()]
            shown.append(", ".join(upper) if upper else before.strip())
        by_code = {category.code: category for category in categories}
        for word, code in self.kind.category_words.items():
            if code in by_code:
                index.setdefault(word, by_code[code])
        self._categories, self._known_categories = index, ", ".join(shown)

    def category(self, value) -> OrganizationCategory:
        self._load_categories()
        key = normalize_label(parse_text(value))
        category = self._categories.get(key)
        if category is None:
            raise ValueProblem(
                f"{quote(value)} n'est pas un {self.kind.what} connu ({self._known_categories})."
            )
        return category

    # --- Communes -------------------------------------------------------------------------------------------

    def commune(self, value, postal_code: str | None = None) -> Commune:
        """A commune by INSEE code or by name; among homonyms, the one of the postal code (or department)."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = str(int(value)).zfill(5)
        else:
            text = parse_text(value)
        code = text.upper()
        if _INSEE_RE.fullmatch(code) or (code.isdigit() and len(code) == 4):
            code = code.zfill(5)
            if code not in self._communes:
                self._communes[code] = Commune.objects.filter(pk=code).first()
            if self._communes[code] is None:
                raise ValueProblem(f"aucune commune n'a le code INSEE {code}.")
            return self._communes[code]
        if self._communes_by_name is None:
            self._communes_by_name = defaultdict(list)
            for commune in Commune.objects.only("insee_code", "name", "postal_codes", "department_code"):
                self._communes_by_name[normalize_label(commune.name)].append(commune)
        name = _CEDEX_RE.sub("", normalize_label(text))
        found = self._communes_by_name.get(re.sub(r"^st ", "saint ", name)) or self._communes_by_name.get(
            name, []
        )
        if not found:
            raise ValueProblem(f"commune {quote(text)} inconnue : indiquez son nom exact ou son code INSEE.")
        if len(found) > 1 and postal_code:
            found = [c for c in found if postal_code in c.postal_code_list] or [
                c for c in found if c.department_code in _departments(postal_code)
            ]
        if len(found) > 1:
            codes = ", ".join(c.insee_code for c in found[:5])
            raise ValueProblem(
                f"plusieurs communes s'appellent {quote(text)} ({codes}) : indiquez le code postal ou le code INSEE."
            )
        if not found:
            raise ValueProblem(f"aucune commune {quote(text)} n'a le code postal {postal_code}.")
        return found[0]


def check_postal_code(postal_code: str, commune: Commune) -> None:
    """A postal code of the commune, or at least of its department (a CEDEX code: 31094 Toulouse)."""
    codes = commune.postal_code_list
    if codes and postal_code not in codes and commune.department_code not in _departments(postal_code):
        raise ValueProblem(
            f"le code postal {postal_code} n'est pas celui de {commune.name} ({', '.join(codes)})."
        )


def _departments(postal_code: str) -> set[str]:
    if postal_code.startswith("20"):
        return {"2A", "2B"}
    if postal_code.startswith("97") or postal_code.startswith("98"):
        return {postal_code[:3]}
    return {postal_code[:2]}


# --- The three kinds ------------------------------------------------------------------------------------------


class BuyersKind(OrganizationsKind):
    name = "donneurs-d-ordre"
    label = "Donneurs d'ordre"
    organization_kind = K.BUYER
    category_words = BUYER_WORDS
    what = "type de donneur d'ordre"
    fields = _fields(
        ("nom du donneur d ordre", "donneur d ordre", "nom de l acheteur", "acheteur", "maitre d ouvrage"),
        Field(
            "category",
            "Catégorie",
            (
                "categorie",
                "type",
                "kind",
                "nature",
                "type de donneur d ordre",
                "categorie de donneur d ordre",
                "type d acheteur",
            ),
            help="commune, EPCI, département, région, bailleur social…",
        ),
    )


class CompaniesKind(OrganizationsKind):
    name = "entreprises"
    label = "Entreprises"
    organization_kind = K.COMPANY
    fields = _fields(("nom de l entreprise", "entreprise", "societe", "titulaire", "attributaire"), NAF)


class StructuresKind(OrganizationsKind):
    name = "structures"
    label = "Structures d'insertion (SIAE, GEIQ, EA, ESAT)"
    organization_kind = K.INSERTION_STRUCTURE
    category_words = STRUCTURE_WORDS
    what = "type de structure"
    fields = _fields(
        ("nom de la structure", "structure", "siae"),
        Field(
            "category",
            "Type de structure",
            ("type de structure", "type", "kind", "categorie", "type siae", "type de siae", "nature"),
            required=True,
            help="ACI, AI, EI, ETTI, EITI, GEIQ, EA, EATT, ESAT, régie de quartier",
        ),
        NAF,
    )
