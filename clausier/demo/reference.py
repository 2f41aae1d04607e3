"""The reference data the demo builds on: the small tables, the communes of Toulouse Métropole, the ROME jobs.

The official data (ROME, communes, QPV) is `clausier load_reference`'s, which `make run` calls first: the demo
then uses the real referentials, and builds without them too (the communes and the few ROME jobs it needs are
created when missing).
"""

from django.core.management.base import CommandError

from clausier.demo import data
from clausier.geo.models import Commune
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


def ensure_reference() -> None:
    """Load the small reference tables; the official data (ROME, communes, QPV) is `clausier load_reference`'s,
    which `make run` calls first: the demo then uses the real referentials, and builds without them too."""
    from clausier.reference.loader import load_reference

    load_reference()


# Postal codes drawn from the demo's own table, never from the database row: the same draws whether the
# communes come from the official COG (`clausier load_reference`) or from `ensure_communes`.
POSTAL_CODES = {code: postal.split("|") for code, _, postal, _ in data.COMMUNES}


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
