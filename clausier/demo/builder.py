"""Generate a realistic territory, calibrated on Toulouse Métropole Emploi's public figures.

`build_demo()` builds "Toulouse Métropole Emploi" from 2012 to today with demo users;
`build_territory(spec)` builds any territory of the same size (the benchmark builds hundreds);
`delete_territory(facilitator)` removes one.

The figures computed by `clausier.reporting.indicators.territory_figures` on a generated territory are
exactly `TARGETS` (`clausier.demo.calibration`): 42 buyers, 1,824,868 hours, 2,725 contracts, 1,983
participants without double counting; the people counted per year grow strictly from the first year to the
current one.

`TerritoryBuilder.build` runs the steps in a fixed order, each step's code in the module of its domain:
the organizations (`partners`), the demo users (`users`), the people and their contract dates (`people`), the
markets and lots, and the lot of each contract (`markets`), the procurement rows with the hours planned on the
way (`procurement`, `contracts`), the participant records (`people`), the contracts, statements, hours and
outcomes (`contracts`), the conventions de globalisation (`procurement`), and with the demo users the matching
spaces (`matching`). Everything is drawn from one seeded `random.Random` in that order: the same seed and the
same day give the same data; a step moved, or a draw added, moves the figures. Rows are written with
`bulk_create` in batches.

After the figures are set, `build_demo` adds what the official data brings when it is loaded (`clausier
load_reference`): everyone's QPV residence, determined as for real participants (`clausier.demo.addresses`),
and the SIAE of Haute-Garonne in the directory (`clausier.demo.directory`).
"""

import datetime
import random

from django.core.management.base import CommandError
from django.db import IntegrityError, connection, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError

from clausier.demo.addresses import resolve_demo_qpv
from clausier.demo.calibration import DEMO, TARGETS, Targets, TerritorySpec
from clausier.demo.contracts import ContractsMixin
from clausier.demo.directory import import_demo_siae
from clausier.demo.helpers import SiretMaker, month_start
from clausier.demo.markets import MarketsMixin
from clausier.demo.matching import MatchingMixin
from clausier.demo.partners import PartnersMixin
from clausier.demo.people import PeopleMixin
from clausier.demo.procurement import ProcurementMixin
from clausier.demo.reference import Ref, ensure_communes, ensure_reference
from clausier.demo.users import DEMO_EMAIL_DOMAIN, UsersMixin
from clausier.organizations.models import Organization, OrganizationKind, Partnership, User
from clausier.participants.models import Participant
from clausier.participants.profiles import refresh_facilitator_profiles

K = OrganizationKind


class TerritoryBuilder(
    PartnersMixin,
    UsersMixin,
    PeopleMixin,
    MarketsMixin,
    ProcurementMixin,
    ContractsMixin,
    MatchingMixin,
):
    """One territory, built step by step in the order of `build` (each step's code is in its domain's mixin)."""

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

    def build(self, *, with_users: bool = False) -> Organization:
        """The steps, in the order of the draws: reordering them moves every figure."""
        self.ref = Ref()
        self.communes = ensure_communes()
        self.sirets = SiretMaker(self.rng)
        self.facilitator = self._facilitator()  # partners
        self._organizations()  # partners
        self.users, self.employer_users = {}, {}
        if with_users:
            self.users = self._users()  # users
        self._plan_people()  # people
        self._plan_markets()  # markets
        self._assign_lots()  # markets
        self._write_procurement()  # procurement (plans the hours on the way: contracts)
        self._write_people()  # people
        self._write_contracts()  # contracts
        self._globalisations()  # procurement
        if self.users:
            self._matching()  # matching
        return self.facilitator


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
    # SQLite never gathers planner statistics by itself: without them it reads the lists' hours through the
    # statement status index (every validated hour, for each row), 1 to 2 s a page instead of milliseconds.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
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
