"""Bilans per buyer, operation, market and year: one structure rendered as HTML, PDF and XLSX.

`build_bilan(...)` computes the indicators once and lays them out as key figures, charts (the dashboard's
SVG) and tables of typed cells. The three renderings read the same `Bilan`, so they always agree.

Small-cell rule (domain.md §7): outside the facilitator's staff, any count of people (or of contracts,
which stand for people) between 1 and 4 is replaced by "< 5". Hours are not counts of people and are shown.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from clausier.participants.models import AgeBand, QpvFlag, QpvSource, QualificationBand, Sex
from clausier.participants.profiles import QPV_RULE
from clausier.reference.models import EligibilityCriterion
from clausier.reporting.breakdowns import Indicators, indicators
from clausier.reporting.charts import Point, bar_chart
from clausier.reporting.filters import IndicatorFilter

SMALL_CELL = 5
MASKED = "< 5"

# Cell kinds: how a value is written (HTML, PDF, XLSX) and whether the small-cell rule applies.
PEOPLE = "people"  # a count of people or contracts: masked under 5 outside the facilitator
HOURS = "hours"
NUMBER = "number"
RATE = "rate"
TEXT = "text"

MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
OUTCOME_LABELS = {
    "durable": "Emploi durable",
    "transition": "Emploi de transition",
    "positive": "Sortie positive",
    "other": "Autre sortie",
    "dynamic": "Sorties dynamiques",
    "total": "Total des sorties",
}

METHOD = [
    ("Heures prévues", "Somme des objectifs d'heures des clauses des lots retenus."),
    (
        "Heures réalisées",
        "Heures comptées selon les règles du facilitateur dans les relevés mensuels validés "
        "(les relevés en cours ou renvoyés ne comptent pas).",
    ),
    ("Taux de réalisation", "Heures réalisées ÷ heures prévues."),
    ("ETP", "Heures réalisées ÷ nombre d'heures d'un équivalent temps plein (1 600 h par défaut)."),
    (
        "Bénéficiaires (sans double compte)",
        "Personnes distinctes titulaires des contrats retenus, tous marchés et années confondus ; "
        "un doublon fusionné compte comme la fiche conservée.",
    ),
    ("Contrats", "Contrats en cours à un moment de la période."),
    ("Entreprises", "Entreprises distinctes (un SIRET chacune) dont les contrats remplissent l'obligation."),
    ("Structures d'insertion", "Structures d'insertion distinctes employeuses des participants."),
    (
        "Profils à l'entrée",
        "Sexe, tranche d'âge, niveau de qualification, critères d'éligibilité, résidence en QPV et commune, "
        "à la date d'entrée (début du premier contrat).",
    ),
    ("Résidence en QPV", QPV_RULE),
    (
        "Sorties",
        "Situation à la fin du contrat et à 6 mois. Emploi durable : CDI, CDD ou intérim de 6 mois et plus, "
        "titularisation, création d'entreprise. Emploi de transition : CDD ou intérim de moins de 6 mois, "
        "contrat aidé. Sortie positive : formation qualifiante, embauche par une autre SIAE. "
        "Sorties dynamiques : les trois ensemble.",
    ),
    (
        "Secret statistique",
        "Hors du facilitateur, tout effectif de personnes ou de contrats inférieur à 5 est masqué (« < 5 »).",
    ),
]


@dataclass(frozen=True)
class Cell:
    value: object
    kind: str = TEXT

    @property
    def masked(self) -> bool:
        return self.value == MASKED


@dataclass
class Table:
    title: str
    columns: list[tuple[str, str]]  # (label, kind)
    rows: list[list[Cell]]
    slug: str = ""


@dataclass
class Chart:
    title: str
    svg: str
    table: Table


@dataclass
class Bilan:
    title: str
    subject: str
    facilitator: object
    period: str
    public: bool
    generated_on: datetime.date
    key_figures: list[tuple[str, Cell]]
    charts: list[Chart]
    tables: list[Table]
    method: list[tuple[str, str]] = field(default_factory=lambda: list(METHOD))
    indicators: Indicators | None = None


def mask(value: int, public: bool):
    """The small-cell rule: 1 to 4 people are shown as "< 5" outside the facilitator."""
    if public and value and 0 < value < SMALL_CELL:
        return MASKED
    return value


def cell(value, kind: str, public: bool) -> Cell:
    return Cell(mask(value, public) if kind == PEOPLE else value, kind)


def _table(title, slug, columns, rows, public) -> Table:
    return Table(
        title=title,
        slug=slug,
        columns=columns,
        rows=[[cell(v, kind, public) for v, (_, kind) in zip(row, columns, strict=True)] for row in rows],
    )


def _chart(title: str, description: str, table: Table, column: int, *, masked_note: bool) -> Chart:
    points = [
        Point(str(row[0].value), Decimal(0) if row[column].masked else Decimal(row[column].value))
        for row in table.rows
    ]
    if masked_note:
        description += " Les effectifs inférieurs à 5 sont masqués et figurés à zéro."
    return Chart(title=title, svg=bar_chart(points, title=title, description=description), table=table)


def layout(
    result: Indicators, *, public: bool, with_months: bool = True
) -> tuple[list[tuple[str, Cell]], list[Chart], list[Table]]:
    """Key figures, charts and tables of `result`, the small-cell rule applied when `public`."""
    completion = result.completion
    key_figures = [
        ("Heures prévues", Cell(result.planned_hours, HOURS)),
        ("Heures réalisées", Cell(result.hours, HOURS)),
        ("Taux de réalisation", Cell(completion, RATE) if completion is not None else Cell("—")),
        ("Équivalents temps plein (ETP)", Cell(result.fte, NUMBER)),
        ("Contrats", cell(result.contracts, PEOPLE, public)),
        ("Bénéficiaires (sans double compte)", cell(result.participants, PEOPLE, public)),
        ("dont résidents d'un QPV", cell(result.qpv_residents, PEOPLE, public)),
        ("Entreprises", Cell(result.companies, NUMBER)),
        ("Structures d'insertion", Cell(result.structures, NUMBER)),
        ("Donneurs d'ordre", Cell(result.buyers, NUMBER)),
        ("Marchés avec clause", Cell(result.markets, NUMBER)),
    ]
    year_columns = [
        ("Année", TEXT),
        ("Bénéficiaires", PEOPLE),
        ("Contrats", PEOPLE),
        ("Heures réalisées", HOURS),
    ]
    years = _table(
        "Évolution par an",
        "annees",
        year_columns,
        [[y.year, y.participants, y.contracts, y.hours] for y in result.years],
        public,
    )
    first = result.first_year
    since = f" depuis {first}" if first else ""
    charts = [
        _chart(
            f"Évolution par an du nombre de bénéficiaires{since}",
            "Personnes distinctes ayant un contrat en cours dans l'année.",
            years,
            1,
            masked_note=public,
        ),
        _chart(
            f"Heures réalisées par an{since}",
            "Heures comptées des relevés mensuels validés, par année.",
            years,
            3,
            masked_note=False,
        ),
        _chart(
            f"Contrats par an{since}",
            "Contrats en cours à un moment de l'année.",
            years,
            2,
            masked_note=public,
        ),
    ]
    if with_months and result.months:
        months = _table(
            f"Mois de l'année {result.months_year}",
            "mois",
            [("Mois", TEXT), ("Bénéficiaires", PEOPLE), ("Contrats", PEOPLE), ("Heures réalisées", HOURS)],
            [
                [f"{MONTHS[m.month.month - 1]} {m.month.year}", m.participants, m.contracts, m.hours]
                for m in result.months
            ],
            public,
        )
        charts.append(
            _chart(
                f"Heures réalisées par mois en {result.months_year}",
                "Heures comptées des relevés mensuels validés, par mois.",
                months,
                3,
                masked_note=False,
            )
        )
    tables = [
        _table(
            "Heures par donneur d'ordre",
            "donneurs",
            [
                ("Donneur d'ordre", TEXT),
                ("Heures prévues", HOURS),
                ("Heures réalisées", HOURS),
                ("Réalisation", RATE),
            ],
            [
                [r["name"], r["planned"], r["hours"], (r["hours"] / r["planned"]) if r["planned"] else None]
                for r in result.by_buyer
            ],
            public,
        ),
        _table(
            "Contrats par type",
            "types",
            [
                ("Type de contrat", TEXT),
                ("Contrats", PEOPLE),
                ("Bénéficiaires", PEOPLE),
                ("Heures réalisées", HOURS),
            ],
            [[r["label"], r["contracts"], r["participants"], r["hours"]] for r in result.by_contract_type],
            public,
        ),
        _table(
            "Contrats par modalité",
            "modalites",
            [
                ("Modalité", TEXT),
                ("Contrats", PEOPLE),
                ("Bénéficiaires", PEOPLE),
                ("Heures réalisées", HOURS),
            ],
            [[r["label"], r["contracts"], r["participants"], r["hours"]] for r in result.by_modality],
            public,
        ),
        _table(
            "Profils à l'entrée",
            "profils",
            [("Caractéristique", TEXT), ("Valeur", TEXT), ("Bénéficiaires", PEOPLE)],
            _profile_rows(result),
            public,
        ),
        _table(
            "Commune de résidence à l'entrée",
            "communes",
            [("Commune", TEXT), ("Code INSEE", TEXT), ("Bénéficiaires", PEOPLE)],
            [[c["name"], c["insee"], c["n"]] for c in result.communes],
            public,
        ),
        _table(
            "Sorties",
            "sorties",
            [("Situation", TEXT), ("À la fin du contrat", PEOPLE), ("À 6 mois", PEOPLE)],
            [
                [label, result.outcomes["end"][key], result.outcomes["6m"][key]]
                for key, label in OUTCOME_LABELS.items()
            ],
            public,
        ),
    ]
    if not public:
        # Eligibility criteria are health, justice and social data: only the facilitator's staff see them,
        # even as counts (a buyer's or a company's bilan never has this table).
        tables.insert(
            4,
            _table(
                "Critères d'éligibilité à l'entrée",
                "criteres",
                [("Critère", TEXT), ("Bénéficiaires", PEOPLE)],
                _criteria_rows(result.criteria),
                public,
            ),
        )
    return key_figures, charts, [years, *tables]


def _profile_rows(result: Indicators) -> list[list]:
    profiles = result.profiles
    rows = [["Ensemble", "Bénéficiaires avec un profil", profiles["total"]["total"]]]
    for label, dimension, choices in (
        ("Sexe", "sex", Sex),
        ("Âge", "age_band", AgeBand),
        ("Qualification", "qualification_band", QualificationBand),
    ):
        rows += [[label, choice.label, profiles[dimension].get(choice.value, 0)] for choice in choices]
    qpv, by_criterion = profiles["qpv_flag"], profiles["qpv_source"].get(QpvSource.CRITERION, 0)
    inside = qpv.get(QpvFlag.INSIDE, 0)
    rows += [
        ["QPV", QpvFlag.INSIDE.label, inside],
        ["QPV", f"dont {QpvSource.ADDRESS.label}", inside - by_criterion],
        ["QPV", f"dont {QpvSource.CRITERION.label}", by_criterion],
        ["QPV", QpvFlag.OUTSIDE.label, qpv.get(QpvFlag.OUTSIDE, 0)],
        ["QPV", QpvFlag.UNKNOWN.label, qpv.get(QpvFlag.UNKNOWN, 0)],
    ]
    return rows


def _criteria_rows(criteria: dict[str, int]) -> list[list]:
    labels = dict(EligibilityCriterion.objects.filter(code__in=list(criteria)).values_list("code", "label"))
    return [
        [labels.get(code, code), n] for code, n in sorted(criteria.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def build_bilan(
    f: IndicatorFilter, *, title: str, subject: str, public: bool, today: datetime.date | None = None
) -> Bilan:
    today = today or datetime.date.today()
    result = indicators(f, today=today)
    key_figures, charts, tables = layout(result, public=public)
    period = f.describe()[0][1] if f.has_period else "depuis le début"
    return Bilan(
        title=title,
        subject=subject,
        facilitator=f.facilitator,
        period=period,
        public=public,
        generated_on=today,
        key_figures=key_figures,
        charts=charts,
        tables=tables,
        indicators=result,
    )
