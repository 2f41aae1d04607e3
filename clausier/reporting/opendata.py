"""Open data: participants, contracts and hours by year and commune of residence, with the statistical secret.

The file (docs/opendata.md) has one row per year and commune of residence of the people, in three SQL
queries whatever the amount of data (conditional counts per year, grouped by commune):

- bénéficiaires: distinct people with a contract running at some point of the year, a merged duplicate
  counting as the record it was merged into; the commune is the one on the person's kept record;
- contrats: contracts running at some point of the year;
- heures: hours counted in validated monthly statements of the year's months.

Statistical secret (domain.md §7, `SMALL_CELL` of the bilans): a commune with fewer than 5 people in a year
is never shown. Its people, contracts and hours go to the year's row "Autres communes et commune inconnue
(secret statistique)", which also holds the people without a known commune. When that row would itself count
1 to 4 people, the smallest shown commune of the year joins it (secondary secret), so that it never falls
under 5 and no hidden figure can be had by subtracting shown rows from a published total (the public page
publishes the yearly number of people). When the whole year counts fewer than 5 people, the row is kept with
empty values. There is no total row.
"""

import csv
import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, F, Min, Sum, When
from django.db.models.functions import ExtractYear

from clausier.employment.models import Contract
from clausier.geo.models import Commune
from clausier.procurement.progress import validated_hours
from clausier.reporting.bilans import MASKED, SMALL_CELL, mask
from clausier.reporting.breakdowns import PERSON
from clausier.reporting.indicators import overlapping

SECRET_LABEL = "Autres communes et commune inconnue (secret statistique)"
# (column, type, description): the CSV header, documented in docs/opendata.md and on the public page.
COLUMNS = [
    ("annee", "entier", "Année civile (AAAA)."),
    (
        "code_commune_insee",
        "chaîne (5 caractères)",
        "Code officiel géographique de la commune de résidence ; vide pour la ligne du secret statistique.",
    ),
    ("nom_commune", "chaîne", f"Nom de la commune, ou « {SECRET_LABEL} »."),
    (
        "beneficiaires",
        "entier",
        "Personnes distinctes ayant un contrat en cours dans l'année (sans double compte) ; vide si masqué.",
    ),
    ("contrats", "entier", "Contrats en cours à un moment de l'année ; vide si masqué."),
    (
        "heures",
        "décimal (point décimal, 2 décimales)",
        "Heures réalisées des relevés mensuels validés des mois de l'année ; vide si masqué.",
    ),
]
HEADER = [name for name, _, _ in COLUMNS]
ZERO = Decimal(0)


@dataclass
class Row:
    year: int
    insee: str  # "" for the secret row
    name: str
    participants: int | None  # None: hidden
    contracts: int | None
    hours: Decimal | None

    @property
    def hidden(self) -> bool:
        return self.participants is None

    def as_csv(self) -> list:
        if self.hidden:
            return [self.year, self.insee, self.name, "", "", ""]
        return [self.year, self.insee, self.name, self.participants, self.contracts, f"{self.hours:.2f}"]


def _commune(prefix: str = ""):
    """The commune of the person's kept record (a merged duplicate's own commune is not used)."""
    return Case(
        When(
            **{f"{prefix}participant__merged_into__isnull": True}, then=F(f"{prefix}participant__commune_id")
        ),
        default=F(f"{prefix}participant__merged_into__commune_id"),
    )


def commune_counts(facilitator, *, today: datetime.date | None = None) -> dict[int, dict[str, list]]:
    """{year: {INSEE code or "": [people, contracts, hours]}} from the first year with a contract to this year."""
    today = today or datetime.date.today()
    contracts = Contract.objects.filter(facilitator=facilitator)
    first = contracts.aggregate(first=Min("start_date"))["first"]
    if first is None:
        return {}
    span = range(first.year, max(today.year, first.year) + 1)
    result: dict[int, dict[str, list]] = {y: {} for y in span}
    rows = (
        contracts.annotate(commune=_commune())
        .values("commune")
        .annotate(
            **{f"p{y}": Count(PERSON, distinct=True, filter=overlapping(y)) for y in span},
            **{f"c{y}": Count("pk", filter=overlapping(y)) for y in span},
        )
        .order_by()
    )
    for row in rows:
        for y in span:
            if row[f"c{y}"]:
                result[y][row["commune"] or ""] = [row[f"p{y}"], row[f"c{y}"], ZERO]
    hours = (
        validated_hours()
        .filter(facilitator=facilitator, month__year__gte=span.start, month__year__lt=span.stop)
        .annotate(commune=_commune("contract__"), y=ExtractYear("month"))
        .values("commune", "y")
        .annotate(h=Sum("counted_hours"))
        .order_by()
    )
    for row in hours:
        result[row["y"]].setdefault(row["commune"] or "", [0, 0, ZERO])[2] += row["h"] or ZERO
    return result


def commune_rows(facilitator, *, today: datetime.date | None = None) -> list[Row]:
    """The rows of the file, the statistical secret applied (see the module's docstring)."""
    counts = commune_counts(facilitator, today=today)
    names = dict(
        Commune.objects.filter(
            insee_code__in={code for communes in counts.values() for code in communes if code}
        ).values_list("insee_code", "name")
    )
    rows: list[Row] = []
    for year, communes in counts.items():
        if not communes:
            continue
        shown = {code: v for code, v in communes.items() if code and v[0] >= SMALL_CELL}
        secret = [v for code, v in communes.items() if code not in shown]
        if shown and mask(sum(v[0] for v in secret), public=True) == MASKED:
            # Secondary secret: the smallest shown commune joins the secret row (which then counts ≥ 6).
            smallest = min(shown, key=lambda code: (shown[code][0], shown[code][2], code))
            secret.append(shown.pop(smallest))
        for code in sorted(shown, key=lambda code: (names.get(code, code), code)):
            people, contracts, hours = shown[code]
            rows.append(Row(year, code, names.get(code, code), people, contracts, hours))
        if secret:
            people = sum(v[0] for v in secret)
            hidden = mask(people, public=True) == MASKED
            rows.append(
                Row(
                    year,
                    "",
                    SECRET_LABEL,
                    None if hidden else people,
                    None if hidden else sum(v[1] for v in secret),
                    None if hidden else sum((v[2] for v in secret), ZERO),
                )
            )
    return rows


def to_csv(rows: list[Row]) -> str:
    """UTF-8 CSV, comma-separated, decimal point, CRLF line ends (RFC 4180), header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(row.as_csv() for row in rows)
    return buffer.getvalue()


def opendata_csv(facilitator, *, today: datetime.date | None = None) -> str:
    return to_csv(commune_rows(facilitator, today=today))
