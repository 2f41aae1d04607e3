"""factory_boy factories for every model, with traits.

Conventions:
- tenant-owned rows take their facilitator from their parent (`LotFactory(market=m)` → `m.facilitator`);
  to choose the tenant of a fresh tree, go through the parent: `LotFactory(market__facilitator=fac)`;
- organizations created as a side effect are linked to the facilitator by a `Partnership`
  (`BuyerFactory(partner_of=fac)` does it explicitly);
- reference rows are looked up by code (`ref(ContractType, "cdi")`); when `load_reference` has not run
  (transactional tests flush the tables), they are created with plausible defaults.
"""

import datetime
import functools
from dataclasses import dataclass, field
from decimal import Decimal

import factory
from django.contrib.auth.hashers import make_password
from factory.django import DjangoModelFactory

from clausier.employment.models import (
    Contract,
    CountingRule,
    HoursRecord,
    MonthlyStatement,
    StatementStatus,
)
from clausier.geo.models import Commune
from clausier.organizations.models import (
    FacilitatorSettings,
    Membership,
    Organization,
    OrganizationKind,
    Partnership,
    Role,
    User,
)
from clausier.participants.models import AssessmentCriterion, EligibilityAssessment, Outcome, Participant, Sex
from clausier.procurement.models import Award, Clause, HourlyCost, LabourShare, Lot, Market, Operation
from clausier.reference.models import (
    ContractType,
    EligibilityCriterion,
    LegalBasis,
    LotFamily,
    Modality,
    OrganizationCategory,
    OutcomeCategory,
    QualificationLevel,
)

K = OrganizationKind
PASSWORD = "mot-de-passe-de-test-1234"


def add_months(day: datetime.date, months: int) -> datetime.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --- Reference data -----------------------------------------------------------------------------------------

_CATEGORY_KIND = {
    **dict.fromkeys(
        [
            "commune",
            "epci",
            "departement",
            "region",
            "social_landlord",
            "public_body",
            "state",
            "hospital",
            "sem_spl",
            "private_buyer",
        ],
        K.BUYER,
    ),
    **dict.fromkeys(
        ["ei", "etti", "ai", "aci", "eiti", "geiq", "ea", "eatt", "esat", "regie_quartier"],
        K.INSERTION_STRUCTURE,
    ),
    **dict.fromkeys(
        [
            "france_travail",
            "mission_locale",
            "cap_emploi",
            "plie",
            "departement_insertion",
            "ccas",
            "spip",
            "maison_emploi",
            "mdph",
            "e2c_epide",
        ],
        K.PRESCRIBER,
    ),
    **dict.fromkeys(["tpe_pme", "eti_ge"], K.COMPANY),
}
_LEGAL_BASES = {
    "ccp_l2112_2": ("condition d'exécution", "L2112-2", "CCP 2019", None),
    "ccp_l2113_12": ("marché réservé EA/ESAT", "L2113-12", "CCP 2019", None),
    "ccp_l2113_13": ("marché réservé SIAE", "L2113-13", "CCP 2019", None),
    "ccp_r2152_7": ("critère d'attribution", "R2152-7", "CCP 2019", None),
    "ccp_r2123_1_3": ("marché d'insertion", "R2123-1 3°", "CCP 2019", None),
    "ord2015_38": ("condition d'exécution", "art. 38", "ordonnance 2015", "ccp_l2112_2"),
    "ord2015_36_ea": ("marché réservé EA/ESAT", "art. 36", "ordonnance 2015", "ccp_l2113_12"),
    "ord2015_36_siae": ("marché réservé SIAE", "art. 36", "ordonnance 2015", "ccp_l2113_13"),
    "dec2016_62": ("critère d'attribution", "art. 62", "décret 2016", "ccp_r2152_7"),
    "dec2016_28": ("marché d'insertion", "art. 28", "décret 2016", "ccp_r2123_1_3"),
    "cmp2006_14": ("condition d'exécution", "art. 14", "CMP 2006", "ord2015_38"),
    "cmp2006_15": ("marché réservé", "art. 15", "CMP 2006", "ord2015_36_siae"),
    "cmp2006_53": ("critère d'attribution", "art. 53", "CMP 2006", "dec2016_62"),
    "cmp2006_30": ("marché d'insertion", "art. 30", "CMP 2006", "dec2016_28"),
}
_QUALIFICATION_BANDS = {
    "infra3": "infra 3",
    "level3": "3",
    "level4": "4",
    "level5": "5+",
    "level6plus": "5+",
}
_OUTCOME_GROUPS = {
    **dict.fromkeys(
        ["cdi", "cdd_6m_plus", "interim_6m_plus", "civil_service", "business_creation"], "durable"
    ),
    **dict.fromkeys(["cdd_short", "interim_short", "subsidised"], "transition"),
    **dict.fromkeys(["qualifying_training", "other_siae"], "positive"),
    **dict.fromkeys(["job_seeking", "inactive", "unknown"], "other"),
}
_LABOUR_SHARES = {
    "structural_works": "0.50",
    "painting": "0.70",
    "steel_frame": "0.20",
    "cleaning": "0.80",
    "green_spaces": "0.60",
    "roads": "0.40",
    "finishing": "0.60",
    "technical_networks": "0.50",
    "services": "0.50",
    "intellectual": "0.30",
}


def _defaults(model, code: str) -> dict:
    if model is OrganizationCategory:
        return {"kind": _CATEGORY_KIND[code]}
    if model is LegalBasis:
        lever, article, version, replaced_by = _LEGAL_BASES[code]
        return {
            "lever": lever,
            "article": article,
            "code_version": version,
            "replaced_by": ref(LegalBasis, replaced_by) if replaced_by else None,
        }
    if model is ContractType:
        return {"is_durable": code == "cdi"}
    if model is QualificationLevel:
        return {"band": _QUALIFICATION_BANDS[code]}
    if model is OutcomeCategory:
        return {"group": _OUTCOME_GROUPS[code]}
    if model is EligibilityCriterion:
        return {
            "category": "test",
            "requires_reason": code == "other_reasoned",
            "is_sensitive": code == "rqth",
        }
    if model is LotFamily:
        return {"default_labour_share": Decimal(_LABOUR_SHARES[code])}
    return {}


def ref(model, code: str):
    """The reference row `code` of `model`, created with plausible defaults if reference data is missing."""
    obj = model.objects.filter(code=code).first()
    if obj is None:
        obj, _ = model.objects.get_or_create(
            code=code, defaults={"label": code, "version": "test", **_defaults(model, code)}
        )
    return obj


def Ref(model, code: str):  # noqa: N802 — a declaration, named like the others
    return factory.LazyFunction(lambda: ref(model, code))


# --- Organizations and users --------------------------------------------------------------------------------


def _link(obj, create, extracted, **kwargs):
    """`partner_of=facilitator` (or a list): create the Partnership(s)."""
    if not create or not extracted:
        return
    for facilitator in extracted if isinstance(extracted, list | tuple) else [extracted]:
        Partnership.objects.get_or_create(facilitator=facilitator, partner=obj, defaults=kwargs)


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    kind = K.COMPANY
    name = factory.Sequence(lambda n: f"Organisation {n}")
    siret = factory.Sequence(lambda n: f"{n:014d}")
    postal_code = "31000"
    email = factory.Sequence(lambda n: f"contact{n}@org.example")
    partner_of = factory.PostGeneration(_link)


class FacilitatorFactory(OrganizationFactory):
    kind = K.FACILITATOR
    name = factory.Sequence(lambda n: f"Cellule clause {n}")

    class Params:
        # FacilitatorFactory(fte_1607=True): a facilitator that counts 1,607 hours per ETP.
        fte_1607 = factory.Trait(
            settings=factory.RelatedFactory(
                "tests.factories.FacilitatorSettingsFactory", "facilitator", fte_hours=1607
            )
        )


class FacilitatorSettingsFactory(DjangoModelFactory):
    class Meta:
        model = FacilitatorSettings
        django_get_or_create = ["facilitator"]

    facilitator = factory.SubFactory(FacilitatorFactory)
    fte_hours = 1600
    territory_label = "Toulouse Métropole"


class BuyerFactory(OrganizationFactory):
    kind = K.BUYER
    name = factory.Sequence(lambda n: f"Commune {n}")
    category = Ref(OrganizationCategory, "commune")

    class Params:
        social_landlord = factory.Trait(
            name=factory.Sequence(lambda n: f"Habitat social {n}"),
            category=Ref(OrganizationCategory, "social_landlord"),
        )


class CompanyFactory(OrganizationFactory):
    kind = K.COMPANY
    name = factory.Sequence(lambda n: f"Entreprise BTP {n}")
    category = Ref(OrganizationCategory, "tpe_pme")

    class Params:
        large = factory.Trait(category=Ref(OrganizationCategory, "eti_ge"))


class InsertionStructureFactory(OrganizationFactory):
    kind = K.INSERTION_STRUCTURE
    name = factory.Sequence(lambda n: f"Structure d'insertion {n}")
    category = Ref(OrganizationCategory, "etti")

    class Params:
        aci = factory.Trait(category=Ref(OrganizationCategory, "aci"))
        geiq = factory.Trait(category=Ref(OrganizationCategory, "geiq"))


class PrescriberFactory(OrganizationFactory):
    kind = K.PRESCRIBER
    name = factory.Sequence(lambda n: f"France Travail agence {n}")
    category = Ref(OrganizationCategory, "france_travail")
    siret = ""

    class Params:
        mission_locale = factory.Trait(
            name=factory.Sequence(lambda n: f"Mission locale {n}"),
            category=Ref(OrganizationCategory, "mission_locale"),
        )


class PartnershipFactory(DjangoModelFactory):
    class Meta:
        model = Partnership
        django_get_or_create = ["facilitator", "partner"]

    facilitator = factory.SubFactory(FacilitatorFactory)
    partner = factory.SubFactory(BuyerFactory)


@functools.cache
def _hashed_password() -> str:
    """PBKDF2 is slow on purpose: hash the test password once per session."""
    return make_password(PASSWORD)


def _member_of(obj, create, extracted, role=Role.MEMBER, **kwargs):
    """`UserFactory(member_of=org, member_of__role=Role.ADMIN)`: one membership."""
    if create and extracted:
        Membership.objects.create(user=obj, organization=extracted, role=role, **kwargs)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"utilisateur{n}@clausier.example")
    username = factory.SelfAttribute("email")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    password = factory.LazyFunction(lambda: _hashed_password())
    member_of = factory.PostGeneration(_member_of)

    class Params:
        staff = factory.Trait(is_staff=True)
        superuser = factory.Trait(is_staff=True, is_superuser=True)
        admin = factory.Trait(member_of__role=Role.ADMIN)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(FacilitatorFactory)
    role = Role.MEMBER

    class Params:
        admin = factory.Trait(role=Role.ADMIN)


def partner(factory_class, facilitator, **kwargs):
    """An organization of the given factory linked to `facilitator`."""
    return factory_class(partner_of=facilitator, **kwargs)


# --- Procurement --------------------------------------------------------------------------------------------


class OperationFactory(DjangoModelFactory):
    class Meta:
        model = Operation

    facilitator = factory.SubFactory(FacilitatorFactory)
    buyer = factory.LazyAttribute(lambda o: partner(BuyerFactory, o.facilitator))
    name = factory.Sequence(lambda n: f"Opération {n}")
    kind = "building"
    start_date = datetime.date(2023, 1, 1)
    end_date = datetime.date(2025, 12, 31)

    class Params:
        anru = factory.Trait(kind="anru", name=factory.Sequence(lambda n: f"NPNRU quartier {n}"))


class MarketFactory(DjangoModelFactory):
    class Meta:
        model = Market

    facilitator = factory.SubFactory(FacilitatorFactory)
    buyer = factory.LazyAttribute(
        lambda o: o.operation.buyer if o.operation else partner(BuyerFactory, o.facilitator)
    )
    operation = None
    reference = factory.Sequence(lambda n: f"2024-M{n:04d}")
    title = factory.Sequence(lambda n: f"Construction du groupe scolaire {n}")
    family = Market.Family.WORKS
    procedure = Market.Procedure.OPEN
    notified_on = datetime.date(2023, 12, 15)
    start_date = datetime.date(2024, 1, 1)
    end_date = datetime.date(2025, 12, 31)
    amount_ht = Decimal("1000000.00")
    social_consideration = "Clause sociale"

    class Params:
        in_operation = factory.Trait(
            operation=factory.SubFactory(OperationFactory, facilitator=factory.SelfAttribute("..facilitator"))
        )
        services = factory.Trait(family=Market.Family.SERVICES, procedure=Market.Procedure.ADAPTED)


class LotFactory(DjangoModelFactory):
    class Meta:
        model = Lot

    market = factory.SubFactory(MarketFactory)
    facilitator = factory.SelfAttribute("market.facilitator")
    number = factory.Sequence(lambda n: str(n + 1))
    title = factory.Sequence(lambda n: f"Gros œuvre {n}")
    family = Ref(LotFamily, "structural_works")
    amount_ht = Decimal("1000000.00")
    start_date = factory.SelfAttribute("market.start_date")
    end_date = factory.SelfAttribute("market.end_date")

    class Params:
        painting = factory.Trait(
            family=Ref(LotFamily, "painting"), title=factory.Sequence(lambda n: f"Peinture {n}")
        )
        cleaning = factory.Trait(
            family=Ref(LotFamily, "cleaning"), title=factory.Sequence(lambda n: f"Nettoyage {n}")
        )


class ClauseFactory(DjangoModelFactory):
    class Meta:
        model = Clause

    lot = factory.SubFactory(LotFactory)
    facilitator = factory.SelfAttribute("lot.facilitator")
    legal_basis = Ref(LegalBasis, "ccp_l2112_2")
    method = Clause.Method.FORMULA
    amount_ht = Decimal("1000000.00")
    labour_share = Decimal("0.5")
    insertion_rate = Decimal("0.05")
    hourly_cost = Decimal("30")
    hours_target = factory.LazyAttribute(
        lambda o: Decimal(Clause.formula_hours(o.amount_ht, o.labour_share, o.insertion_rate, o.hourly_cost))
    )
    eligible_publics = "Publics éligibles au sens de la convention de facilitation."

    class Params:
        fixed = factory.Trait(
            method=Clause.Method.FIXED,
            amount_ht=None,
            labour_share=None,
            insertion_rate=None,
            hourly_cost=None,
            hours_target=Decimal("500"),
        )
        reserved_siae = factory.Trait(legal_basis=Ref(LegalBasis, "ccp_l2113_13"))
        old_text = factory.Trait(legal_basis=Ref(LegalBasis, "ord2015_38"))


class AwardFactory(DjangoModelFactory):
    class Meta:
        model = Award

    lot = factory.SubFactory(LotFactory)
    facilitator = factory.SelfAttribute("lot.facilitator")
    company = factory.LazyAttribute(lambda o: partner(CompanyFactory, o.facilitator))
    role = Award.AwardRole.HOLDER
    awarded_on = factory.LazyAttribute(lambda o: o.lot.market.notified_on)

    class Params:
        subcontractor = factory.Trait(role=Award.AwardRole.SUBCONTRACTOR)
        co_contractor = factory.Trait(role=Award.AwardRole.CO_CONTRACTOR)


# --- Participants -------------------------------------------------------------------------------------------


class ParticipantFactory(DjangoModelFactory):
    class Meta:
        model = Participant

    facilitator = factory.SubFactory(FacilitatorFactory)
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    birth_date = datetime.date(1990, 5, 17)
    sex = Sex.FEMALE
    postal_code = "31100"
    qualification_level = Ref(QualificationLevel, "infra3")
    situation_at_entry = "long_term_job_seeker"
    entry_date = datetime.date(2024, 1, 1)
    prescriber = None

    class Params:
        man = factory.Trait(sex=Sex.MALE)
        young = factory.Trait(birth_date=datetime.date(2004, 3, 1), situation_at_entry="young")
        senior = factory.Trait(birth_date=datetime.date(1970, 3, 1))
        referred = factory.Trait(
            prescriber=factory.LazyAttribute(lambda o: partner(PrescriberFactory, o.facilitator))
        )


def _criteria(obj, create, extracted, codes=None, **kwargs):
    """`EligibilityAssessmentFactory(criteria=["deld", "qpv_resident"])` (default: ["deld"])."""
    if not create:
        return
    codes = extracted if extracted is not None else codes if codes is not None else ["deld"]
    for code in codes:
        AssessmentCriterion.objects.create(
            facilitator_id=obj.facilitator_id,
            assessment=obj,
            criterion=ref(EligibilityCriterion, code),
            evidence_kind=AssessmentCriterion.EvidenceKind.FRANCE_TRAVAIL,
            evidence_date=obj.assessed_on,
        )


class EligibilityAssessmentFactory(DjangoModelFactory):
    class Meta:
        model = EligibilityAssessment
        skip_postgeneration_save = True

    participant = factory.SubFactory(ParticipantFactory)
    facilitator = factory.SelfAttribute("participant.facilitator")
    assessed_on = datetime.date(2024, 1, 1)
    valid_until = factory.LazyAttribute(lambda o: add_months(o.assessed_on, 24) - datetime.timedelta(days=1))
    validated_by = None
    prescriber = factory.SelfAttribute("participant.prescriber")
    criteria = factory.PostGeneration(_criteria)

    class Params:
        reasoned = factory.Trait(
            reason="Avis motivé du conseiller Mission locale.", criteria__codes=["other_reasoned"]
        )


# --- Employment ---------------------------------------------------------------------------------------------


def _ensure_award(obj, create, extracted, **kwargs):
    """A contract fulfils an awarded company's obligation: ensure the award exists (award=False: don't)."""
    if create and extracted is not False:
        Award.objects.get_or_create(
            lot=obj.lot,
            company=obj.company,
            defaults={"facilitator": obj.facilitator, "role": Award.AwardRole.HOLDER},
        )


class ContractFactory(DjangoModelFactory):
    class Meta:
        model = Contract
        skip_postgeneration_save = True

    lot = factory.SubFactory(LotFactory)
    facilitator = factory.SelfAttribute("lot.facilitator")
    participant = factory.SubFactory(ParticipantFactory, facilitator=factory.SelfAttribute("..facilitator"))
    company = factory.LazyAttribute(lambda o: partner(CompanyFactory, o.facilitator))
    employer = factory.SelfAttribute("company")
    modality = Ref(Modality, "direct_hire")
    contract_type = Ref(ContractType, "cdd")
    job_title = "Maçon"
    rome_code = "F1703"
    start_date = datetime.date(2024, 2, 1)
    end_date = datetime.date(2024, 7, 31)
    weekly_hours = Decimal("35")
    award = factory.PostGeneration(_ensure_award)

    class Params:
        # Mise à disposition by an ETTI: the structure is the employer.
        provision = factory.Trait(
            employer=factory.LazyAttribute(lambda o: partner(InsertionStructureFactory, o.facilitator)),
            modality=Ref(Modality, "provision"),
            contract_type=Ref(ContractType, "ctti"),
        )
        subcontracting = factory.Trait(
            employer=factory.LazyAttribute(
                lambda o: partner(InsertionStructureFactory, o.facilitator, aci=True)
            ),
            modality=Ref(Modality, "subcontracting"),
            contract_type=Ref(ContractType, "cddi"),
        )
        durable = factory.Trait(contract_type=Ref(ContractType, "cdi"), end_date=None)


class MonthlyStatementFactory(DjangoModelFactory):
    """An employer's monthly statement; validated by default (only validated hours count)."""

    class Meta:
        model = MonthlyStatement
        django_get_or_create = ["facilitator", "employer", "month"]

    facilitator = factory.SubFactory(FacilitatorFactory)
    employer = factory.LazyAttribute(lambda o: partner(CompanyFactory, o.facilitator))
    month = datetime.date(2024, 2, 1)
    status = StatementStatus.VALIDATED

    class Params:
        draft = factory.Trait(status=StatementStatus.DRAFT)
        submitted = factory.Trait(status=StatementStatus.SUBMITTED)


def _statement(o):
    return MonthlyStatementFactory(
        facilitator=o.facilitator, employer=o.contract.employer, month=o.month, status=o.statement_status
    )


class HoursRecordFactory(DjangoModelFactory):
    """Hours of one contract and month, counted 1 for 1, in a validated statement of the employer.

    `HoursRecordFactory(statement_status=StatementStatus.DRAFT)` or `(statement=None)` for hours that
    do not count yet.
    """

    class Meta:
        model = HoursRecord

    contract = factory.SubFactory(ContractFactory)
    facilitator = factory.SelfAttribute("contract.facilitator")
    month = factory.LazyAttribute(lambda o: o.contract.start_date.replace(day=1))
    hours = Decimal("120")
    training_hours = Decimal("0")
    counted_hours = factory.SelfAttribute("hours")
    statement = factory.LazyAttribute(_statement)

    class Params:
        statement_status = StatementStatus.VALIDATED


class OutcomeFactory(DjangoModelFactory):
    class Meta:
        model = Outcome

    contract = factory.SubFactory(ContractFactory)
    participant = factory.SelfAttribute("contract.participant")
    facilitator = factory.SelfAttribute("participant.facilitator")
    timing = Outcome.Timing.END
    category = Ref(OutcomeCategory, "cdi")
    observed_on = factory.LazyAttribute(lambda o: o.contract.end_date or datetime.date(2024, 12, 31))

    class Params:
        six_months = factory.Trait(
            timing=Outcome.Timing.SIX_MONTHS,
            observed_on=factory.LazyAttribute(
                lambda o: add_months(o.contract.end_date or datetime.date(2024, 12, 31), 6)
            ),
        )
        training = factory.Trait(category=Ref(OutcomeCategory, "qualifying_training"))
        job_seeking = factory.Trait(category=Ref(OutcomeCategory, "job_seeking"))


class CountingRuleFactory(DjangoModelFactory):
    """A counting rule of a facilitator (empty modality/contract type = any)."""

    class Meta:
        model = CountingRule

    facilitator = factory.SubFactory(FacilitatorFactory)
    modality = None
    contract_type = None
    coefficient = Decimal("1")
    count_training = True
    valid_from = datetime.date(2020, 1, 1)

    class Params:
        subcontracting = factory.Trait(modality=Ref(Modality, "subcontracting"))
        no_training = factory.Trait(count_training=False)


class LabourShareFactory(DjangoModelFactory):
    class Meta:
        model = LabourShare
        django_get_or_create = ["facilitator", "family"]

    facilitator = factory.SubFactory(FacilitatorFactory)
    family = Ref(LotFamily, "painting")
    share = Decimal("0.65")


class HourlyCostFactory(DjangoModelFactory):
    class Meta:
        model = HourlyCost

    facilitator = factory.SubFactory(FacilitatorFactory)
    family = None
    valid_from = datetime.date(2020, 1, 1)
    amount = Decimal("30")

    class Params:
        cleaning = factory.Trait(family=Ref(LotFamily, "cleaning"), amount=Decimal("20"))


class CommuneFactory(DjangoModelFactory):
    class Meta:
        model = Commune
        django_get_or_create = ["insee_code"]

    insee_code = "31555"
    name = "Toulouse"
    postal_codes = "31000 31100 31200 31300 31400 31500"
    department_code = "31"
    epci_code = "243100518"
    epci_name = "Toulouse Métropole"
    population = 504078


def monthly_hours(contract, hours_by_month: dict) -> list:
    """Hours records for `contract`: {date(2024, 2, 1): 120, …}."""
    return [
        HoursRecordFactory(contract=contract, month=month, hours=Decimal(str(hours)))
        for month, hours in hours_by_month.items()
    ]


def acting(user, organization=None):
    """Set the current organization as `CurrentOrganizationMiddleware` does (first membership by default)."""
    from clausier.organizations.access import memberships_of

    memberships = list(memberships_of(user))
    membership = (
        next((m for m in memberships if m.organization == organization), None) if organization else None
    )
    membership = membership or (memberships[0] if memberships else None)
    user.current_membership = membership
    user.current_organization = membership.organization if membership else None
    return user


# --- Worlds (fixtures in tests/conftest.py) -----------------------------------------------------------

ROLES = ("facilitator_admin", "facilitator_member", "buyer", "company", "structure", "prescriber")
OTHER_ROLES = ("other_buyer", "other_company", "other_structure", "other_prescriber")


@dataclass
class World:
    label: str
    facilitator: object = None
    users: dict = field(default_factory=dict)
    orgs: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)

    def __getattr__(self, name):
        # world.market, world.buyer… read from the dicts.
        for bag in ("objects", "orgs"):
            values = self.__dict__.get(bag, {})
            if name in values:
                return values[name]
        raise AttributeError(name)


def build_world(label: str) -> World:
    w = World(label)
    fac = FacilitatorFactory(name=f"Cellule clause {label}", slug=f"cellule-{label.lower()}")
    w.facilitator = fac
    w.orgs["facilitator"] = fac
    w.users["facilitator_admin"] = UserFactory(
        email=f"admin-{label.lower()}@clausier.example", member_of=fac, member_of__role=Role.ADMIN
    )
    w.users["facilitator_member"] = UserFactory(
        email=f"membre-{label.lower()}@clausier.example", member_of=fac
    )

    for role, factory_class in (
        ("buyer", BuyerFactory),
        ("company", CompanyFactory),
        ("structure", InsertionStructureFactory),
        ("prescriber", PrescriberFactory),
    ):
        for prefix in ("", "other_"):
            org = factory_class(partner_of=fac, name=f"{prefix}{role} {label}")
            w.orgs[prefix + role] = org
            w.users[prefix + role] = UserFactory(
                email=f"{prefix}{role}-{label.lower()}@clausier.example".replace("_", "-"), member_of=org
            )

    o = w.objects
    # The world's people share a birth date: distinct last names keep them apart wherever a person is
    # found by name and birth date (hours imports), whatever names the seed draws.
    taken: set[str] = set()

    def person(**kwargs):
        participant = ParticipantFactory(facilitator=fac, **kwargs)
        if participant.last_name in taken:
            participant.last_name += f"-{len(taken)}"
            participant.save(update_fields=["last_name"])
        taken.add(participant.last_name)
        return participant

    for prefix in ("", "other_"):
        buyer, company = w.orgs[prefix + "buyer"], w.orgs[prefix + "company"]
        structure, prescriber = w.orgs[prefix + "structure"], w.orgs[prefix + "prescriber"]
        o[prefix + "operation"] = OperationFactory(
            facilitator=fac, buyer=buyer, name=f"{prefix}opération {label}"
        )
        o[prefix + "market"] = MarketFactory(facilitator=fac, buyer=buyer, operation=o[prefix + "operation"])
        o[prefix + "lot"] = LotFactory(market=o[prefix + "market"])
        o[prefix + "clause"] = ClauseFactory(lot=o[prefix + "lot"])
        o[prefix + "award"] = AwardFactory(lot=o[prefix + "lot"], company=company)
        o[prefix + "participant"] = person(prescriber=prescriber)
        o[prefix + "contract"] = ContractFactory(
            lot=o[prefix + "lot"],
            participant=o[prefix + "participant"],
            company=company,
            employer=structure,
            modality=ref(Modality, "provision"),
            contract_type=ref(ContractType, "ctti"),
        )
        o[prefix + "hours"] = monthly_hours(
            o[prefix + "contract"],
            {datetime.date(2024, 2, 1): 120, datetime.date(2024, 3, 1): 140, datetime.date(2024, 4, 1): 100},
        )[0]
        o[prefix + "assessment"] = EligibilityAssessmentFactory(participant=o[prefix + "participant"])
        o[prefix + "outcome"] = OutcomeFactory(contract=o[prefix + "contract"])
    # A second, direct-hire contract of the company (its own employee), for "company or employer".
    o["direct_contract"] = ContractFactory(
        lot=o["lot"], company=w.orgs["company"], participant=person(prescriber=w.orgs["prescriber"])
    )
    return w


# --- Matching (issue 8): candidacies, job offers, proposals --------------------------------------------------


def rome_job(code="F1703", label="Maçonnerie", domain_label="Construction, bâtiment et travaux publics"):
    """A ROME job (and its domains) without importing the whole referential (`import_rome` does it for real)."""
    from clausier.reference.models import RomeDomain, RomeJob

    grand, _ = RomeDomain.objects.get_or_create(
        code=code[0], defaults={"label": domain_label, "version": "test"}
    )
    domain, _ = RomeDomain.objects.get_or_create(
        code=code[:3], defaults={"label": f"Domaine {code[:3]}", "parent": grand, "version": "test"}
    )
    return RomeJob.objects.get_or_create(
        code=code, defaults={"label": label, "domain": domain, "version": "test"}
    )[0]


class CandidacyFactory(DjangoModelFactory):
    """A candidacy proposed by a prescriber partner of the facilitator (`prescriber=` to choose it)."""

    class Meta:
        model = "matching.Candidacy"

    facilitator = factory.SubFactory(FacilitatorFactory)
    prescriber = factory.LazyAttribute(lambda o: partner(PrescriberFactory, o.facilitator))
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    birth_date = datetime.date(1988, 9, 12)
    sex = Sex.MALE
    email = factory.Sequence(lambda n: f"candidat{n}@exemple.fr")
    phone = "06 12 34 56 78"
    situation = "long_term_job_seeker"
    qualification_level = Ref(QualificationLevel, "infra3")
    available_from = datetime.date(2025, 1, 6)
    informed_on = datetime.date(2024, 12, 1)

    class Params:
        validated = factory.Trait(
            status="validated",
            participant=factory.SubFactory(
                ParticipantFactory,
                facilitator=factory.SelfAttribute("..facilitator"),
                first_name=factory.SelfAttribute("..first_name"),
                last_name=factory.SelfAttribute("..last_name"),
                birth_date=factory.SelfAttribute("..birth_date"),
            ),
        )


class JobOfferFactory(DjangoModelFactory):
    """An open offer of the company awarded `lot` (the award is created when missing)."""

    class Meta:
        model = "matching.JobOffer"

    lot = factory.SubFactory(LotFactory)
    facilitator = factory.SelfAttribute("lot.facilitator")
    company = factory.LazyAttribute(lambda o: AwardFactory(lot=o.lot).company)
    title = "Maçon ou maçonne"
    rome_job = factory.LazyFunction(rome_job)
    commune = factory.LazyFunction(lambda: CommuneFactory())
    contract_type = Ref(ContractType, "cdd")
    start_date = datetime.date(2025, 2, 3)
    end_date = datetime.date(2025, 7, 31)
    weekly_hours = Decimal("35")
    positions = 1
    status = "open"


class ProposalFactory(DjangoModelFactory):
    """A proposal sent to the company (`status="shortlisted", sent_at=None` for a shortlist not sent)."""

    class Meta:
        model = "matching.Proposal"

    offer = factory.SubFactory(JobOfferFactory)
    facilitator = factory.SelfAttribute("offer.facilitator")
    participant = factory.SubFactory(ParticipantFactory, facilitator=factory.SelfAttribute("..facilitator"))
    status = "sent"
    sent_at = factory.LazyFunction(lambda: datetime.datetime(2025, 1, 10, 9, 0, tzinfo=datetime.UTC))
