"""Generate a realistic territory, calibrated on Toulouse Métropole Emploi's public figures.

`build_demo()` builds "Toulouse Métropole Emploi" from 2012 to today with demo users;
`build_territory(spec)` builds any territory of the same size (the benchmark builds hundreds).

The figures computed by `clausier.reporting.indicators.territory_figures` on a generated territory are
exactly `TARGETS`: 42 buyers, 1,824,868 hours, 2,725 contracts, 1,983 participants without double
counting; the people counted per year grow strictly from the first year to the current one.

The territory looks like a cellule at work: every lot started before this month carries contracts and
validated hours; targets are sized on what each lot carries, so that ended lots mostly reach 90–130 % of
their target and running lots are mostly on track by the rule of `clausier.procurement.followup` (some at
risk, a few late). The last complete month is being processed: a few statements submitted or returned with a
comment, a few employers still to chase (*relances*); their hours do not count, the figures above do not
move. Hours are counted under versioned counting rules (all 1 hour = 1 hour), each record keeping the rule
applied; two conventions de globalisation pool one company's lots of two buyers.

With the demo users, the matching spaces are not empty either (`_matching`): candidacies of the demo
prescriber to review, validated (linked to a candidate already on file) and declined; open job offers on
running lots of the demo company (ROME codes, e.g. F1703 Maçon / Maçonne); proposals shortlisted, sent,
accepted and refused. No hire: no contract, no participant record is added, the figures above do not move.

Contracts carry the ROME code of their job (`data.JOBS`, appellations of the real ROME), so that the pool
finds people by job. The people the draw places in a QPV live on a street of one (`data.QPV_STREETS`):
`build_demo` then determines everyone's QPV residence as for real participants (`clausier.demo.addresses`)
and imports the SIAE of Haute-Garonne into the directory (`clausier.demo.directory`), when the official
data is loaded (`clausier load_reference`).

Everything is drawn from a seeded `random.Random`: the same seed and the same day give the same data.
Rows are written with `bulk_create` in batches.
"""

import datetime
import math
import random
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.text import slugify
from unidecode import unidecode

from clausier.demo import data
from clausier.demo.addresses import resolve_demo_qpv
from clausier.demo.directory import import_demo_siae
from clausier.employment.counting import RuleBook, ensure_default_rule
from clausier.employment.models import (
    Contract,
    CountingRule,
    HoursRecord,
    MonthlyStatement,
    StatementStatus,
    StatementTransition,
)
from clausier.geo.models import Commune
from clausier.matching.models import (
    Candidacy,
    CandidacyCriterion,
    CandidacyStatus,
    CandidacyTransition,
    JobOffer,
    OfferStatus,
    Proposal,
    ProposalStatus,
    ProposalTransition,
)
from clausier.organizations.models import (
    Facilitator,
    FacilitatorSettings,
    Membership,
    Organization,
    OrganizationKind,
    Partnership,
    Role,
    User,
)
from clausier.participants.models import AssessmentCriterion, EligibilityAssessment, Outcome, Participant, Sex
from clausier.participants.profiles import refresh_facilitator_profiles
from clausier.procurement.actions import create_globalisation
from clausier.procurement.followup import PACE_MONTHS, follow_up
from clausier.procurement.models import Award, Clause, Lot, Market, Operation
from clausier.reference.models import (
    ContractType,
    EligibilityCriterion,
    LegalBasis,
    LotFamily,
    Modality,
    OrganizationCategory,
    OutcomeCategory,
    QualificationLevel,
    RomeDomain,
    RomeJob,
)
from clausier.utils.names import normalize_name

K = OrganizationKind
BATCH_SIZE = 2000
MAX_MONTHLY_HOURS = 220

DEMO_PASSWORD = "demo-clausier-2026"
DEMO_EMAIL_DOMAIN = "tme.demo"
# (role code, role shown to the developer, e-mail local part, first name, last name)
DEMO_USERS = [
    ("facilitator_admin", "Facilitateur — administratrice", "admin", "Claire", "Fabre"),
    ("facilitator_member", "Facilitateur — chargé de mission", "membre", "Karim", "Haddad"),
    ("buyer", "Donneur d'ordre (Ville de Toulouse)", "acheteur", "Julien", "Marty"),
    ("company", "Entreprise attributaire", "entreprise", "Nathalie", "Puech"),
    ("insertion_structure", "Structure d'insertion (ETTI)", "structure", "Sonia", "Mendy"),
    ("prescriber", "Prescripteur (Mission locale Toulouse)", "prescripteur", "Hugo", "Sabatier"),
    ("multi", "Deux organisations (facilitateur + entreprise)", "multi", "Leïla", "Amrani"),
]


class DemoLogin(NamedTuple):
    role: str  # code: facilitator_admin, facilitator_member, buyer, company, insertion_structure, prescriber, multi
    label: str
    email: str
    password: str


def demo_logins() -> list[DemoLogin]:
    """Every demo account (role code, French label, e-mail, password)."""
    return [
        DemoLogin(role, label, f"{local}@{DEMO_EMAIL_DOMAIN}", DEMO_PASSWORD)
        for role, label, local, _, _ in DEMO_USERS
    ]


def demo_credentials() -> list[tuple[str, str, str]]:
    """(role, e-mail, password) of every demo user, for `make run` to print."""
    return [(login.label, login.email, login.password) for login in demo_logins()]


@dataclass(frozen=True)
class Targets:
    buyers: int = 42
    hours: int = 1_824_868
    contracts: int = 2_725
    participants: int = 1_983


TARGETS = Targets()


@dataclass(frozen=True)
class TerritorySpec:
    name: str
    slug: str
    seed: int
    first_year: int = 2012
    territory_label: str = "Toulouse Métropole (37 communes)"
    # Appended to partner names (benchmark territories reuse the same names).
    partner_suffix: str = ""
    candidates: int = 36


DEMO = TerritorySpec(name="Toulouse Métropole Emploi", slug="toulouse-metropole-emploi", seed=201231555)


# --- dates -------------------------------------------------------------------------------------------------


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(day: datetime.date, months: int) -> datetime.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return datetime.date(year, month, min(day.day, days_in_month(year, month)))


def days_in_month(year: int, month: int) -> int:
    nxt = datetime.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - datetime.timedelta(days=1)).day


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=days_in_month(day.year, day.month))


def month_index(day: datetime.date, origin: datetime.date) -> int:
    return (day.year - origin.year) * 12 + day.month - origin.month


# --- identifiers -------------------------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(body: str) -> str:
    """`body` followed by the digit that makes the whole number Luhn-valid."""
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("unreachable")


class SiretMaker:
    """Valid-looking SIRET numbers (SIREN and SIRET both Luhn-valid), never one already used."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used = set(Organization.objects.exclude(siret="").values_list("siret", flat=True))

    def make(self, public: bool = False) -> str:
        while True:
            first = "2" if public else str(self.rng.randint(3, 9))
            siren = luhn_complete(first + "".join(str(self.rng.randint(0, 9)) for _ in range(7)))
            nic = f"{self.rng.choice(['0001', '0001', '0002', '0003', '0010', '0012', '0021', '0035'])}"
            siret = luhn_complete(siren + nic)
            if siret not in self.used:
                self.used.add(siret)
                return siret


# --- reference data ----------------------------------------------------------------------------------------


def ensure_reference() -> None:
    """Load the small reference tables; the official data (ROME, communes, QPV) is `clausier load_reference`'s,
    which `make run` calls first: the demo then uses the real referentials, and builds without them too."""
    from clausier.reference.loader import load_reference

    load_reference()


# Postal codes drawn from the demo's own table, never from the database row: the same draws whether the
# communes come from the official COG (`clausier load_reference`) or from `ensure_communes`.
POSTAL_CODES = {code: postal.split("|") for code, _, postal, _ in data.COMMUNES}
# Commune → [(street, postal code)] in its QPV (`data.QPV_STREETS`).
QPV_STREETS_OF = {
    insee: [
        (street, postal)
        for i, postal, streets in data.QPV_STREETS.values()
        if i == insee
        for street in streets
    ]
    for insee, _, _ in data.QPV_STREETS.values()
}


def ensure_communes() -> dict[str, Commune]:
    """The 37 communes of Toulouse Métropole, created if missing (the COG import may not have run)."""
    existing = {
        c.insee_code: c for c in Commune.objects.filter(insee_code__in=[row[0] for row in data.COMMUNES])
    }
    epci_code, epci_name = data.TOULOUSE_METROPOLE_EPCI
    missing = [
        Commune(
            insee_code=code,
            name=name,
            postal_codes=" ".join(POSTAL_CODES[code]),
            department_code="31",
            epci_code=epci_code,
            epci_name=epci_name,
            population=population,
        )
        for code, name, postal, population in data.COMMUNES
        if code not in existing
    ]
    Commune.objects.bulk_create(missing)
    existing.update({c.insee_code: c for c in missing})
    return existing


class Ref:
    """Reference rows by code."""

    def __init__(self):
        self.category = {c.code: c for c in OrganizationCategory.objects.all()}
        self.legal = {c.code: c for c in LegalBasis.objects.all()}
        self.modality = {c.code: c for c in Modality.objects.all()}
        self.contract_type = {c.code: c for c in ContractType.objects.all()}
        self.qualification = {c.code: c for c in QualificationLevel.objects.all()}
        self.outcome = {c.code: c for c in OutcomeCategory.objects.all()}
        self.criterion = {c.code: c for c in EligibilityCriterion.objects.all()}
        self.lot_family = {c.code: c for c in LotFamily.objects.all()}
        if not self.legal or not self.lot_family or not self.criterion:
            raise CommandError("Référentiels absents : lancez d'abord « clausier load_reference ».")


# --- the plan (in memory) ----------------------------------------------------------------------------------

# Contract tracks: modality, contract type, employer categories (None: the company itself),
# duration in months (min, max), weekly hours, share of training hours.
TRACKS = {
    "hire_cdd": ("direct_hire", "cdd", None, (2, 8), (35, 35, 35, 28, 24), 0.0),
    "hire_cdi": ("direct_hire", "cdi", None, (4, 12), (35,), 0.0),
    "apprentice": ("direct_hire", "apprenticeship", None, (6, 14), (35,), 0.3),
    "pro_direct": ("direct_hire", "professionalisation", None, (6, 12), (35,), 0.2),
    "etti": ("provision", "ctti", ("etti",), (1, 6), (35, 35, 30), 0.0),
    "ai": ("provision", "ai_provision", ("ai",), (1, 5), (15, 20, 24, 28), 0.0),
    "geiq": ("provision", "professionalisation", ("geiq",), (4, 12), (35,), 0.2),
    "sub_siae": (
        "subcontracting",
        "cddi",
        ("aci", "ei", "regie_quartier", "eiti"),
        (3, 9),
        (26, 24, 30),
        0.0,
    ),
    "sub_ea": ("subcontracting", "cdd", ("ea",), (3, 9), (35, 28), 0.0),
    "sub_esat": ("subcontracting", "other", ("esat",), (3, 10), (28,), 0.0),
    "training": ("training", "other", None, (1, 3), (35,), 1.0),
    "reserved": ("direct_hire", "cddi", "holder", (3, 10), (26, 24, 30), 0.0),
}
TRACK_WEIGHTS = {
    "hire_cdd": 22,
    "hire_cdi": 5,
    "apprentice": 4,
    "pro_direct": 3,
    "etti": 26,
    "ai": 10,
    "geiq": 8,
    "sub_siae": 9,
    "sub_ea": 3,
    "sub_esat": 1,
    "training": 2,
    "reserved": 7,
}
# Lot groups each track may go to (reserved markets only take "reserved" contracts).
TRACK_GROUPS = {
    "sub_esat": {"cleaning", "green"},
    "sub_ea": {"cleaning", "green", "works"},
    "reserved": {"reserved"},
}
ALL_GROUPS = {"works", "roads", "cleaning", "green", "services"}
FAMILY_GROUP = {
    "structural_works": "works",
    "painting": "works",
    "steel_frame": "works",
    "finishing": "works",
    "technical_networks": "works",
    "roads": "roads",
    "cleaning": "cleaning",
    "green_spaces": "green",
    "services": "services",
}
GROUP_TRADE = {
    "works": "works",
    "roads": "roads",
    "cleaning": "cleaning",
    "green": "green_spaces",
    "services": "services",
}

# Market mixes per buyer category: market kind → weight.
MARKET_MIX = {
    "social_landlord": {"building": 85, "cleaning": 10, "green": 5},
    "commune": {"building": 45, "roads": 10, "cleaning": 20, "green": 20, "services": 5},
    "epci": {"building": 30, "roads": 25, "cleaning": 10, "green": 20, "services": 15},
    "sem_spl": {"building": 60, "roads": 40},
    "public_body": {"building": 55, "cleaning": 35, "green": 10},
    "hospital": {"building": 50, "cleaning": 45, "green": 5},
    "departement": {"building": 50, "roads": 30, "cleaning": 10, "green": 10},
    "region": {"building": 80, "cleaning": 20},
}
OPERATION_MARKET_KIND = {
    "anru": "building",
    "building": "building",
    "infrastructure": "roads",
    "services": None,
}


@dataclass
class LotPlan:
    market: "MarketPlan"
    number: str
    title: str
    family: str
    group: str  # works / roads / cleaning / green / services / reserved
    start: datetime.date
    end: datetime.date
    weight: float
    has_clause: bool = True
    contracts: list = field(default_factory=list)
    holder: Organization | None = None
    co_contractor: Organization | None = None
    subcontractors: set = field(default_factory=set)
    row: Lot | None = None


@dataclass
class MarketPlan:
    buyer_key: str
    kind: str  # building / roads / cleaning / green / services
    notified: datetime.date
    operation: int | None = None
    reserved: str = ""  # "", "siae", "ea", "insertion"
    criterion: bool = False
    lots: list = field(default_factory=list)
    row: Market | None = None


@dataclass
class ContractPlan:
    person: int
    track: str
    start: datetime.date
    end: datetime.date | None
    weekly: int
    record: int = -1  # participant record index (the person's, or the duplicate's)
    lot: LotPlan | None = None
    company: Organization | None = None
    employer: Organization | None = None
    row: Contract | None = None


@dataclass
class PersonPlan:
    first_start: datetime.date
    contracts: list = field(default_factory=list)


class TerritoryBuilder:
    def __init__(
        self, spec: TerritorySpec, *, today: datetime.date | None = None, targets: Targets = TARGETS
    ):
        self.spec = spec
        self.targets = targets
        self.today = today or datetime.date.today()
        self.rng = random.Random(spec.seed)
        self.qpv_rng = random.Random(f"{spec.seed}:qpv")  # QPV streets: the main draws stay as they were
        self.origin = datetime.date(spec.first_year, 1, 1)
        # Hours are recorded up to the last complete month.
        self.last_month = month_start(month_start(self.today) - datetime.timedelta(days=1))
        self.stats: dict[str, int] = {}
        self.notes: list[str] = []  # what the official data brought, or why not (`build_demo`)

    # ---- entry point ----

    def build(self, *, with_users: bool = False) -> Organization:
        self.ref = Ref()
        self.communes = ensure_communes()
        self.sirets = SiretMaker(self.rng)
        self.facilitator = self._facilitator()
        self._organizations()
        self.users, self.employer_users = {}, {}
        if with_users:
            self.users = self._users()
        self._plan_people()
        self._plan_markets()
        self._assign_lots()
        self._write_procurement()
        self._write_people()
        self._globalisations()
        if self.users:
            self._matching()
        return self.facilitator

    # ---- organizations ----

    def _facilitator(self) -> Organization:
        fac = Facilitator.objects.create(
            kind=K.FACILITATOR,
            name=self.spec.name,
            slug=self.spec.slug,
            siret=self.sirets.make(public=True),
            address="1 place de la Légion-d'Honneur",
            postal_code="31500",
            commune=self.communes[data.TOULOUSE],
            email=f"clauses@{self.spec.slug}.example.org",
        )
        FacilitatorSettings.objects.create(
            facilitator=fac, first_year=self.spec.first_year, territory_label=self.spec.territory_label
        )
        return fac

    def _org(self, kind, name, category, insee=data.TOULOUSE, public=False) -> Organization:
        commune = self.communes[insee]
        return Organization(
            kind=kind,
            name=f"{name}{self.spec.partner_suffix}",
            category=self.ref.category.get(category),
            siret=self.sirets.make(public=public),
            postal_code=POSTAL_CODES[commune.insee_code][0],
            commune=commune,
        )

    def _organizations(self) -> None:
        rng = self.rng
        self.buyers = {}
        self.buyer_category = {}
        for key, name, category, insee, _, _ in data.BUYERS:
            self.buyer_category[key] = (
                "social_landlord"
                if category == "social_landlord"
                else ("commune" if category in ("commune", "epci") else "other")
            )
            self.buyers[key] = self._org(K.BUYER, name, category, insee, public=category != "private_buyer")
        self.companies = defaultdict(list)  # trade → [org]
        company_weight = {}
        surnames = rng.sample(data.SURNAMES, len(data.SURNAMES))
        counts = {"works": 60, "roads": 14, "cleaning": 16, "green_spaces": 12, "services": 6}
        names = set()
        for trade, n in counts.items():
            for _ in range(n):
                while True:
                    name = rng.choice(data.COMPANY_PATTERNS[trade]).format(s=rng.choice(surnames))
                    if name not in names:
                        names.add(name)
                        break
                org = self._org(K.COMPANY, name, "tpe_pme", self._company_commune())
                self.companies[trade].append(org)
                company_weight[id(org)] = rng.paretovariate(1.3)
        for name, trade in data.LARGE_COMPANIES:
            org = self._org(K.COMPANY, name, "eti_ge", data.TOULOUSE)
            self.companies[trade].append(org)
            company_weight[id(org)] = 6.0
        self.company_weight = company_weight
        self.structures = defaultdict(list)  # category → [org]
        for name, category in data.INSERTION_STRUCTURES:
            self.structures[category].append(self._org(K.INSERTION_STRUCTURE, name, category, data.TOULOUSE))
        self.prescribers = []
        for name, category, weight in data.PRESCRIBERS:
            insee = {"France Travail Colomiers": "31149", "France Travail Blagnac": "31069"}.get(
                name, data.TOULOUSE
            )
            org = self._org(K.PRESCRIBER, name, category, insee, public=True)
            self.prescribers.append((org, category, weight))

        orgs = [
            *self.buyers.values(),
            *(o for lst in self.companies.values() for o in lst),
            *(o for lst in self.structures.values() for o in lst),
            *(o for o, _, _ in self.prescribers),
        ]
        self._set_slugs(orgs)
        Organization.objects.bulk_create(orgs, batch_size=BATCH_SIZE)
        start = datetime.date(self.spec.first_year - 1, 9, 1)
        Partnership.objects.bulk_create(
            [
                Partnership(
                    facilitator=self.facilitator,
                    partner=org,
                    agreement_reference=f"CONV-{start.year}-{i:03d}" if org.kind == K.BUYER else "",
                    start_date=start if org.kind == K.BUYER else None,
                )
                for i, org in enumerate(orgs, start=1)
            ],
            batch_size=BATCH_SIZE,
        )
        self.stats["organizations"] = len(orgs) + 1

    def _company_commune(self) -> str:
        if self.rng.random() < 0.55:
            return data.TOULOUSE
        return self.rng.choice([c[0] for c in data.COMMUNES])

    def _set_slugs(self, orgs) -> None:
        bases = [slugify(o.name)[:70] or "organisation" for o in orgs]
        taken = set(Organization.objects.filter(slug__in=bases).values_list("slug", flat=True))
        for org, base in zip(orgs, bases, strict=True):
            slug, n = base, 1
            while slug in taken:
                n += 1
                slug = f"{base}-{n}"
            if n > 1 and Organization.objects.filter(slug=slug).exists():
                slug = f"{base}-{self.spec.seed}-{n}"
            taken.add(slug)
            org.slug = slug

    # ---- users ----

    def _users(self) -> dict[str, User]:
        password = make_password(DEMO_PASSWORD)  # hashed once, shared by the demo accounts
        users = {}
        for _, _, local, first, last in DEMO_USERS:
            email = f"{local}@{DEMO_EMAIL_DOMAIN}"
            users[local] = User.objects.create(
                username=email, email=email, first_name=first, last_name=last, password=password
            )
        fac = self.facilitator
        top_company = max(self.companies["works"], key=lambda o: self.company_weight[id(o)])
        mission_locale = next(o for o, cat, _ in self.prescribers if cat == "mission_locale")
        memberships = [
            (users["admin"], fac, Role.ADMIN),
            (users["membre"], fac, Role.MEMBER),
            (users["acheteur"], self.buyers["vdt"], Role.ADMIN),
            (users["entreprise"], top_company, Role.ADMIN),
            (users["structure"], self.structures["etti"][0], Role.ADMIN),
            (users["prescripteur"], mission_locale, Role.MEMBER),
            (users["multi"], fac, Role.MEMBER),
            (users["multi"], top_company, Role.MEMBER),
        ]
        Membership.objects.bulk_create(
            [Membership(user=u, organization=o, role=r) for u, o, r in memberships]
        )
        self.top_company = top_company
        self.employer_users = {
            top_company.pk: users["entreprise"],
            self.structures["etti"][0].pk: users["structure"],
        }
        return users

    # ---- people and their contracts (dates only) ----

    def _plan_people(self) -> None:
        rng, today = self.rng, self.today
        n_months = month_index(today, self.origin) + 1
        growth = math.log(1.16) / 12
        month_weights = [math.exp(growth * m) for m in range(n_months)]
        # The current month is partial.
        month_weights[-1] *= today.day / days_in_month(today.year, today.month)
        persons = []
        for m in rng.choices(range(n_months), weights=month_weights, k=self.targets.participants):
            first = add_months(self.origin, m)
            day = rng.randint(1, days_in_month(first.year, first.month))
            if first.year == today.year and first.month == today.month:
                day = rng.randint(1, today.day)
            persons.append(PersonPlan(first_start=first.replace(day=day)))
        # Someone must start in the first month: the chart begins with the first year.
        persons[0].first_start = self.origin + datetime.timedelta(days=rng.randint(1, 25))
        n_contracts = [1] * len(persons)
        extra = self.targets.contracts - len(persons)
        weights = [max(0, (today - p.first_start).days - 120) for p in persons]
        while extra > 0:
            i = rng.choices(range(len(persons)), weights=weights)[0]
            if n_contracts[i] < 5:
                n_contracts[i] += 1
                extra -= 1
            else:
                weights[i] = 0
        tracks, track_weights = list(TRACK_WEIGHTS), list(TRACK_WEIGHTS.values())
        for i, person in enumerate(persons):
            start = person.first_start
            for k in range(n_contracts[i]):
                track = rng.choices(tracks, weights=track_weights)[0]
                _, _, _, (dmin, dmax), weeklies, _ = TRACKS[track]
                end = add_months(start, rng.randint(dmin, dmax)) - datetime.timedelta(days=rng.randint(1, 20))
                end = max(end, start + datetime.timedelta(days=14))
                contract = ContractPlan(
                    person=i, track=track, start=start, end=end, weekly=rng.choice(weeklies)
                )
                person.contracts.append(contract)
                if k + 1 < n_contracts[i]:
                    nxt = end + datetime.timedelta(days=rng.randint(1, 150))
                    latest = today - datetime.timedelta(days=3)
                    if nxt > latest:
                        span = (latest - start).days
                        nxt = start + datetime.timedelta(days=max(1, int(span * rng.uniform(0.4, 0.95))))
                        contract.end = nxt - datetime.timedelta(days=1)
                    start = nxt
        for person in persons:
            for c in person.contracts:
                if c.end is not None and c.end > self.today and TRACKS[c.track][1] == "cdi":
                    c.end = None  # ongoing permanent hire
        self.persons = persons
        self._make_years_grow()

    def _year_sets(self) -> dict[int, set[int]]:
        active = defaultdict(set)
        for i, person in enumerate(self.persons):
            for c in person.contracts:
                last = self.today.year if c.end is None else min(c.end.year, self.today.year)
                for y in range(c.start.year, last + 1):
                    active[y].add(i)
        return active

    def _make_years_grow(self) -> None:
        """Strictly more people each year (the public chart): prolong a few contracts into the next year."""
        rng = self.rng
        years = range(self.spec.first_year, self.today.year + 1)
        active = self._year_sets()
        prolonged = 0
        for y in years[1:]:
            if len(active[y]) > len(active[y - 1]):
                continue
            needed = len(active[y - 1]) - len(active[y]) + 1
            candidates = []
            for i in sorted(active[y - 1] - active[y]):
                last = self.persons[i].contracts[-1]
                if last.end is not None and last.end.year == y - 1:
                    candidates.append(i)
            rng.shuffle(candidates)
            if len(candidates) < needed:
                raise RuntimeError(f"Impossible de faire croître le nombre de participants en {y}.")
            for i in candidates[:needed]:
                c = self.persons[i].contracts[-1]
                latest = min(datetime.date(y, 12, 31), max(self.today, datetime.date(y, 1, 1)))
                c.end = min(latest, datetime.date(y, 1, 1) + datetime.timedelta(days=rng.randint(5, 120)))
                active[y].add(i)
                prolonged += 1
        self.stats["prolonged_contracts"] = prolonged

    # ---- markets and lots ----

    def _plan_markets(self) -> None:
        rng, today = self.rng, self.today
        first_notice = datetime.date(self.spec.first_year - 1, 9, 1)
        span_months = month_index(today, first_notice) - 1
        growth = math.log(1.12) / 12
        weights = [math.exp(growth * m) for m in range(span_months)]
        markets: list[MarketPlan] = []
        self.operations = []
        for op_index, (buyer, name, kind, insee, start, end) in enumerate(data.OPERATIONS):
            op_start, op_end = datetime.date(*start, 1), month_end(datetime.date(*end, 1))
            self.operations.append((buyer, name, kind, insee, op_start, op_end))
            if op_start >= today:
                continue
            n = {"anru": 5, "infrastructure": 4, "building": 3, "services": 4}[kind]
            last_notice = min(op_end, today - datetime.timedelta(days=45))
            for j in range(n):
                # Spread the markets over the operation; services are renewed every few years.
                frac = (j + rng.uniform(0.0, 0.8)) / n
                notified = op_start + datetime.timedelta(
                    days=int(frac * max(1, (last_notice - op_start).days))
                )
                mkind = OPERATION_MARKET_KIND[kind]
                if mkind is None:
                    mkind = "green" if buyer == "tm" else "cleaning"
                markets.append(MarketPlan(buyer_key=buyer, kind=mkind, notified=notified, operation=op_index))
        for key, _, category, _, weight, _ in data.BUYERS[: data.BUYERS_WITH_CLAUSES]:
            mix = MARKET_MIX[category]
            for _ in range(max(1, round(weight * 1.3))):
                m = rng.choices(range(span_months), weights=weights)[0]
                notified = add_months(first_notice, m) + datetime.timedelta(days=rng.randint(0, 27))
                kind = rng.choices(list(mix), weights=list(mix.values()))[0]
                markets.append(MarketPlan(buyer_key=key, kind=kind, notified=notified))
        # Early markets, so that the first contracts of the first year have lots to work on.
        for key, kind in (("vdt", "cleaning"), ("tm", "green"), ("tmh", "building")):
            notified = first_notice + datetime.timedelta(days=rng.randint(0, 60))
            markets.append(MarketPlan(buyer_key=key, kind=kind, notified=notified))

        for market in markets:
            if market.kind in ("cleaning", "green", "services") and rng.random() < 0.3:
                market.reserved = rng.choice(["siae", "siae", "ea", "insertion"])
            elif market.kind == "building" and rng.random() < 0.06:
                market.criterion = True
            self._plan_lots(market)
        markets.sort(key=lambda m: m.notified)
        self.markets = markets

    def _plan_lots(self, market: MarketPlan) -> None:
        rng = self.rng
        start = market.notified + datetime.timedelta(days=rng.randint(15, 75))
        size = rng.lognormvariate(0, 0.5) * (1.8 if market.operation is not None else 1.0)
        if market.kind == "building":
            families = ["structural_works"] + rng.sample(
                ["finishing", "painting", "technical_networks", "steel_frame", "roads", "finishing"],
                rng.randint(1, 4),
            )
            duration = rng.randint(10, 28)
        elif market.kind == "roads":
            families = ["roads"] + (["technical_networks"] if rng.random() < 0.4 else [])
            duration = rng.randint(6, 24)
        else:
            family = {"cleaning": "cleaning", "green": "green_spaces", "services": "services"}[market.kind]
            families = [family] * rng.choice([1, 1, 2, 3])
            duration = rng.choice([24, 36, 48])
        used_titles = set()
        for n, family in enumerate(families, start=1):
            titles = [t for t in data.LOT_TITLES[family] if t not in used_titles] or data.LOT_TITLES[family]
            title = rng.choice(titles)
            used_titles.add(title)
            lot_start = start + datetime.timedelta(
                days=rng.randint(0, 60) if market.kind == "building" else 0
            )
            lot_end = add_months(lot_start, max(3, duration - rng.randint(0, 4)))
            group = "reserved" if market.reserved else FAMILY_GROUP[family]
            weight = size * (2.5 if family == "structural_works" else 1.5 if group != "works" else 1.0)
            market.lots.append(LotPlan(market, f"{n:02d}", title, family, group, lot_start, lot_end, weight))
        if market.kind == "building" and rng.random() < 0.5:
            family, title = rng.choice(data.LOTS_WITHOUT_CLAUSE)
            lot_end = add_months(start, duration)
            market.lots.append(
                LotPlan(
                    market,
                    f"{len(families) + 1:02d}",
                    title,
                    family,
                    "works",
                    start,
                    lot_end,
                    0,
                    has_clause=False,
                )
            )

    def _assign_lots(self) -> None:
        """Each contract goes to a clause lot running at its start date; lots stretch to cover their contracts."""
        rng = self.rng
        buckets = defaultdict(list)
        lots = [lot for m in self.markets for lot in m.lots if lot.has_clause]
        for lot in lots:
            for k in range(month_index(lot.start, self.origin), month_index(lot.end, self.origin) + 1):
                buckets[k].append(lot)
        for person in self.persons:
            for c in person.contracts:
                groups = TRACK_GROUPS.get(c.track, ALL_GROUPS)
                k = month_index(c.start, self.origin)
                candidates = [lot for lot in buckets[k] if lot.group in groups]
                if not candidates:
                    if c.track == "reserved":
                        c.track = "sub_siae"
                    elif c.track in ("sub_esat", "sub_ea"):
                        c.track = "hire_cdd"
                    candidates = [lot for lot in buckets[k] if lot.group in ALL_GROUPS]
                for radius in range(1, 400):
                    if candidates:
                        break
                    near = buckets[k - radius] + buckets[k + radius]
                    candidates = [
                        lot for lot in near if lot.group in (ALL_GROUPS if c.track != "reserved" else groups)
                    ]
                lot = rng.choices(candidates, weights=[lot.weight for lot in candidates])[0]
                c.lot = lot
                lot.contracts.append(c)
        self._fill_lots(lots)
        for lot in lots:
            if lot.contracts:
                lot.start = min(lot.start, *(c.start for c in lot.contracts))
                ends = [c.end or add_months(self.today, 6) for c in lot.contracts]
                lot.end = max(lot.end, *ends)
        for market in self.markets:
            first = min(lot.start for lot in market.lots)
            market.notified = min(market.notified, first - datetime.timedelta(days=rng.randint(10, 40)))
            for lot in market.lots:
                if not lot.has_clause:
                    lot.start = max(lot.start, market.notified)

    def _fill_lots(self, lots: list[LotPlan]) -> None:
        """A living cellule: every lot started before this month carries contracts, and every running lot
        has someone at work in the months its pace is measured on (`followup.PACE_MONTHS`).

        Contracts move from lots that have several, to a lot running when they start; a donor lot keeps
        at least one contract, and a running donor keeps one at work in its own pace window.
        """
        rng = self.rng
        current = month_index(self.today, self.origin)
        last_complete = current - 1
        starting = defaultdict(list)  # month index → contracts starting that month
        for person in self.persons:
            for c in person.contracts:
                starting[month_index(c.start, self.origin)].append(c)

        def first_month(lot):
            return month_index(lot.start, self.origin)

        def is_running(lot):
            return lot.end >= self.today and first_month(lot) < current

        def pace_window(lot):
            n = min(PACE_MONTHS, last_complete - first_month(lot) + 1)
            return last_complete - n + 1, last_complete

        def at_work(c, window):
            """At work in two months of the window at least (or in its only month)."""
            first = month_index(c.start, self.origin)
            last = month_index(c.end, self.origin) if c.end else current
            months = min(last, window[1]) - max(first, window[0]) + 1
            return months >= min(2, window[1] - window[0] + 1)

        def has_hours(lot):
            return any(month_index(c.start, self.origin) < current for c in lot.contracts)

        def at_work_count(lot):
            window = pace_window(lot)
            return sum(1 for c in lot.contracts if at_work(c, window))

        def fits(c, lot):
            if lot.group == "reserved":  # the structure holding the lot hires (CDDI)
                return c.track not in ("training", "apprentice")
            return c.track == "reserved" or lot.group in TRACK_GROUPS.get(c.track, ALL_GROUPS)

        def can_give(c):
            donor = c.lot
            if len(donor.contracts) < 2 or (
                month_index(c.start, self.origin) < current
                and sum(1 for other in donor.contracts if month_index(other.start, self.origin) < current) < 2
            ):
                return False
            return not (is_running(donor) and at_work(c, pace_window(donor)) and at_work_count(donor) < 2)

        def move(c, lot):
            c.lot.contracts.remove(c)
            if lot.group == "reserved":
                c.track = "reserved"
            elif c.track == "reserved":
                c.track = "sub_siae"
            c.lot = lot
            lot.contracts.append(c)

        def give(lot, need_at_work: bool) -> bool:
            last = min(month_index(lot.end, self.origin), last_complete)
            window = pace_window(lot) if need_at_work else None
            # Contracts starting while the lot runs, else up to three months around it (the lot stretches).
            for margin in (0, 3):
                candidates = [
                    c
                    for k in range(first_month(lot) - margin, min(last + margin, last_complete) + 1)
                    for c in starting[k]
                    if c.lot is not lot
                    and fits(c, lot)
                    and (window is None or at_work(c, window))
                    and can_give(c)
                ]
                if candidates:
                    move(rng.choice(candidates), lot)
                    return True
            return False

        started = [lot for lot in lots if first_month(lot) < current]
        missing = 0
        for lot in started:
            if is_running(lot) and at_work_count(lot) == 0 and not give(lot, need_at_work=True):
                missing += 1
        for lot in started:
            if has_hours(lot) or give(lot, need_at_work=False):
                continue
            if lot.contracts or first_month(lot) < last_complete - 2:
                missing += 1
            else:  # a lot just awarded, nobody placed yet: its works start in a few days
                lot.start = self.today + datetime.timedelta(days=rng.randint(3, 30))
                lot.end = max(lot.end, add_months(lot.start, 3))
        self.stats["lots_without_hours"] = missing

    # ---- writing procurement ----

    def _legal_basis(self, market: MarketPlan) -> LegalBasis:
        d = market.notified
        era = 0 if d < datetime.date(2016, 4, 1) else 1 if d < datetime.date(2019, 4, 1) else 2
        if market.reserved == "siae":
            codes = ("cmp2006_15", "ord2015_36_siae", "ccp_l2113_13")
        elif market.reserved == "ea":
            codes = ("cmp2006_15", "ord2015_36_ea", "ccp_l2113_12")
        elif market.reserved == "insertion":
            codes = ("cmp2006_30", "dec2016_28", "ccp_r2123_1_3")
        elif market.criterion:
            codes = ("cmp2006_53", "dec2016_62", "ccp_r2152_7")
        else:
            codes = ("cmp2006_14", "ord2015_38", "ccp_l2112_2")
        return self.ref.legal[codes[era]]

    def _pick_company(self, trade: str, exclude=None) -> Organization:
        pool = [o for o in self.companies[trade] if o is not exclude]
        return self.rng.choices(pool, weights=[self.company_weight[id(o)] for o in pool])[0]

    def _structure(self, categories, lot: LotPlan) -> Organization:
        rng = self.rng
        if categories == ("geiq",):
            pool = self.structures["geiq"]
            return pool[1] if lot.group == "cleaning" else pool[0]
        pool = [o for cat in categories for o in self.structures[cat]]
        return rng.choice(pool)

    def _write_procurement(self) -> None:
        rng, fac = self.rng, self.facilitator
        operation_rows = []
        for buyer, name, kind, insee, start, end in self.operations:
            operation_rows.append(
                Operation(
                    facilitator=fac,
                    buyer=self.buyers[buyer],
                    name=name,
                    kind=kind,
                    commune=self.communes[insee],
                    start_date=start,
                    end_date=end,
                    description="",
                )
            )
        Operation.objects.bulk_create(operation_rows)

        # Companies, employers and hours first: clauses are sized on what the lot will carry.
        for market in self.markets:
            for lot in market.lots:
                trade = GROUP_TRADE.get(
                    lot.group, "cleaning" if market.kind == "cleaning" else "green_spaces"
                )
                if lot.group == "reserved":
                    cats = {
                        "siae": ("aci", "ei", "regie_quartier"),
                        "ea": ("ea",),
                        "insertion": ("aci", "regie_quartier"),
                    }
                    lot.holder = rng.choice([o for c in cats[market.reserved] for o in self.structures[c]])
                else:
                    lot.holder = self._pick_company(trade)
                    if market.kind == "building" and rng.random() < 0.2:
                        lot.co_contractor = self._pick_company(trade, exclude=lot.holder)
                for c in lot.contracts:
                    modality, _, employer_cats, _, _, _ = TRACKS[c.track]
                    c.company = lot.co_contractor if lot.co_contractor and rng.random() < 0.3 else lot.holder
                    if employer_cats is None or employer_cats == "holder":
                        c.employer = c.company
                    else:
                        c.employer = self._structure(employer_cats, lot)
                        if modality == "subcontracting":
                            lot.subcontractors.add(c.employer)
        self._plan_hours()
        self._plan_targets()

        references = Counter()
        market_rows, lot_rows, clause_rows, award_rows = [], [], [], []
        for market in self.markets:
            buyer = self.buyers[market.buyer_key]
            abbr = next(b[5] for b in data.BUYERS if b[0] == market.buyer_key)
            year = market.notified.year
            references[(abbr, year)] += 1
            reference = f"{year}-{abbr}-{references[(abbr, year)]:03d}"
            lot_amounts = []
            for lot in market.lots:
                lot_amounts.append(self._size_lot(market, lot))
            amount = sum(a for a, _ in lot_amounts)
            start = min(lot.start for lot in market.lots)
            end = max(lot.end for lot in market.lots)
            framework = market.kind in ("cleaning", "green", "services")
            if market.reserved:
                social = "Marché réservé" if market.reserved in ("siae", "ea") else "Clause sociale"
            else:
                social = "Critère social" if market.criterion else "Clause sociale"
            big = amount >= (Decimal(5_000_000) if market.kind in ("building", "roads") else Decimal(200_000))
            market.row = Market(
                facilitator=fac,
                buyer=buyer,
                operation=operation_rows[market.operation] if market.operation is not None else None,
                reference=reference,
                title=self._market_title(market),
                family=Market.Family.SERVICES if framework else Market.Family.WORKS,
                procedure=Market.Procedure.OPEN if big else Market.Procedure.ADAPTED,
                is_framework=framework,
                notified_on=market.notified,
                start_date=start,
                end_date=end,
                amount_ht=amount,
                social_consideration=social,
            )
            market_rows.append(market.row)
        Market.objects.bulk_create(market_rows, batch_size=BATCH_SIZE)

        for market in self.markets:
            for lot in market.lots:
                lot.row = Lot(
                    facilitator=fac,
                    market=market.row,
                    number=lot.number,
                    title=lot.title,
                    family=self.ref.lot_family[lot.family],
                    amount_ht=lot.amount,
                    start_date=lot.start,
                    end_date=lot.end,
                )
                lot_rows.append(lot.row)
        Lot.objects.bulk_create(lot_rows, batch_size=BATCH_SIZE)

        for market in self.markets:
            basis = self._legal_basis(market)
            for lot in market.lots:
                awarded = market.notified
                if lot.co_contractor:
                    award_rows.append(
                        self._award(lot, lot.holder, Award.AwardRole.LEAD, awarded, lot.amount * 6 / 10)
                    )
                    award_rows.append(
                        self._award(
                            lot,
                            lot.co_contractor,
                            Award.AwardRole.CO_CONTRACTOR,
                            awarded,
                            lot.amount * 4 / 10,
                        )
                    )
                else:
                    award_rows.append(
                        self._award(lot, lot.holder, Award.AwardRole.HOLDER, awarded, lot.amount)
                    )
                for sub in sorted(lot.subcontractors, key=lambda o: o.pk):
                    award_rows.append(self._award(lot, sub, Award.AwardRole.SUBCONTRACTOR, awarded, None))
                if not lot.has_clause:
                    continue
                clause_rows.append(
                    Clause(
                        facilitator=fac,
                        lot=lot.row,
                        legal_basis=basis,
                        method=Clause.Method.FORMULA,
                        hours_target=Decimal(lot.hours_target),
                        amount_ht=lot.amount,
                        labour_share=lot.labour_share,
                        insertion_rate=lot.insertion_rate,
                        hourly_cost=lot.hourly_cost,
                        eligible_publics=(
                            "Personnes éloignées de l'emploi validées par le facilitateur "
                            "(demandeurs d'emploi de longue durée, bénéficiaires de minima sociaux, "
                            "travailleurs handicapés, jeunes sans qualification, résidents des QPV…)."
                        ),
                    )
                )
        Clause.objects.bulk_create(clause_rows, batch_size=BATCH_SIZE)
        Award.objects.bulk_create(award_rows, batch_size=BATCH_SIZE)
        self.stats.update(
            operations=len(operation_rows),
            markets=len(market_rows),
            lots=len(lot_rows),
            clauses=len(clause_rows),
            awards=len(award_rows),
        )

    def _award(self, lot, company, role, awarded_on, amount) -> Award:
        if amount is not None:
            amount = Decimal(amount).quantize(Decimal("0.01"))
        return Award(
            facilitator=self.facilitator,
            lot=lot.row,
            company=company,
            role=role,
            awarded_on=awarded_on,
            amount_ht=amount,
        )

    def _market_title(self, market: MarketPlan) -> str:
        rng = self.rng
        if market.operation is not None:
            op_name = self.operations[market.operation][1]
            if market.kind in ("cleaning", "green"):
                return f"{op_name} — {market.lots[0].title.lower()}"
            return f"{op_name} — {rng.choice(['tranche', 'phase'])} {rng.randint(1, 4)}"
        place = rng.choice(data.PLACES)
        pattern = rng.choice(
            {
                "building": data.WORKS_TITLES.get(
                    self.buyer_category[market.buyer_key], data.WORKS_TITLES["other"]
                ),
                "roads": data.ROAD_TITLES,
                "cleaning": data.CLEANING_TITLES,
                "green": data.GREEN_TITLES,
                "services": data.SERVICE_TITLES,
            }[market.kind]
        )
        return pattern.format(n=rng.choice([24, 36, 48, 62, 86, 120, 154]), place=place)

    def _size_lot(self, market: MarketPlan, lot: LotPlan) -> tuple[Decimal, int]:
        """Amount and hours target of a lot: the clause is sized by `Clause.formula_hours` on the hours
        wanted (`_plan_targets`), the amount being what gives that many hours."""
        rng = self.rng
        family = self.ref.lot_family[lot.family]
        share = family.default_labour_share
        year = market.notified.year
        if lot.family == "cleaning":
            cost, rate = Decimal(20), Decimal("0.10")
        elif lot.group in ("green", "services", "reserved"):
            cost, rate = Decimal(22), Decimal("0.10")
        else:
            cost = Decimal(25) if year < 2016 else Decimal(27) if year < 2020 else Decimal(30)
            rate = (
                Decimal("0.05")
                if market.operation is not None
                else rng.choice([Decimal("0.05"), Decimal("0.07")])
            )
        if lot.group == "reserved":
            rate = Decimal("0.30")
        if not lot.has_clause:
            amount = Decimal(rng.randint(80, 900) * 1000)
        else:
            # The smallest amount (to the hundred euros, plus one hundred) whose formula gives `wanted` hours.
            amount = (Decimal(lot.wanted) * cost / (share * rate) / 100).quantize(Decimal(1)) * 100 + 100
        lot.amount = amount
        lot.labour_share, lot.insertion_rate, lot.hourly_cost = share, rate, cost
        lot.hours_target = Clause.formula_hours(amount, share, rate, cost) if lot.has_clause else 0
        return amount, lot.hours_target

    def _plan_targets(self) -> None:
        """Hours wanted on each clause lot, from the validated hours it carries (a cellule that works).

        Ended lots mostly reach 102–130 % of their target, some 90–100 %, a few fall short; running lots are
        mostly on track by the rule of `followup.py` (projection at the end ≥ target), some at risk, a few
        late; lots not started yet are sized on their own.
        """
        rng, today = self.rng, self.today
        monthly = defaultdict(lambda: defaultdict(int))
        for c, month, hours, _ in self.hours_records:
            if self.counts(c, month):
                monthly[id(c.lot)][month] += hours
        current = month_start(today)
        for market in self.markets:
            for lot in market.lots:
                if not lot.has_clause:
                    lot.wanted = 0
                    continue
                series = {m: Decimal(h) for m, h in monthly[id(lot)].items()}
                realised = sum(series.values(), Decimal(0))
                draw = rng.random()
                if month_start(lot.start) >= current:
                    wanted = Decimal(rng.randint(300, 2500))
                elif lot.end < today:
                    if draw < 0.82:
                        ratio = rng.uniform(1.02, 1.30)
                    elif draw < 0.94:
                        ratio = rng.uniform(0.90, 0.99)
                    else:
                        ratio = rng.uniform(0.60, 0.88)
                    wanted = realised / Decimal(str(round(ratio, 3)))
                else:
                    projection = follow_up(
                        target=Decimal(10**9), monthly=series, start=lot.start, end=lot.end, today=today
                    ).projection
                    ahead = projection - realised
                    if ahead <= 10:  # nobody at work lately: the lot has already done its hours
                        wanted = realised * Decimal(str(round(rng.uniform(0.85, 0.98), 3)))
                    elif draw < 0.86:  # on track: the target lies between realised and projection
                        wanted = realised + ahead * Decimal(str(round(rng.uniform(0.55, 0.95), 3)))
                        wanted = min(wanted, projection - 3)
                    elif draw < 0.98:  # at risk: projection between 70 % and 100 % of the target
                        wanted = projection / Decimal(str(round(rng.uniform(0.75, 0.95), 3))) + 3
                    else:  # late: projection under 70 % of the target
                        wanted = projection / Decimal(str(round(rng.uniform(0.45, 0.65), 3))) + 3
                lot.wanted = max(150, int(wanted))  # no clause under 150 h

    # ---- hours (in memory, then calibrated) ----

    def counts(self, c: ContractPlan, month: datetime.date) -> bool:
        """Whether the hours of `c` in `month` are in a validated statement."""
        return self.statement_status.get((c.employer.pk, month), StatementStatus.VALIDATED) == (
            StatementStatus.VALIDATED
        )

    def _plan_hours(self) -> None:
        """Monthly hours of every contract, then scaled so that the validated ones add up to the target."""
        rng = self.rng
        records = []  # [contract plan, month, hours, training share]
        for person in self.persons:
            for c in person.contracts:
                share = TRACKS[c.track][5]
                month = month_start(c.start)
                last = min(month_start(c.end) if c.end else self.last_month, self.last_month)
                while month <= last:
                    mend = month_end(month)
                    first_day, last_day = max(c.start, month), min(c.end or mend, mend)
                    covered = ((last_day - first_day).days + 1) / ((mend - month).days + 1)
                    hours = c.weekly * 52 / 12 * covered * rng.uniform(0.72, 1.04)
                    records.append([c, month, max(0, min(MAX_MONTHLY_HOURS, round(hours))), share])
                    month = add_months(month, 1)
        records = self._plan_last_statements(records)
        validated = [r for r in records if self.counts(r[0], r[1])]
        target = self.targets.hours
        total = sum(r[2] for r in validated)
        if total and abs(total - target) > target // 200:
            factor = target / total
            for r in records:
                r[2] = max(0, min(MAX_MONTHLY_HOURS, round(r[2] * factor)))
        diff = target - sum(r[2] for r in validated)
        order = list(range(len(validated)))
        while diff:
            rng.shuffle(order)
            moved = False
            for i in order:
                if diff == 0:
                    break
                r = validated[i]
                step = min(abs(diff), 7)
                if diff > 0 and r[2] < MAX_MONTHLY_HOURS and r[2] > 0:
                    add = min(step, MAX_MONTHLY_HOURS - r[2])
                    r[2] += add
                    diff -= add
                    moved = True
                elif diff < 0 and r[2] > 1:
                    sub = min(step, r[2] - 1)
                    r[2] -= sub
                    diff += sub
                    moved = True
            if not moved:
                raise RuntimeError("Impossible d'atteindre le total d'heures demandé.")
        self.hours_records = records

    def _plan_last_statements(self, records: list) -> list:
        """The last complete month as a cellule sees it a few days later: most statements validated,
        a few submitted (to validate), one or two returned with a comment, and a few employers who have sent
        nothing (their hours are not recorded yet: they appear in the *relances*).

        Employers are chosen among the small ones (one to three contracts that month), never one whose
        hours are the only ones of a lot.
        """
        rng, last = self.rng, self.last_month
        self.statement_status = {}
        self.returned_comments = {}
        contracts_of = defaultdict(set)  # employer → contracts with hours last month
        keys_of_lot = defaultdict(set)  # lot → {(employer pk, month)}
        for c, month, _, _ in records:
            keys_of_lot[id(c.lot)].add((c.employer.pk, month))
            if month == last:
                contracts_of[c.employer].add(id(c))
        small = sorted((e for e, cs in contracts_of.items() if len(cs) <= 3), key=lambda e: (e.name, e.pk))
        rng.shuffle(small)
        # Missing first (companies are those who forget), then returned, then submitted.
        small.sort(key=lambda e: e.kind != K.COMPANY)
        wanted = ["missing"] * 3 + [StatementStatus.RETURNED] * 2 + [StatementStatus.SUBMITTED] * 4
        missing, not_counted = set(), set()
        for employer in small:
            if not wanted:
                break
            key = (employer.pk, last)
            if any(keys <= not_counted | {key} for keys in keys_of_lot.values()):
                continue  # this lot would have no validated hours at all
            status = wanted.pop(0)
            not_counted.add(key)
            if status == "missing":  # no statement at all: nothing recorded for the month yet
                missing.add(key)
                continue
            self.statement_status[key] = status
            if status == StatementStatus.RETURNED:
                self.returned_comments[key] = rng.choice(RETURN_COMMENTS)
        self.missing_statements = missing
        return [r for r in records if (r[0].employer.pk, r[1]) not in missing]

    # ---- people: participants, assessments, contracts, hours, outcomes ----

    def _write_people(self) -> None:
        rng, fac = self.rng, self.facilitator
        quals = ["infra3", "level3", "level4", "level5", "level6plus"]
        prescriber_weights = [w for _, _, w in self.prescribers]
        commune_codes = [c[0] for c in data.COMMUNES if c[0] != data.TOULOUSE]
        commune_weights = [c[3] for c in data.COMMUNES if c[0] != data.TOULOUSE]
        validator = self.users.get("admin")
        validity = 24

        def person_row(entry: datetime.date) -> tuple[Participant, dict]:
            sex = rng.choice([Sex.MALE, Sex.MALE, Sex.MALE, Sex.FEMALE, Sex.FEMALE])
            first = rng.choice(data.MALE_FIRST_NAMES if sex == Sex.MALE else data.FEMALE_FIRST_NAMES)
            last = rng.choice(data.SURNAMES)
            band = rng.choices(["young", "adult", "senior"], weights=[31, 54, 15])[0]
            age = {"young": rng.randint(17, 25), "adult": rng.randint(26, 49), "senior": rng.randint(50, 63)}[
                band
            ]
            birth = entry - datetime.timedelta(days=age * 365 + rng.randint(0, 364))
            qual = rng.choices(quals, weights=[42, 30, 18, 7, 3] if band != "young" else [60, 28, 10, 2, 0])[
                0
            ]
            insee = (
                data.TOULOUSE
                if rng.random() < 0.63
                else rng.choices(commune_codes, weights=commune_weights)[0]
            )
            commune = self.communes[insee]
            # Where the share comes from: the 2015 QPV of Toulouse hold 12 % of its people (55,543 of 458,298)
            # but 11,138 job seekers (QPV indicators file shipped with the perimeters), and clauses reach first
            # those far from employment. The demo assumes 45 % of its Toulouse and Colomiers residents live in
            # one, about 30 % of everyone: an assumption, not a measurement.
            qpv = insee in (data.TOULOUSE, "31149") and rng.random() < 0.45
            situation = rng.choices(
                ["long_term_job_seeker", "job_seeker", "social_benefits", "young", "siae_employee", "other"],
                weights=[34, 18, 24, 12 if band == "young" else 0, 8, 4],
            )[0]
            weights = list(prescriber_weights)
            if band == "young":
                weights = [
                    w * (4 if cat in ("mission_locale", "e2c_epide") else 1)
                    for w, (_, cat, _) in zip(weights, self.prescribers, strict=True)
                ]
            else:
                weights = [
                    0 if cat in ("mission_locale", "e2c_epide") else w
                    for w, (_, cat, _) in zip(weights, self.prescribers, strict=True)
                ]
            prescriber, pcat, _ = rng.choices(self.prescribers, weights=weights)[0]
            address = f"{rng.randint(1, 180)} {rng.choice(data.STREETS)}" if rng.random() < 0.8 else ""
            postal_code = rng.choice(POSTAL_CODES[commune.insee_code])
            if qpv:  # a street in a QPV of the commune, drawn apart: the main draws (the figures) do not move
                street, postal_code = self.qpv_rng.choice(QPV_STREETS_OF[insee])
                address = f"{self.qpv_rng.randint(1, 180)} {street}"
            row = Participant(
                facilitator=fac,
                first_name=first,
                last_name=last,
                birth_date=birth,
                sex=sex,
                address=address,
                postal_code=postal_code,
                commune=commune,
                qualification_level=self.ref.qualification[qual],
                situation_at_entry=situation,
                entry_date=entry,
                prescriber=prescriber,
                referent=f"{rng.choice(data.FEMALE_FIRST_NAMES + data.MALE_FIRST_NAMES)} {rng.choice(data.SURNAMES)}",
                informed_on=entry,
                normalized_name=normalize_name(first, last),
            )
            profile = {
                "band": band,
                "qual": qual,
                "qpv": qpv,
                "situation": situation,
                "prescriber_category": pcat,
            }
            return row, profile

        # One record per person, a duplicate record holding one contract, candidates without contracts.
        rows, profiles, entries = [], [], []
        for person in self.persons:
            entry = person.first_start - datetime.timedelta(days=rng.randint(3, 40))
            row, profile = person_row(entry)
            rows.append(row)
            profiles.append(profile)
            entries.append(entry)
            for c in person.contracts:
                c.record = len(rows) - 1
        duplicate_of = next(
            i
            for i, p in enumerate(self.persons)
            if len(p.contracts) >= 2 and p.first_start.year < self.today.year - 1
        )
        kept = rows[duplicate_of]
        dup_contract = self.persons[duplicate_of].contracts[1]
        dup = Participant(
            facilitator=fac,
            first_name=unidecode(kept.first_name).upper(),
            last_name=unidecode(kept.last_name).upper(),
            birth_date=kept.birth_date,
            sex=kept.sex,
            commune=kept.commune,
            postal_code=kept.postal_code,
            qualification_level=kept.qualification_level,
            situation_at_entry=kept.situation_at_entry,
            entry_date=dup_contract.start - datetime.timedelta(days=10),
            prescriber=kept.prescriber,
            informed_on=dup_contract.start - datetime.timedelta(days=10),
            normalized_name=normalize_name(kept.first_name, kept.last_name),
        )
        rows.append(dup)
        profiles.append(profiles[duplicate_of])
        entries.append(dup.entry_date)
        dup_contract.record = len(rows) - 1
        for _ in range(self.spec.candidates):
            entry = self.today - datetime.timedelta(days=rng.randint(5, 150))
            row, profile = person_row(entry)
            rows.append(row)
            profiles.append(profile)
            entries.append(entry)
        Participant.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        Participant.objects.filter(pk=dup.pk).update(merged_into=kept)
        self.participant_rows = rows

        # Eligibility: at entry, and again when a later contract starts after the validity ended.
        assessments, lines = [], []
        record_starts = defaultdict(list)
        for person in self.persons:
            for c in person.contracts:
                record_starts[c.record].append(c.start)
        for index, (row, profile, entry) in enumerate(zip(rows, profiles, entries, strict=True)):
            dates = [entry]
            for start in sorted(record_starts.get(index, [])):
                if start > add_months(dates[-1], validity):
                    dates.append(start - datetime.timedelta(days=rng.randint(2, 20)))
            for assessed_on in dates:
                assessment = EligibilityAssessment(
                    facilitator=fac,
                    participant=row,
                    assessed_on=assessed_on,
                    valid_until=add_months(assessed_on, validity),
                    validated_by=validator,
                    prescriber=row.prescriber,
                )
                criteria = self._criteria(profile, row)
                if "other_reasoned" in criteria:
                    assessment.reason = rng.choice(
                        [
                            "Avis motivé du prescripteur : longue période sans activité, freins à la mobilité.",
                            "Avis motivé : sortie de parcours de soins, accompagnement renforcé en cours.",
                            "Avis motivé du référent : situation de grande précarité, hébergement d'urgence.",
                        ]
                    )
                assessments.append(assessment)
                for code, evidence in criteria.items():
                    lines.append((assessment, code, evidence, assessed_on))
        EligibilityAssessment.objects.bulk_create(assessments, batch_size=BATCH_SIZE)
        AssessmentCriterion.objects.bulk_create(
            [
                AssessmentCriterion(
                    assessment=a,
                    criterion=self.ref.criterion[code],
                    evidence_kind=evidence,
                    evidence_date=day - datetime.timedelta(days=rng.randint(0, 30)),
                )
                for a, code, evidence, day in lines
            ],
            batch_size=BATCH_SIZE,
        )

        # Contracts and their monthly hours.
        contract_rows = []
        for person in self.persons:
            for c in person.contracts:
                modality, ctype, _, _, _, _ = TRACKS[c.track]
                job_title, rome_code = self._job(c)
                c.row = Contract(
                    facilitator=fac,
                    participant=rows[c.record],
                    lot=c.lot.row,
                    company=c.company,
                    employer=c.employer,
                    modality=self.ref.modality[modality],
                    contract_type=self.ref.contract_type[ctype],
                    job_title=job_title,
                    rome_code=rome_code,
                    start_date=c.start,
                    end_date=c.end,
                    weekly_hours=Decimal(c.weekly),
                )
                contract_rows.append(c.row)
        Contract.objects.bulk_create(contract_rows, batch_size=BATCH_SIZE)
        hours_rows, statements = self._write_hours()
        outcomes = self._outcomes()
        Outcome.objects.bulk_create(outcomes, batch_size=BATCH_SIZE)
        self.stats.update(
            participants=len(rows),
            assessments=len(assessments),
            criteria=len(lines),
            contracts=len(contract_rows),
            hours_records=len(hours_rows),
            statements=len(statements),
            statements_not_validated=sum(1 for st in statements if st.status != StatementStatus.VALIDATED),
            statements_missing=len(self.missing_statements),
            outcomes=len(outcomes),
        )

    def _counting_rules(self) -> RuleBook:
        """The general rule and a few specific ones, some in two versions: all count 1 hour for 1 hour
        (training hours included), so that the counted hours are the worked hours."""
        fac, ref = self.facilitator, self.ref
        ensure_default_rule(fac)
        first = datetime.date(self.spec.first_year, 1, 1)
        ccp = datetime.date(2019, 4, 1)
        rules = [
            ("provision", "ctti", first, 0, "Mise à disposition par une ETTI : 1 heure de mission = 1 heure"),
            (
                "provision",
                "ctti",
                ccp,
                3,
                "Mise à disposition par une ETTI : 1 heure de mission = 1 heure, "
                "comptée jusqu'à 3 mois après la fin du marché",
            ),
            ("provision", "ai_provision", first, 0, "Mise à disposition par une AI : 1 heure = 1 heure"),
            (
                "direct_hire",
                "apprenticeship",
                first,
                0,
                "Apprentissage : les heures en centre de formation comptent",
            ),
            (
                None,
                "professionalisation",
                ccp,
                0,
                "Contrat de professionnalisation : les heures de formation comptent",
            ),
            ("training", None, first, 0, "Formation préalable à l'embauche : 1 heure de formation = 1 heure"),
        ]
        CountingRule.objects.bulk_create(
            [
                CountingRule(
                    facilitator=fac,
                    modality=ref.modality[modality] if modality else None,
                    contract_type=ref.contract_type[ctype] if ctype else None,
                    coefficient=Decimal(1),
                    count_training=True,
                    months_after_market_end=after,
                    valid_from=valid_from,
                    note=note,
                )
                for modality, ctype, valid_from, after, note in rules
            ]
        )
        return RuleBook(fac)

    def _write_hours(self) -> tuple[list, list]:
        """Monthly statements (one per employer and month) with their history, and the hours records,
        each counted with the rule that applies (`RuleBook`)."""
        fac = self.facilitator
        book = self._counting_rules()
        statements = {}
        for c, month, _, _ in self.hours_records:
            key = (c.employer.pk, month)
            if key not in statements:
                statements[key] = MonthlyStatement(
                    facilitator=fac,
                    employer=c.employer,
                    month=month,
                    status=self.statement_status.get(key, StatementStatus.VALIDATED),
                )
        MonthlyStatement.objects.bulk_create(statements.values(), batch_size=BATCH_SIZE)
        transitions = []
        for key, statement in statements.items():
            transitions += self._transitions(statement, self.returned_comments.get(key, ""))
        with _dated(StatementTransition, "at"):
            StatementTransition.objects.bulk_create(transitions, batch_size=BATCH_SIZE)

        hours_rows = []
        for c, month, hours, share in self.hours_records:
            hours = Decimal(hours)
            training = min(Decimal(round(hours * Decimal(str(share)))), hours) if share else Decimal(0)
            counted = book.count(
                contract=c.row, month=month, hours=hours, training_hours=training, market_end=c.lot.end
            )
            if counted.hours != hours:
                raise RuntimeError(f"Règle de comptage inattendue : {counted.rule} ({counted.reason}).")
            hours_rows.append(
                HoursRecord(
                    facilitator=fac,
                    contract=c.row,
                    statement=statements[(c.employer.pk, month)],
                    rule=counted.rule,
                    month=month,
                    hours=hours,
                    training_hours=training,
                    counted_hours=counted.hours,
                )
            )
        HoursRecord.objects.bulk_create(hours_rows, batch_size=BATCH_SIZE)
        return hours_rows, list(statements.values())

    def _transitions(self, statement: MonthlyStatement, comment: str) -> list[StatementTransition]:
        """Who moved the statement, when: employers with an account submit it themselves, the cellule
        keys in the others' (sent by e-mail); the cellule's staff validate, or return with a comment."""
        rng = self.rng
        S = StatementStatus
        staff = [u for u in (self.users.get("membre"), self.users.get("admin")) if u] or [None]
        employer_user = self.employer_users.get(statement.employer.pk)
        checker = staff[0] if rng.random() < 0.75 else staff[-1]
        received = datetime.datetime.combine(
            add_months(statement.month, 1) + datetime.timedelta(days=rng.randint(0, 9)),
            datetime.time(rng.randint(8, 17), rng.randint(0, 59)),
        )
        latest = datetime.datetime.combine(self.today, datetime.time(8, 0))

        def at(moment):
            return timezone.make_aware(min(moment, latest))

        def later(moment, days):
            return moment + datetime.timedelta(days=days, hours=rng.randint(0, 6), minutes=rng.randint(0, 59))

        if employer_user is not None:
            steps = [(S.DRAFT, S.SUBMITTED, employer_user, received, "")]
        else:
            steps = [
                (S.DRAFT, S.SUBMITTED, staff[0], received, "Relevé reçu par courriel, saisi par la cellule.")
            ]
        checked = later(received, rng.randint(1, 6))
        if statement.status == S.RETURNED:
            steps.append((S.SUBMITTED, S.RETURNED, checker, checked, comment))
        elif statement.status == S.VALIDATED:
            if rng.random() < 0.03:  # corrected once before validation
                resent = later(checked, rng.randint(2, 8))
                steps += [
                    (S.SUBMITTED, S.RETURNED, checker, checked, rng.choice(RETURN_COMMENTS)),
                    (S.RETURNED, S.SUBMITTED, employer_user or staff[0], resent, "Relevé corrigé."),
                ]
                checked = later(resent, rng.randint(1, 4))
            steps.append((S.SUBMITTED, S.VALIDATED, checker, checked, ""))
        return [
            StatementTransition(
                statement=statement, from_status=a, to_status=b, by=by, at=at(when), comment=text
            )
            for a, b, by, when, text in steps
        ]

    def _criteria(self, profile: dict, row: Participant) -> dict[str, str]:
        rng = self.rng
        evidence = AssessmentCriterion.EvidenceKind
        criteria = {}
        if profile["band"] == "young" and profile["qual"] in ("infra3", "level3"):
            criteria["young_unqualified"] = evidence.PRESCRIBER_CERTIFICATE
        if profile["band"] == "senior":
            criteria["senior_50"] = evidence.ID_DOCUMENT
        situation = profile["situation"]
        if situation == "long_term_job_seeker":
            criteria["detld" if rng.random() < 0.35 else "deld"] = evidence.FRANCE_TRAVAIL
        elif situation == "social_benefits":
            criteria[rng.choices(["rsa", "ass", "aah"], weights=[75, 18, 7])[0]] = evidence.CAF
        elif situation == "siae_employee":
            criteria["siae_employee"] = evidence.SIAE
        pcat = profile["prescriber_category"]
        if pcat == "cap_emploi" or rng.random() < 0.04:
            criteria["rqth"] = evidence.MDPH
        if pcat == "e2c_epide":
            criteria["epide_e2c"] = evidence.PRESCRIBER_CERTIFICATE
        if profile["qpv"]:
            criteria["qpv_resident"] = evidence.ADDRESS
        if not criteria or (pcat in ("spip", "ccas") and rng.random() < 0.6):
            criteria["other_reasoned"] = evidence.PRESCRIBER_CERTIFICATE
        return criteria

    def _job(self, c: ContractPlan) -> tuple[str, str]:
        """The job title and its ROME code, from the jobs of the lot's family."""
        return self.rng.choice(data.JOBS[c.lot.family])

    def _outcomes(self) -> list[Outcome]:
        rng = self.rng
        codes = [
            ("job_seeking", 25),
            ("cdd_short", 15),
            ("interim_short", 10),
            ("cdd_6m_plus", 10),
            ("cdi", 8),
            ("qualifying_training", 8),
            ("other_siae", 6),
            ("subsidised", 5),
            ("interim_6m_plus", 4),
            ("inactive", 3),
            ("unknown", 4),
            ("civil_service", 1),
            ("business_creation", 1),
        ]
        names, weights = [c for c, _ in codes], [w for _, w in codes]
        outcomes = []
        for person in self.persons:
            for c in person.contracts:
                if c.end is None or c.end > self.today - datetime.timedelta(days=30) or rng.random() > 0.55:
                    continue
                participant = c.row.participant
                outcomes.append(
                    Outcome(
                        facilitator=self.facilitator,
                        participant=participant,
                        contract=c.row,
                        timing=Outcome.Timing.END,
                        category=self.ref.outcome[rng.choices(names, weights=weights)[0]],
                        observed_on=c.end,
                    )
                )
                six_months = add_months(c.end, 6)
                if six_months < self.today and rng.random() < 0.4:
                    outcomes.append(
                        Outcome(
                            facilitator=self.facilitator,
                            participant=participant,
                            contract=c.row,
                            timing=Outcome.Timing.SIX_MONTHS,
                            category=self.ref.outcome[rng.choices(names, weights=weights)[0]],
                            observed_on=six_months,
                        )
                    )
        return outcomes

    # ---- conventions de globalisation ----

    def _globalisations(self) -> None:
        """Two conventions de globalisation: a company holding clause lots of two buyers pools them."""
        by = self.users.get("admin")
        holders = defaultdict(lambda: defaultdict(list))  # company → buyer → [lot plans]
        for market in self.markets:
            for lot in market.lots:
                if (
                    lot.has_clause
                    and lot.group != "reserved"
                    and lot.contracts
                    and lot.holder.kind == K.COMPANY
                ):
                    holders[lot.holder][market.buyer_key].append(lot)
        companies = sorted(
            (c for c, buyers in holders.items() if len(buyers) >= 2),
            key=lambda c: (-self.company_weight[id(c)], c.name),
        )
        made = 0
        for company in companies[:2]:
            by_buyer = holders[company]
            # The two buyers whose latest lots are the most recent, two lots each at most.
            buyers = sorted(by_buyer, key=lambda b: max(lot.end for lot in by_buyer[b]), reverse=True)[:2]
            lots = [lot for b in buyers for lot in sorted(by_buyer[b], key=lambda lot: lot.end)[-2:]]
            names = " et ".join(self.buyers[b].name.removesuffix(self.spec.partner_suffix) for b in buyers)
            create_globalisation(
                facilitator=self.facilitator,
                by=by,
                company=company,
                name=f"Convention de globalisation {company.name} — {names}",
                lots=[lot.row for lot in lots],
                start_date=min(lot.start for lot in lots),
                end_date=max(lot.end for lot in lots),
            )
            made += 1
        self.stats["globalisations"] = made

    # ---- matching: candidacies, job offers, proposals (for the demo logins) ----

    def _matching(self) -> None:
        """A few matching records in every space of the demo logins, all in the last weeks: the prescriber's
        candidacies (to review, validated, declined), open offers on running lots of the demo company, and
        proposals at every step but the hire (a hire would add a contract and move the figures)."""
        rng, today, fac = self.rng, self.today, self.facilitator
        jobs = ensure_rome_jobs()
        staff, company_user = self.users["membre"], self.users["entreprise"]
        prescriber_user = self.users["prescripteur"]
        prescriber = next(o for o, cat, _ in self.prescribers if cat == "mission_locale")
        company = self.top_company
        evidence = AssessmentCriterion.EvidenceKind
        candidacies, criteria, candidacy_log, wished = [], [], [], []

        def moment(days_ago: int) -> datetime.datetime:
            day = today - datetime.timedelta(days=days_ago)
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time(rng.randint(8, 17), 0)))

        def candidacy(values: dict, created: datetime.datetime, lines, jobs_wished, decision=None):
            row = Candidacy(
                facilitator=fac,
                prescriber=prescriber,
                proposed_by=prescriber_user,
                referent=prescriber_user.get_full_name(),
                informed_on=created.date(),
                **values,
            )
            candidacies.append((row, created))
            criteria.extend((row, code, kind, created.date()) for code, kind in lines)
            wished.append((row, jobs_wished))
            candidacy_log.append(
                (row, "", CandidacyStatus.PROPOSED, prescriber_user, prescriber, created, "")
            )
            if decision:
                status, by, when, comment = decision
                row.status, row.decided_at, row.decided_by = status, when, by
                if status == CandidacyStatus.DECLINED:
                    row.decline_reason = comment
                candidacy_log.append((row, CandidacyStatus.PROPOSED, status, by, fac, when, comment))
            return row

        def new_person(age: int) -> dict:
            sex = rng.choice([Sex.MALE, Sex.FEMALE])
            names = data.MALE_FIRST_NAMES if sex == Sex.MALE else data.FEMALE_FIRST_NAMES
            commune = self.communes[data.TOULOUSE]
            return {
                "first_name": rng.choice(names),
                "last_name": rng.choice(data.SURNAMES),
                "birth_date": today - datetime.timedelta(days=age * 365 + rng.randint(30, 330)),
                "sex": sex,
                "phone": "06 " + " ".join(str(rng.randint(10, 99)) for _ in range(4)),
                "address": f"{rng.randint(1, 120)} {rng.choice(data.STREETS)}",
                "postal_code": rng.choice(POSTAL_CODES[commune.insee_code]),
                "commune": commune,
                "situation": "young",
                "qualification_level": self.ref.qualification["infra3"],
                "available_from": today + datetime.timedelta(days=rng.randint(7, 21)),
            }

        # To review: two young people the Mission locale proposed this week.
        candidacy(
            {
                **new_person(19),
                "prescriber_opinion": "Motivé(e) par les métiers du bâtiment, stage de 3e en maçonnerie.",
            },
            moment(2),
            [("young_unqualified", evidence.PRESCRIBER_CERTIFICATE), ("qpv_resident", evidence.ADDRESS)],
            [jobs["F1703"], jobs["F1704"]],
        )
        candidacy(
            {
                **new_person(23),
                "prescriber_opinion": (
                    "Hébergement d'urgence jusqu'au mois dernier, accompagnement par la Mission locale depuis "
                    "un an : ponctualité et motivation constatées, souhaite un premier contrat long."
                ),
            },
            moment(5),
            [("other_reasoned", evidence.PRESCRIBER_CERTIFICATE)],
            [jobs["K2204"]],
        )
        # Declined: the person found an apprenticeship in the meantime.
        candidacy(
            {**new_person(18), "prescriber_opinion": "Sans diplôme, attiré(e) par la peinture en bâtiment."},
            moment(24),
            [("young_unqualified", evidence.PRESCRIBER_CERTIFICATE)],
            [jobs["F1606"]],
            decision=(
                CandidacyStatus.DECLINED,
                self.users["admin"],
                moment(20),
                "La personne a signé un contrat d'apprentissage entre-temps : elle ne cherche plus d'emploi "
                "pour le moment. N'hésitez pas à nous la réorienter à la fin de son contrat.",
            ),
        )
        # Validated: candidates already on file, referred by the Mission locale (linked, no new record).
        on_file = (
            Participant.objects.filter(facilitator=fac, prescriber=prescriber, merged_into__isnull=True)
            .filter(assessments__valid_until__gte=today + datetime.timedelta(days=90))
            .annotate(n=models.Count("contracts"), assessed=models.Max("assessments__assessed_on"))
            .filter(n=0, assessed__gte=today - datetime.timedelta(days=365))
            .order_by("-assessed", "pk")
            .select_related("qualification_level")[:2]
        )
        validated_people = []
        for participant in on_file:
            assessment = participant.assessments.order_by("-assessed_on", "-pk").first()
            lines = [(line.criterion.code, line.evidence_kind) for line in assessment.criterion_lines.all()]
            decided = timezone.make_aware(
                datetime.datetime.combine(assessment.assessed_on, datetime.time(11, 0))
            )
            identity = {
                name: getattr(participant, name)
                for name in ("first_name", "last_name", "birth_name", "birth_date", "sex", "email", "phone")
            }
            row = candidacy(
                {
                    **identity,
                    "address": participant.address,
                    "postal_code": participant.postal_code,
                    "commune": participant.commune,
                    "situation": participant.situation_at_entry,
                    "qualification_level": participant.qualification_level,
                    "available_from": max(assessment.assessed_on, today - datetime.timedelta(days=30)),
                    "participant": participant,
                    "prescriber_opinion": "Disponible rapidement, mobile sur la métropole (abonnement Tisséo).",
                },
                decided - datetime.timedelta(days=rng.randint(3, 9)),
                lines,
                [jobs["F1703"], jobs["F1704"]],
                decision=(CandidacyStatus.VALIDATED, staff, decided, "Entretien réalisé, critères vérifiés."),
            )
            validated_people.append((participant, row.available_from))
        Candidacy.objects.bulk_create([row for row, _ in candidacies])
        for row, created in candidacies:
            Candidacy.objects.filter(pk=row.pk).update(
                created_at=created, updated_at=row.decided_at or created
            )
        for row, jobs_wished in wished:
            row.wished_jobs.set(jobs_wished)
        CandidacyCriterion.objects.bulk_create(
            CandidacyCriterion(
                candidacy=row,
                criterion=self.ref.criterion[code],
                evidence_kind=kind,
                evidence_date=day - datetime.timedelta(days=rng.randint(0, 20)),
            )
            for row, code, kind, day in criteria
        )
        with _dated(CandidacyTransition, "at"):
            CandidacyTransition.objects.bulk_create(
                CandidacyTransition(
                    candidacy=row, from_status=a, to_status=b, by=by, organization=org, at=at, comment=comment
                )
                for row, a, b, by, org, at, comment in candidacy_log
            )

        offers = self._job_offers(jobs, company, staff, company_user)
        # Proposals: the validated candidates first, then other candidates on file eligible at the start.
        pool = validated_people + [
            (p, None)
            for p in Participant.objects.filter(
                facilitator=fac, merged_into__isnull=True, contracts__isnull=True
            )
            .exclude(pk__in=[p.pk for p, _ in validated_people])
            .filter(assessments__valid_until__gte=today + datetime.timedelta(days=120))
            .distinct()
            .order_by("pk")[:6]
        ]
        steps = [  # offer index, status, days since shortlisted, company's refusal reason
            (0, ProposalStatus.ACCEPTED, 9, ""),
            (0, ProposalStatus.SENT, 4, ""),
            (0, ProposalStatus.SHORTLISTED, 1, ""),
            (
                1,
                ProposalStatus.REFUSED,
                12,
                "Le poste demande le permis B pour aller d'un chantier à l'autre : candidat sans permis.",
            ),
            (1, ProposalStatus.SENT, 3, ""),
            (len(offers) - 1, ProposalStatus.SHORTLISTED, 2, ""),
        ]
        proposals, proposal_log, dates = [], [], []
        for (participant, available), (index, status, days, reason) in zip(pool, steps, strict=False):
            if not offers or index >= len(offers):
                continue
            offer = offers[index]
            shortlisted = moment(days)
            sent = (
                shortlisted + datetime.timedelta(hours=rng.randint(2, 30))
                if status != ProposalStatus.SHORTLISTED
                else None
            )
            answered = (
                sent + datetime.timedelta(days=rng.randint(1, 3))
                if status in (ProposalStatus.ACCEPTED, ProposalStatus.REFUSED)
                else None
            )
            row = Proposal(
                facilitator=fac,
                offer=offer,
                participant=participant,
                available_from=available,
                status=status,
                shortlisted_by=staff,
                sent_at=sent,
                answered_at=answered,
                refusal_reason=reason,
            )
            proposals.append(row)
            dates.append((row, shortlisted, answered or sent or shortlisted))
            proposal_log.append((row, "", ProposalStatus.SHORTLISTED, staff, fac, shortlisted, ""))
            if sent:
                proposal_log.append(
                    (row, ProposalStatus.SHORTLISTED, ProposalStatus.SENT, staff, fac, sent, "")
                )
            if answered:
                proposal_log.append(
                    (row, ProposalStatus.SENT, status, company_user, company, answered, reason)
                )
        Proposal.objects.bulk_create(proposals)
        for row, created, changed in dates:
            Proposal.objects.filter(pk=row.pk).update(created_at=created, updated_at=changed)
        with _dated(ProposalTransition, "at"):
            ProposalTransition.objects.bulk_create(
                ProposalTransition(
                    proposal=row, from_status=a, to_status=b, by=by, organization=org, at=at, comment=comment
                )
                for row, a, b, by, org, at, comment in proposal_log
            )
        self.stats.update(candidacies=len(candidacies), job_offers=len(offers), proposals=len(proposals))

    def _job_offers(
        self, jobs: dict, company: Organization, staff: User, company_user: User
    ) -> list[JobOffer]:
        """Two or three open offers on running clause lots of the demo company (one posted by the company)."""
        rng, today = self.rng, self.today
        lots = list(
            Lot.objects.filter(
                facilitator=self.facilitator,
                awards__company=company,
                clause__isnull=False,
                start_date__lte=today,
                end_date__gte=today + datetime.timedelta(days=120),
            )
            .select_related("family", "market__operation__commune", "market__buyer__commune")
            .distinct()
            .order_by("-end_date", "pk")
        )
        # Lot titles then families wanted, ROME code, title, description, positions, weekly hours, posted by.
        plans = [
            (
                {"Gros œuvre – maçonnerie", "Fondations spéciales"},
                {"structural_works"},
                "F1703",
                "Maçon ou maçonne",
                "Gros œuvre de logements collectifs : maçonnerie de blocs, coffrage, pose de réseaux. "
                "Débutant(e) accepté(e), tutorat par le chef d'équipe ; EPI fournis.",
                2,
                35,
                staff,
            ),
            (
                set(),
                {"finishing", "painting", "steel_frame", "technical_networks", "structural_works"},
                "F1704",
                "Manœuvre bâtiment",
                "Approvisionnement des postes, manutention, tri des déchets de chantier. Horaires de journée.",
                1,
                35,
                company_user,
            ),
            (
                {
                    "Plâtrerie – faux plafonds",
                    "Sols souples",
                    "Carrelage – faïence",
                    "Peinture – revêtements muraux",
                },
                {"finishing", "painting"},
                "K2204",
                "Agent ou agente de propreté de chantier",
                "Nettoyage des parties communes et des logements avant réception, évacuation des gravats.",
                1,
                28,
                staff,
            ),
        ]
        offers, used = [], set()
        for titles, families, code, title, description, positions, weekly, by in plans:
            if not lots:
                break
            # A lot not used yet, of the titles wanted, else of the families wanted (the first one on a tie).
            lot = min(
                lots,
                key=lambda lot: (lot.pk in used, lot.title not in titles, lot.family.code not in families),
            )
            used.add(lot.pk)
            start = today + datetime.timedelta(days=rng.randint(10, 30))
            market = lot.market
            commune = (market.operation.commune if market.operation_id else None) or market.buyer.commune
            offer = JobOffer(
                facilitator=self.facilitator,
                lot=lot,
                company=company,
                posted_by=by,
                posted_as=company if by == company_user else self.facilitator,
                title=title,
                rome_job=jobs[code],
                description=description,
                commune=commune or self.communes[data.TOULOUSE],
                place=f"Chantier {market.title}"[:255],
                contract_type=self.ref.contract_type["cdd"],
                start_date=start,
                end_date=min(add_months(start, 6), lot.end_date),
                weekly_hours=Decimal(weekly),
                positions=positions,
                status=OfferStatus.OPEN,
            )
            offers.append(offer)
        JobOffer.objects.bulk_create(offers)
        for offer in offers:
            posted = timezone.make_aware(
                datetime.datetime.combine(
                    today - datetime.timedelta(days=rng.randint(14, 21)), datetime.time(9, 30)
                )
            )
            JobOffer.objects.filter(pk=offer.pk).update(created_at=posted, updated_at=posted)
        return offers


# The official labels (ROME 4.0, version 458 of France Travail) of the few jobs the demo's matching uses:
# created only when the referential is not loaded (`clausier load_reference`, which `make run` calls first,
# loads the whole ROME that ships with Clausier).
ROME_VERSION = "ROME v458"
ROME_GRAND_DOMAINS = {
    "F": "Construction, Bâtiment et Travaux publics",
    "K": "Services à la personne et à la collectivité",
}
ROME_DOMAINS = {
    "F16": "Second oeuvre",
    "F17": "Travaux et gros oeuvre",
    "K22": "Nettoyage et propreté industriels",
}
ROME_JOBS = {
    "F1606": "Peintre en bâtiment",
    "F1703": "Maçon / Maçonne",
    "F1704": "Manœuvre bâtiment",
    "K2204": "Agent / Agente de nettoyage industriel",
}


def ensure_rome_jobs() -> dict[str, RomeJob]:
    """The ROME jobs of `ROME_JOBS` (and their domains), created with their official labels when missing."""
    grands = {
        code: RomeDomain.objects.get_or_create(
            code=code, defaults={"label": label, "parent": None, "version": ROME_VERSION}
        )[0]
        for code, label in ROME_GRAND_DOMAINS.items()
    }
    domains = {
        code: RomeDomain.objects.get_or_create(
            code=code, defaults={"label": label, "parent": grands[code[0]], "version": ROME_VERSION}
        )[0]
        for code, label in ROME_DOMAINS.items()
    }
    return {
        code: RomeJob.objects.get_or_create(
            code=code, defaults={"label": label, "domain": domains[code[:3]], "version": ROME_VERSION}
        )[0]
        for code, label in ROME_JOBS.items()
    }


RETURN_COMMENTS = [
    "Les heures d'un salarié dépassent la durée prévue au contrat : merci de vérifier et de corriger.",
    "Il manque les heures d'une mise à disposition commencée en cours de mois.",
    "Les heures de formation sont comptées deux fois : merci de les séparer des heures travaillées.",
    "Un salarié apparaît sur le relevé après la fin de son contrat : merci de corriger ou de joindre l'avenant.",
]


@contextmanager
def _dated(model, name: str):
    """Write `model.name` as given although it is `auto_now_add` (history rows of the demo have a past)."""
    field = model._meta.get_field(name)
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True


# --- public API --------------------------------------------------------------------------------------------


def build_territory(
    spec: TerritorySpec, *, today: datetime.date | None = None, with_users: bool = False
) -> TerritoryBuilder:
    """Build one territory in one transaction; returns the builder (`.facilitator`, `.stats`)."""
    builder = TerritoryBuilder(spec, today=today)
    with transaction.atomic():
        builder.build(with_users=with_users)
        # Profiles at entry (age band, qualification, criteria, QPV) for reporting, computed once in bulk.
        refresh_facilitator_profiles(builder.facilitator)
    return builder


def build_demo(*, today: datetime.date | None = None, with_users: bool = True) -> TerritoryBuilder:
    """Toulouse Métropole Emploi, 2012 to today (reference data loaded first), then, after its figures are
    set, what the official data brings when loaded (`builder.notes` says what was done, or why not): the QPV
    residence of its people (`clausier.demo.addresses`) and the SIAE of Haute-Garonne in its directory
    (`clausier.demo.directory`). All in one transaction."""
    ensure_reference()
    with transaction.atomic():
        builder = build_territory(DEMO, today=today, with_users=with_users)
        builder.notes.append(resolve_demo_qpv(builder.facilitator, seed=DEMO.seed))
        builder.notes.append(import_demo_siae(builder.facilitator).message)
    return builder


def delete_territory(facilitator: Organization) -> None:
    """Delete a facilitator, every row it owns, the partners only it works with, and the demo users.

    Tenant tables are found by their `facilitator` foreign key, so tables added later are covered too.
    """
    tenant_models = [
        m
        for m in _all_models()
        if any(
            f.name == "facilitator" and isinstance(f, models.ForeignKey) and f.related_model is Organization
            for f in m._meta.get_fields()
        )
    ]
    with transaction.atomic():
        partners = Organization.objects.filter(partnerships__facilitator=facilitator).exclude(
            partnerships__facilitator__in=Organization.objects.filter(kind=K.FACILITATOR).exclude(
                pk=facilitator.pk
            )
        )
        partner_ids = list(partners.values_list("pk", flat=True))
        Participant.objects.filter(facilitator=facilitator).update(merged_into=None)
        pending = list(tenant_models)
        for _ in range(len(tenant_models) + 1):
            still = []
            for model in pending:
                try:
                    with transaction.atomic():
                        model._base_manager.filter(facilitator=facilitator).delete()
                except (ProtectedError, RestrictedError, IntegrityError):
                    still.append(model)
            pending = still
            if not pending:
                break
        if pending:
            names = ", ".join(m._meta.label for m in pending)
            raise CommandError(f"Impossible de supprimer les données du facilitateur (tables : {names}).")
        if facilitator.slug == DEMO.slug:
            User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").delete()
        Partnership.objects.filter(facilitator=facilitator).delete()
        Organization.objects.filter(pk__in=partner_ids).delete()
        facilitator.delete()


def _all_models():
    from django.apps import apps

    return apps.get_models()
