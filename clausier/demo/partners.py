"""The facilitator and its partners: buyers, companies, insertion structures, prescribers, with their SIRET,
slugs and partnerships; and how a lot picks its companies and structures.

The SIAE directory of Haute-Garonne is imported later, once the figures are set (`clausier.demo.directory`).
"""

import datetime
from collections import defaultdict

from django.utils.text import slugify

from clausier.demo import data
from clausier.demo.calibration import BATCH_SIZE
from clausier.demo.plans import LotPlan
from clausier.demo.reference import POSTAL_CODES
from clausier.organizations.models import (
    Facilitator,
    FacilitatorSettings,
    Organization,
    OrganizationKind,
    Partnership,
)

K = OrganizationKind


class PartnersMixin:
    """The organizations of the territory (`TerritoryBuilder`'s first steps).

    Reads `spec`, `rng`, `ref`, `communes`, `sirets`; sets `facilitator`, `buyers`, `buyer_category`, `companies`
    (by trade), `company_weight`, `structures` (by category) and `prescribers`.
    """

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
