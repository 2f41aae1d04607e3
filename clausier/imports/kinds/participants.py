"""Kind "participants": a list of people (one row per person) sent by a partner or kept in a spreadsheet.

Each row is matched against the facilitator's records (merged and anonymised records left aside):

- same normalized identity (first and last names: accents, case, hyphens, particles) and same birth date
  → the record is updated with the values that changed (audited by `update_participant`) or left unchanged;
  the names are the key and are never rewritten; an empty cell leaves the stored value as it is;
- otherwise a record that `find_duplicates` would propose (same scoring, same threshold) → a likely
  duplicate: the row is refused with a message naming that record, unless the import runs with the option
  `create_duplicates` (CLI `--create-duplicates`, checkbox of the preview), then the record is created;
- otherwise a new record (`create_participant`).

Two rows of the file for the same person (or likely the same) are reported too.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from clausier.employment.actions import Refused
from clausier.geo.models import Commune
from clausier.organizations.models import Organization, OrganizationKind
from clausier.participants.actions import create_participant, update_participant
from clausier.participants.duplicates import DEFAULT_THRESHOLD, SWAPPED_DATE_PENALTY, Identity, similarity
from clausier.participants.models import Participant, Sex
from clausier.reference.models import QualificationLevel
from clausier.utils.names import normalize_name, normalize_part

from ..acting import acting_for
from ..base import CREATE, UNCHANGED, UPDATE, Field, Item, Kind, Validation, parse_cells
from ..values import ValueProblem, normalize_label, parse_date, parse_siret, parse_text, quote

CREATE_DUPLICATES = "create_duplicates"
REQUIRED = ("last_name", "first_name", "birth_date")  # the identity: these cells are parsed even when empty

SEXES = {
    **dict.fromkeys(("f", "femme", "feminin", "fem", "mme", "madame", "mlle", "mademoiselle"), Sex.FEMALE),
    **dict.fromkeys(("h", "homme", "m", "masculin", "masc", "mr", "monsieur"), Sex.MALE),
}

# Qualification levels: the codes, the current nomenclature (2019) and the former one (I to VI).
QUALIFICATIONS = {
    **dict.fromkeys(
        (
            "infra3",
            "infra 3",
            "infra niveau 3",
            "sans diplome",
            "aucun diplome",
            "brevet",
            "vi",
            "v bis",
            "vbis",
        ),
        "infra3",
    ),
    **dict.fromkeys(("level3", "3", "niveau 3", "cap", "bep", "cap bep", "v"), "level3"),
    **dict.fromkeys(("level4", "4", "niveau 4", "bac", "baccalaureat", "bp", "iv"), "level4"),
    **dict.fromkeys(("level5", "5", "niveau 5", "bac 2", "bts", "dut", "iii"), "level5"),
    **dict.fromkeys(
        (
            "level6plus",
            "6",
            "7",
            "8",
            "niveau 6",
            "niveau 7",
            "niveau 8",
            "niveau 6 et plus",
            "bac 3",
            "bac 5",
            "licence",
            "master",
            "doctorat",
            "ii",
            "i",
        ),
        "level6plus",
    ),
}

UPDATABLE = (
    "birth_name",
    "sex",
    "email",
    "phone",
    "address",
    "postal_code",
    "commune",
    "qualification_level",
    "prescriber",
    "entry_date",
)


@dataclass
class RowValues:
    number: int
    values: dict  # field name of Participant → value (only the filled cells)

    @property
    def identity(self) -> tuple[str, datetime.date]:
        return normalize_name(self.values["first_name"], self.values["last_name"]), self.values["birth_date"]

    def who(self) -> str:
        v = self.values
        return f"{v['first_name']} {v['last_name'].upper()}, né(e) le {v['birth_date']:%d/%m/%Y}"


def _percent(score: float) -> str:
    return f"{round(score * 100)} %"


def _describe(participant: Participant) -> str:
    return f"{participant} (né(e) le {participant.birth_date:%d/%m/%Y})"


def _swapped(day: datetime.date) -> datetime.date | None:
    """Day and month swapped (a typing slip that `find_duplicates` also looks for)."""
    if day.day == day.month or day.day > 12:
        return None
    try:
        return day.replace(day=day.month, month=day.day)
    except ValueError:
        return None


def _score(a: Identity, a_date, b: Identity, b_date) -> float:
    score, _ = similarity(a, b)
    if a_date != b_date:
        score = round(score * SWAPPED_DATE_PENALTY, 3)
    return score


class ParticipantsKind(Kind):
    name = "participants"
    label = "Participants"
    fields = (
        Field(
            "last_name",
            "Nom",
            (
                "nom",
                "nom d usage",
                "nom de famille",
                "nom du participant",
                "nom beneficiaire",
                "nom du salarie",
            ),
            required=True,
        ),
        Field("first_name", "Prénom", ("prenom", "prenom du participant", "prenoms"), required=True),
        Field(
            "birth_name",
            "Nom de naissance",
            ("nom de naissance", "nom de jeune fille", "nee", "nom patronymique"),
        ),
        Field(
            "birth_date",
            "Date de naissance",
            ("date de naissance", "ne le", "nee le", "ne e le", "naissance", "date naissance"),
            required=True,
        ),
        Field("sex", "Sexe", ("sexe", "genre", "civilite", "h f"), help="F / Femme, H / Homme / M"),
        Field(
            "email", "E-mail", ("e mail", "email", "courriel", "mail", "adresse mail", "adresse electronique")
        ),
        Field(
            "phone",
            "Téléphone",
            ("telephone", "tel", "portable", "mobile", "numero de telephone", "n telephone"),
        ),
        Field("address", "Adresse", ("adresse", "adresse postale", "rue", "voie")),
        Field("postal_code", "Code postal", ("code postal", "cp")),
        Field(
            "commune",
            "Commune",
            ("commune", "ville", "localite", "code insee", "commune insee", "insee"),
            help="nom ou code INSEE",
        ),
        Field(
            "qualification_level",
            "Niveau de qualification",
            ("niveau de qualification", "qualification", "niveau", "niveau d etudes", "niveau de formation"),
        ),
        Field(
            "prescriber",
            "Prescripteur",
            ("prescripteur", "organisme prescripteur", "orienteur", "siret prescripteur", "orientation"),
            help="nom ou SIRET d'un prescripteur partenaire",
        ),
        Field(
            "entry_date",
            "Date d'entrée",
            (
                "date d entree",
                "entree",
                "date d entree dans le dispositif",
                "date d inscription",
                "entree le",
            ),
        ),
    )

    # Specific titles first: "Nom de naissance" or "Nom du prescripteur" must not be taken for "Nom".
    matched_first = ("birth_name", "birth_date", "prescriber", "entry_date", "postal_code", "commune")

    # --- Validation -----------------------------------------------------------------------------------------

    def check_rows(self, validation: Validation, *, facilitator) -> None:
        columns = validation.columns
        lookups = Lookups(facilitator)
        parsed: list[RowValues] = []
        for row in validation.records.rows:
            values, ok = parse_cells(validation, row, lookups.parse, REQUIRED)
            if ok and "commune" in values and "postal_code" in values:
                commune = values["commune"]
                if commune.postal_codes and values["postal_code"] not in commune.postal_code_list:
                    validation.add(
                        row.number,
                        columns["postal_code"],
                        f"le code postal {values['postal_code']} n'est pas celui de {commune.name} "
                        f"({', '.join(commune.postal_code_list)}).",
                    )
                    ok = False
            if ok:
                parsed.append(RowValues(row.number, values))
        self._match(validation, parsed, facilitator)

    def _match(self, validation: Validation, parsed: list[RowValues], facilitator) -> None:
        columns = validation.columns
        name_column = columns["last_name"]
        create_duplicates = bool(validation.options.get(CREATE_DUPLICATES))
        existing = ExistingRecords(facilitator, {r.values["birth_date"] for r in parsed})
        seen: dict[tuple[str, datetime.date], int] = {}
        by_date: dict[datetime.date, list[RowValues]] = defaultdict(list)
        for row in parsed:
            values, identity = row.values, row.identity
            if identity in seen:
                validation.add(
                    row.number,
                    name_column,
                    f"{row.who()} figure déjà à la ligne {seen[identity]} du fichier.",
                )
                continue
            seen[identity] = row.number
            person = Identity.of(values["first_name"], values["last_name"], values.get("birth_name", ""))
            exact = existing.exact(identity)
            if len(exact) > 1:
                validation.add(
                    row.number,
                    name_column,
                    f"plusieurs fiches correspondent à {row.who()} : "
                    + ", ".join(_describe(p) for p in exact)
                    + " ; fusionnez-les avant d'importer ce fichier.",
                )
                continue
            if exact:
                changes = _changes(exact[0], values)
                validation.items.append(
                    Item(row.number, UPDATE if changes else UNCHANGED, (exact[0], changes))
                )
                continue
            # Likely the same person as another row of the file (same day, or day and month swapped).
            twin = None
            for day in filter(None, (values["birth_date"], _swapped(values["birth_date"]))):
                for other in by_date.get(day, []):
                    other_person = Identity.of(
                        other.values["first_name"],
                        other.values["last_name"],
                        other.values.get("birth_name", ""),
                    )
                    score = _score(person, values["birth_date"], other_person, day)
                    if score >= DEFAULT_THRESHOLD and (twin is None or score > twin[1]):
                        twin = (other, score)
            by_date[values["birth_date"]].append(row)
            candidates = existing.likely(person, values["birth_date"])
            if twin is not None or candidates:
                validation.duplicate_count += 1
            if not create_duplicates:
                if candidates:
                    best = candidates[0]
                    others = f" (et {len(candidates) - 1} autre(s) fiche(s))" if len(candidates) > 1 else ""
                    validation.add(
                        row.number,
                        name_column,
                        f"doublon probable de {_describe(best[0])} (score {_percent(best[1])}){others} : "
                        "vérifiez la fiche, corrigez le fichier ou importez en créant quand même les doublons.",
                    )
                if twin is not None:
                    validation.add(
                        row.number,
                        name_column,
                        f"doublon probable de la ligne {twin[0].number} du fichier ({twin[0].who()}, "
                        f"score {_percent(twin[1])}).",
                    )
                if candidates or twin is not None:
                    continue
            if "sex" not in values:
                validation.add(
                    row.number,
                    columns.get("sex"),
                    "le sexe est obligatoire pour créer une fiche (F / Femme ou H / Homme / M).",
                )
                continue
            validation.items.append(Item(row.number, CREATE, (None, values)))

    # --- Commit ---------------------------------------------------------------------------------------------

    def commit(self, items, *, facilitator, by) -> None:
        by = _acting_for(by, facilitator)
        for item in items:
            participant, values = item.data
            if participant is None:
                create_participant(facilitator=facilitator, by=by, **values)
            else:
                update_participant(participant=participant, by=by, **values)


def _changes(participant: Participant, values: dict) -> dict:
    changes = {}
    for name in UPDATABLE:
        if name not in values:
            continue
        new, old = values[name], getattr(participant, name)
        if name == "birth_name":
            if normalize_part(new) != normalize_part(old):
                changes[name] = new
        elif isinstance(new, Organization | Commune | QualificationLevel):
            if getattr(participant, f"{name}_id") != new.pk:
                changes[name] = new
        elif new != old:
            changes[name] = new
    return changes


def _acting_for(by, facilitator):
    """`acting_for`, but a participants import needs a user: the facilitator alone does not import people."""
    if by is None:
        raise Refused(
            "Un import de participants se fait au nom d'un membre de l'équipe du facilitateur "
            "(option --user de la commande)."
        )
    return acting_for(by, facilitator)


class ExistingRecords:
    """The facilitator's records born on the file's birth dates (or with day and month swapped)."""

    CHUNK = 500

    def __init__(self, facilitator, dates: set[datetime.date]):
        wanted = set(dates) | {d for d in map(_swapped, dates) if d}
        self.by_identity: dict[tuple[str, datetime.date], list[Participant]] = defaultdict(list)
        self.by_date: dict[datetime.date, list[tuple[Participant, Identity]]] = defaultdict(list)
        days = sorted(wanted)
        for start in range(0, len(days), self.CHUNK):
            queryset = Participant.objects.filter(
                facilitator=facilitator,
                birth_date__in=days[start : start + self.CHUNK],
                merged_into__isnull=True,
                anonymised_on__isnull=True,
            ).order_by("pk")
            for participant in queryset:
                key = (participant.normalized_name, participant.birth_date)
                self.by_identity[key].append(participant)
                self.by_date[participant.birth_date].append(
                    (
                        participant,
                        Identity.of(participant.first_name, participant.last_name, participant.birth_name),
                    )
                )

    def exact(self, identity) -> list[Participant]:
        return self.by_identity.get(identity, [])

    def likely(self, person: Identity, day: datetime.date) -> list[tuple[Participant, float]]:
        """Records `find_duplicates` would propose (same score, same threshold), best first."""
        found = []
        for other_day in filter(None, (day, _swapped(day))):
            for participant, identity in self.by_date.get(other_day, []):
                score = _score(person, day, identity, other_day)
                if score >= DEFAULT_THRESHOLD:
                    found.append((participant, score))
        found.sort(key=lambda pair: (-pair[1], pair[0].pk))
        return found


_INSEE_RE = re.compile(r"\d{5}|2[AB]\d{3}", re.IGNORECASE)
_PHONE_RE = re.compile(r"[+\d][\d .\-()/]{5,28}")


class Lookups:
    """Cell parsers for each field; reference rows, communes and partners loaded once, when needed."""

    def __init__(self, facilitator):
        self.facilitator = facilitator
        self._levels = None
        self._prescribers = None
        self._communes: dict[str, Commune | None] = {}
        self._communes_by_name = None

    def parse(self, key: str, value):
        match key:
            case "last_name" | "first_name" | "birth_name":
                return parse_text(value, max_length=120)
            case "birth_date" | "entry_date":
                day = parse_date(value)
                if not datetime.date(1900, 1, 1) <= day <= datetime.date.today():
                    raise ValueProblem(f"{quote(value)} : date invraisemblable.")
                return day
            case "sex":
                sex = SEXES.get(normalize_label(parse_text(value)))
                if sex is None:
                    raise ValueProblem(
                        f"{quote(value)} n'est pas un sexe reconnu (F / Femme ou H / Homme / M attendu)."
                    )
                return str(sex)
            case "email":
                text = parse_text(value, max_length=254)
                try:
                    validate_email(text)
                except ValidationError as exc:
                    raise ValueProblem(f"{quote(value)} n'est pas une adresse e-mail valide.") from exc
                return text
            case "phone":
                return self.phone(value)
            case "address":
                return parse_text(value, max_length=255)
            case "postal_code":
                text = parse_text(value).replace(" ", "")
                if text.isdigit() and len(text) == 4:  # a number cell that lost its leading zero
                    text = "0" + text
                if not (len(text) == 5 and text.isdigit() and text.isascii()):
                    raise ValueProblem(f"{quote(value)} n'est pas un code postal (5 chiffres attendus).")
                return text
            case "commune":
                return self.commune(value)
            case "qualification_level":
                return self.qualification(value)
            case "prescriber":
                return self.prescriber(value)
        raise AssertionError(key)  # pragma: no cover

    def phone(self, value) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = str(int(value))
            text = "0" + text if len(text) == 9 else text  # a number cell that lost its leading zero
        else:
            text = parse_text(value)
        if not _PHONE_RE.fullmatch(text) or len(text) > 30:
            raise ValueProblem(f"{quote(value)} n'est pas un numéro de téléphone.")
        return text

    def commune(self, value) -> Commune:
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = str(int(value)).zfill(5)
        else:
            text = parse_text(value)
        code = text.upper()
        if _INSEE_RE.fullmatch(code) or (code.isdigit() and len(code) == 4):
            code = code.zfill(5)
            if code not in self._communes:
                self._communes[code] = Commune.objects.filter(pk=code).first()
            commune = self._communes[code]
            if commune is None:
                raise ValueProblem(f"aucune commune n'a le code INSEE {code}.")
            return commune
        if self._communes_by_name is None:
            self._communes_by_name = defaultdict(list)
            for commune in Commune.objects.only("insee_code", "name", "postal_codes"):
                self._communes_by_name[normalize_label(commune.name)].append(commune)
        found = self._communes_by_name.get(normalize_label(text).replace("st ", "saint "), [])
        found = found or self._communes_by_name.get(normalize_label(text), [])
        if not found:
            raise ValueProblem(f"commune {quote(text)} inconnue : indiquez son nom exact ou son code INSEE.")
        if len(found) > 1:
            codes = ", ".join(c.insee_code for c in found[:5])
            raise ValueProblem(
                f"plusieurs communes s'appellent {quote(text)} ({codes}) : indiquez le code INSEE."
            )
        return found[0]

    def qualification(self, value) -> QualificationLevel:
        if self._levels is None:
            self._levels = {level.code: level for level in QualificationLevel.objects.all()}
            for level in list(self._levels.values()):
                self._levels.setdefault(normalize_label(level.label), level)
        key = normalize_label(parse_text(value))
        code = QUALIFICATIONS.get(key) or QUALIFICATIONS.get(key.removeprefix("niveau "))
        level = self._levels.get(code) if code else self._levels.get(key)
        if level is None:
            raise ValueProblem(
                f"{quote(value)} n'est pas un niveau de qualification connu "
                "(infra 3, 3, 4, 5, 6 et plus, ou CAP, bac, BTS, licence…)."
            )
        return level

    def prescriber(self, value) -> Organization:
        if self._prescribers is None:
            self._prescribers = list(
                Organization.objects.filter(
                    kind=OrganizationKind.PRESCRIBER, partnerships__facilitator=self.facilitator
                ).distinct()
            )
        try:
            siret = parse_siret(value)
        except ValueProblem:
            siret = None
        if siret:
            found = [p for p in self._prescribers if p.siret == siret]
            if not found:
                raise ValueProblem(f"aucun prescripteur partenaire n'a le SIRET {siret}.")
            return found[0]
        name = normalize_label(parse_text(value))
        found = [p for p in self._prescribers if normalize_label(p.name) == name]
        if not found:
            raise ValueProblem(
                f"{quote(value)} ne fait pas partie de vos prescripteurs partenaires (nom exact ou SIRET)."
            )
        if len(found) > 1:
            raise ValueProblem(
                f"plusieurs prescripteurs partenaires s'appellent {quote(value)} : indiquez le SIRET."
            )
        return found[0]
