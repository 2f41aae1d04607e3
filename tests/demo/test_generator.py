"""The demo territory: exactly the public figures of Toulouse Métropole Emploi, and coherent data.

The demo is built once for the module (a few seconds) inside a transaction rolled back at the end,
so that the other test modules never see it. The official data `make run` loads first is loaded before it
(communes, QPV 2015, ROME: a few seconds more), so that the demo uses the real referentials: its people's
jobs are ROME jobs, their QPV residence comes from the real perimeters, its directory holds the SIAE of
Haute-Garonne.
"""

import csv
import datetime
import io
import json
import lzma
import re
from collections import Counter

import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F, Sum
from django.test import override_settings
from django.urls import reverse
from unidecode import unidecode

from clausier.audit.models import AuditEntry
from clausier.demo import data
from clausier.demo.addresses import DemoGeocoder
from clausier.demo.builder import build_demo, delete_territory
from clausier.demo.calibration import DEMO, TARGETS
from clausier.demo.directory import import_demo_siae
from clausier.demo.helpers import luhn_valid, month_start
from clausier.demo.reference import ROME_JOBS, ensure_rome_jobs
from clausier.demo.users import DEMO_PASSWORD, demo_credentials
from clausier.employment.counting import RuleBook
from clausier.employment.models import (
    Contract,
    CountingRule,
    HoursRecord,
    MonthlyStatement,
    StatementStatus,
    StatementTransition,
)
from clausier.employment.queries import previous_month, statements_to_chase
from clausier.geo.models import Qpv
from clausier.geo.qpv import QpvStatus, invalidate_index, qpv_at
from clausier.matching.models import (
    Candidacy,
    CandidacyStatus,
    JobOffer,
    OfferStatus,
    Proposal,
    ProposalStatus,
)
from clausier.organizations.access import current_organization
from clausier.organizations.models import (
    Facilitator,
    Membership,
    Organization,
    OrganizationKind,
    Partnership,
    User,
)
from clausier.participants.actions import postal_address
from clausier.participants.models import Participant, ParticipantProfile, QpvFlag, QpvResidence, QpvSource
from clausier.procurement.followup import Status, add_months
from clausier.procurement.models import Clause, GlobalisationAgreement, Lot, Market
from clausier.procurement.progress import lots_progress, validated_hours
from clausier.reference.models import OfficialDataset, RomeAppellation, RomeDomain, RomeJob
from clausier.reference.official import load_official
from clausier.reporting.indicators import participants_per_year, territory_figures
from tests.factories import acting
from tests.official_data import QPV_2015, TOULOUSE_METROPOLE, plain

COMMUNES_CSV = TOULOUSE_METROPOLE
SIAE_FILE = plain("siae_haute_garonne_2020.csv.xz")
SIAE_ROWS = 62  # PROVENANCE.md: the 62 structures of the department 31 in the ASP directory of late 2020


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            load_official(keys=["communes", "qpv2015", "rome"])  # as `make run` (the NAF is not used)
            yield build_demo()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            invalidate_index()  # the QPV look-up must not keep the rolled-back perimeters


@pytest.fixture
def facilitator(demo, db):
    """A fresh instance each time (some tests delete the territory, in a transaction rolled back after them)."""
    return Facilitator.objects.get(pk=demo.facilitator.pk)


def test_figures_are_exactly_the_public_ones(facilitator):
    figures = territory_figures(facilitator)

    assert (figures.buyers, figures.hours, figures.contracts, figures.participants) == (
        42,
        1_824_868,
        2_725,
        1_983,
    )
    assert (TARGETS.buyers, TARGETS.hours, TARGETS.contracts, TARGETS.participants) == (
        42,
        1_824_868,
        2_725,
        1_983,
    )


def test_people_per_year_grow_strictly_from_2012_to_this_year(facilitator):
    per_year = participants_per_year(facilitator)

    assert [year for year, _ in per_year] == list(range(2012, datetime.date.today().year + 1))
    counts = [n for _, n in per_year]
    assert counts[0] > 0
    assert all(later > earlier for earlier, later in zip(counts, counts[1:], strict=False))


def test_hours_records_stay_within_0_220_and_inside_their_contract(facilitator):
    last_month = month_start(month_start(datetime.date.today()) - datetime.timedelta(days=1))
    rows = HoursRecord.objects.filter(facilitator=facilitator).values_list(
        "month", "hours", "training_hours", "contract__start_date", "contract__end_date"
    )
    assert len(rows) > 10_000
    for month, hours, training, start, end in rows:
        assert 0 <= hours <= 220
        assert 0 <= training <= hours
        assert month_start(start) <= month <= last_month
        assert end is None or month <= month_start(end)
    months = {month for month, *_ in rows}
    assert last_month in months, "the last complete month has hours"
    records = HoursRecord.objects.filter(facilitator=facilitator)
    # Only the last complete month has statements still to validate.
    assert not records.exclude(statement__status="validated").exclude(month=last_month).exists()
    assert not records.exclude(counted_hours=F("hours")).exists()
    assert not records.exclude(statement__employer=F("contract__employer")).exists()
    assert not records.exclude(statement__month=F("month")).exists()


def test_sirets_are_valid_and_unique_per_kind(facilitator):
    orgs = Organization.objects.filter(partnerships__facilitator=facilitator).values_list("kind", "siret")
    sirets = [*orgs, (OrganizationKind.FACILITATOR, facilitator.siret)]
    assert all(len(s) == 14 and s.isdigit() and luhn_valid(s) and luhn_valid(s[:9]) for _, s in sirets)
    assert not [key for key, n in Counter(sirets).items() if n > 1]


def test_organizations_of_the_territory(facilitator):
    partners = Organization.objects.filter(partnerships__facilitator=facilitator)
    by_kind = Counter(partners.values_list("kind", flat=True))
    assert by_kind[OrganizationKind.BUYER] == 43  # one has an agreement but no market yet
    assert by_kind[OrganizationKind.COMPANY] > 80
    # The demo's own structures (employers of its contracts) and the real SIAE of Haute-Garonne.
    assert by_kind[OrganizationKind.INSERTION_STRUCTURE] == len(data.INSERTION_STRUCTURES) + SIAE_ROWS
    assert by_kind[OrganizationKind.PRESCRIBER] == len(data.PRESCRIBERS)
    assert not partners.filter(category__isnull=True).exists()
    assert not partners.exclude(category__kind=models_kind()).exists()
    assert facilitator.settings.first_year == 2012
    names = set(partners.values_list("name", flat=True))
    assert {"Ville de Toulouse", "Toulouse Métropole", "Toulouse Métropole Habitat", "Promologis"} <= names


def models_kind():
    from django.db.models import F

    return F("kind")


def test_legal_basis_follows_the_date_and_clauses_are_sized_by_the_formula(facilitator):
    clauses = Clause.objects.filter(facilitator=facilitator).select_related("legal_basis", "lot__market")
    assert clauses.count() > 500
    for clause in clauses:
        notified = clause.lot.market.notified_on
        code = clause.legal_basis.code
        if notified < datetime.date(2016, 4, 1):
            assert code.startswith("cmp2006_")
        elif notified < datetime.date(2019, 4, 1):
            assert code.startswith(("ord2015_", "dec2016_"))
        else:
            assert code.startswith("ccp_")
        expected = Clause.formula_hours(
            clause.amount_ht, clause.labour_share, clause.insertion_rate, clause.hourly_cost
        )
        assert clause.hours_target == expected >= 150
    # Every buyer counted has a market with a clause; operations group some of them.
    assert Market.objects.filter(facilitator=facilitator, operation__isnull=False).exists()


def test_contracts_modalities_and_employers(facilitator):
    contracts = Contract.objects.filter(facilitator=facilitator)
    modalities = dict(contracts.values_list("modality__code").annotate(n=Count("id")))
    assert set(modalities) == {"direct_hire", "provision", "subcontracting", "training"}
    provision = contracts.filter(modality__code="provision")
    assert not provision.exclude(employer__kind=OrganizationKind.INSERTION_STRUCTURE).exists()
    assert set(provision.values_list("employer__category__code", flat=True)) == {"etti", "ai", "geiq"}
    direct = contracts.filter(modality__code="direct_hire")
    assert not direct.exclude(employer=models_company()).exists()
    # The contract's company is awarded the contract's lot.
    assert not contracts.exclude(lot__awards__company=models_company()).exists()
    # Several contracts for some people.
    per_person = Counter(contracts.values_list("participant_id", flat=True))
    assert max(per_person.values()) >= 3


def models_company():
    from django.db.models import F

    return F("company")


def test_people_merged_duplicate_and_candidates(facilitator):
    participants = Participant.objects.filter(facilitator=facilitator)
    duplicate = participants.get(merged_into__isnull=False)
    assert duplicate.contracts.exists()
    assert duplicate.normalized_name == duplicate.merged_into.normalized_name
    assert duplicate.birth_date == duplicate.merged_into.birth_date
    candidates = participants.filter(contracts__isnull=True)
    assert candidates.count() == DEMO.candidates
    assert not candidates.filter(assessments__isnull=True).exists()
    assert participants.count() == TARGETS.participants + 1 + DEMO.candidates
    assert set(participants.values_list("sex", flat=True)) == {"F", "M"}
    assert participants.values("qualification_level").distinct().count() == 5
    assert participants.values("commune").distinct().count() > 20
    assert not participants.filter(assessments__criterion_lines__isnull=True).exists()
    reasoned = participants.filter(assessments__criteria__code="other_reasoned")
    assert not reasoned.filter(assessments__reason="", assessments__criteria__code="other_reasoned").exists()


def test_demo_users_one_per_role(facilitator):
    users = User.objects.filter(email__endswith="@tme.demo")
    assert users.count() == len(demo_credentials()) == 7
    admin = users.get(email="admin@tme.demo")
    assert admin.check_password(DEMO_PASSWORD)
    assert Membership.objects.get(user=admin).organization == facilitator
    multi = Membership.objects.filter(user__email="multi@tme.demo")
    assert sorted(multi.values_list("organization__kind", flat=True)) == ["company", "facilitator"]
    buyer = Membership.objects.get(user__email="acheteur@tme.demo").organization
    assert buyer.name == "Ville de Toulouse"


def test_indicators_command_prints_the_figures(facilitator):
    out = io.StringIO()
    call_command("indicators", facilitator="toulouse-metropole-emploi", json=True, stdout=out)

    figures = json.loads(out.getvalue())
    assert (figures["buyers"], figures["hours"], figures["contracts"], figures["participants"]) == (
        42,
        1_824_868,
        2_725,
        1_983,
    )


def test_command_refuses_demo_users_without_debug(facilitator):
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("demo", stdout=io.StringIO())
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("demo", logins=True, stdout=io.StringIO())


@override_settings(DEBUG=True)
def test_command_if_empty_and_existing_territory(facilitator):
    out = io.StringIO()
    call_command("demo", if_empty=True, stdout=out)
    assert out.getvalue() == ""
    with pytest.raises(CommandError, match="--reset"):
        call_command("demo", stdout=io.StringIO())
    call_command("demo", logins=True, stdout=out)
    assert "admin@tme.demo" in out.getvalue() and DEMO_PASSWORD in out.getvalue()


@override_settings(DEBUG=True)
def test_command_reset_rebuilds_even_without_the_official_data(facilitator):
    Qpv.objects.all().delete()  # no QPV perimeters
    OfficialDataset.objects.filter(key="communes").delete()  # the official communes said not loaded
    out = io.StringIO()
    call_command("demo", reset=True, stdout=out)

    assert "supprimé" in out.getvalue()
    rebuilt = Facilitator.objects.get(slug=DEMO.slug)
    assert rebuilt.pk != facilitator.pk
    assert territory_figures(rebuilt).contracts == 2_725
    assert User.objects.filter(email__endswith="@tme.demo").count() == 7
    # What the official data would have brought is left out, and the command says why.
    assert "les périmètres QPV 2015 ne sont pas chargés" in out.getvalue()
    assert "Annuaire des SIAE de la Haute-Garonne non importé : les communes officielles" in out.getvalue()
    assert not Participant.objects.filter(facilitator=rebuilt).exclude(qpv_status="").exists()
    structures = Organization.objects.filter(
        partnerships__facilitator=rebuilt, kind=OrganizationKind.INSERTION_STRUCTURE
    )
    assert structures.count() == len(data.INSERTION_STRUCTURES)


def test_delete_territory_leaves_nothing(facilitator):
    pk = facilitator.pk
    delete_territory(facilitator)

    assert not Facilitator.objects.filter(slug=DEMO.slug).exists()
    assert not Partnership.objects.exists()
    assert not Contract.objects.filter(facilitator_id=pk).exists()
    assert not User.objects.filter(email__endswith="@tme.demo").exists()
    assert not Organization.objects.filter(name="Toulouse Métropole Habitat").exists()


def test_embedded_communes_match_the_official_list():
    with COMMUNES_CSV.open(encoding="utf-8") as f:
        official = [
            (r["code_insee"], r["nom"], r["codes_postaux"], int(r["population_municipale"]))
            for r in csv.DictReader(f)
        ]
    assert sorted(data.COMMUNES) == sorted(official)


# --- a living cellule: lots on track, last month's statements, counting rules, globalisation ---------------


def clause_lots_progress(facilitator, today):
    lots = Lot.objects.filter(facilitator=facilitator, clause__isnull=False).select_related(
        "clause", "market"
    )
    return lots_progress(lots, today=today).values()


def test_every_lot_started_six_months_ago_has_validated_hours(facilitator):
    today = datetime.date.today()
    since = add_months(month_start(today), -6)

    empty = [
        f"{p.lot.market.reference} lot {p.lot.number}"
        for p in clause_lots_progress(facilitator, today)
        if p.lot.start_date <= since and p.own == 0
    ]

    assert not empty


def test_lots_not_started_have_no_contracts(facilitator):
    today = datetime.date.today()
    upcoming = Lot.objects.filter(facilitator=facilitator, clause__isnull=False, start_date__gt=today)

    assert not Contract.objects.filter(lot__in=upcoming).exists()


def test_running_lots_are_mostly_on_track(facilitator):
    today = datetime.date.today()
    running = [
        p.followup.status
        for p in clause_lots_progress(facilitator, today)
        if p.lot.end_date >= today and p.followup.status != Status.UPCOMING
    ]
    counts = Counter(running)

    assert len(running) > 50
    assert (counts[Status.AT_RISK] + counts[Status.LATE]) / len(running) < 0.25
    assert counts[Status.LATE] / len(running) <= 0.08
    assert counts[Status.ON_TRACK] / len(running) > 0.7


def test_ended_lots_mostly_reach_their_target(facilitator):
    today = datetime.date.today()
    ratios = [
        (p.own + p.from_pool) / p.target
        for p in clause_lots_progress(facilitator, today)
        if p.lot.end_date < today
    ]

    assert len(ratios) > 300
    assert sum(1 for r in ratios if 0.9 <= r <= 1.3) / len(ratios) > 0.85
    assert sum(1 for r in ratios if r >= 1) / len(ratios) > 0.7


def test_last_month_statements_to_validate_returned_and_missing(facilitator):
    month = previous_month(datetime.date.today())
    statements = MonthlyStatement.objects.filter(facilitator=facilitator, month=month)
    status = Counter(statements.values_list("status", flat=True))

    assert status[StatementStatus.SUBMITTED] >= 1
    assert status[StatementStatus.RETURNED] >= 1
    assert status[StatementStatus.VALIDATED] > 3 * (
        status[StatementStatus.SUBMITTED] + status[StatementStatus.RETURNED]
    )
    chase = list(statements_to_chase(facilitator, month))
    missing = [org for org in chase if org.statement_status is None]
    returned = [org for org in chase if org.statement_status == StatementStatus.RETURNED]
    assert 2 <= len(missing) <= 3
    assert returned
    # Their transitions say who did what, when; a returned statement says why.
    facilitator_staff = set(
        Membership.objects.filter(organization=facilitator).values_list("user_id", flat=True)
    )
    for statement in statements.exclude(status=StatementStatus.DRAFT):
        steps = list(statement.transitions.all())
        assert steps and steps[-1].to_status == statement.status
        assert all(a.at <= b.at for a, b in zip(steps, steps[1:], strict=False))
        if statement.status in (StatementStatus.VALIDATED, StatementStatus.RETURNED):
            assert steps[-1].by_id in facilitator_staff
        if statement.status == StatementStatus.RETURNED:
            assert steps[-1].comment
    transitions = StatementTransition.objects.filter(statement__facilitator=facilitator)
    assert not transitions.filter(at__date__gt=datetime.date.today()).exists()
    assert transitions.filter(at__date__lt=datetime.date(2013, 1, 1)).exists()


def test_hours_of_statements_not_validated_do_not_count(facilitator):
    month = previous_month(datetime.date.today())
    pending = HoursRecord.objects.filter(facilitator=facilitator, month=month).exclude(
        statement__status=StatementStatus.VALIDATED
    )
    all_hours = HoursRecord.objects.filter(facilitator=facilitator).aggregate(h=Sum("counted_hours"))["h"]

    assert pending.exists()
    assert (
        validated_hours().filter(facilitator=facilitator).aggregate(h=Sum("counted_hours"))["h"] == 1_824_868
    )
    assert all_hours > 1_824_868
    assert territory_figures(facilitator).hours == 1_824_868


def test_counting_rules_versions_and_the_rule_of_each_record(facilitator):
    rules = CountingRule.objects.filter(facilitator=facilitator)
    assert rules.count() >= 5
    assert not rules.exclude(coefficient=1).exists()
    assert not rules.filter(count_training=False).exists()
    ctti = rules.filter(modality__code="provision", contract_type__code="ctti")
    assert ctti.count() == 2  # two versions
    assert rules.filter(contract_type__code="apprenticeship", count_training=True).exists()

    book = RuleBook(facilitator)
    records = HoursRecord.objects.filter(facilitator=facilitator).values_list(
        "rule_id", "month", "contract__modality_id", "contract__contract_type_id"
    )
    used = set()
    for rule_id, month, modality_id, contract_type_id in records:
        expected = book.rule_for(modality_id=modality_id, contract_type_id=contract_type_id, month=month)
        assert rule_id == expected.pk
        used.add(rule_id)
    assert used == set(rules.values_list("pk", flat=True))


def test_two_globalisation_agreements_across_two_buyers(facilitator):
    agreements = GlobalisationAgreement.objects.filter(facilitator=facilitator)

    assert agreements.count() == 2
    for agreement in agreements:
        lots = agreement.lots.all()
        assert lots.values("market__buyer").distinct().count() == 2
        assert not lots.exclude(awards__company=agreement.company).exists()
        assert agreement.start_date <= min(lot.start_date for lot in lots)


def test_every_participant_has_a_profile(facilitator):
    from clausier.participants.models import Participant, ParticipantProfile

    assert (
        ParticipantProfile.objects.filter(facilitator=facilitator).count()
        == Participant.objects.filter(facilitator=facilitator).count()
    )


# --- matching: something in every space of the demo logins, figures unchanged -----------------------------


def demo_user(local: str):
    return acting(User.objects.get(email=f"{local}@tme.demo"))


def assert_log_ends_at_status(row):
    steps = list(row.transitions.all())
    assert steps and steps[-1].to_status == row.status
    assert all(a.at <= b.at for a, b in zip(steps, steps[1:], strict=False))
    assert steps[-1].at.date() <= datetime.date.today()


def test_the_demo_prescriber_has_candidacies_in_every_state(facilitator):
    prescriber_user = demo_user("prescripteur")
    prescriber = current_organization(prescriber_user)
    candidacies = Candidacy.objects.visible_to(prescriber_user)

    assert candidacies.count() == Candidacy.objects.filter(facilitator=facilitator).count() >= 4
    statuses = Counter(candidacies.values_list("status", flat=True))
    assert statuses[CandidacyStatus.PROPOSED] >= 2 and statuses[CandidacyStatus.DECLINED] >= 1
    assert statuses[CandidacyStatus.VALIDATED] >= 1
    for candidacy in candidacies:
        assert candidacy.proposed_by == prescriber_user and candidacy.criterion_lines.exists()
        assert candidacy.wished_jobs.exists()
        assert_log_ends_at_status(candidacy)
    assert not candidacies.filter(status=CandidacyStatus.DECLINED, decline_reason="").exists()
    # A validated candidacy links a candidate already on file, referred by the prescriber: no new record.
    for candidacy in candidacies.filter(status=CandidacyStatus.VALIDATED):
        assert candidacy.participant.prescriber == prescriber
        assert not candidacy.participant.contracts.exists()
        assert (candidacy.first_name, candidacy.birth_date) == (
            candidacy.participant.first_name,
            candidacy.participant.birth_date,
        )
    assert (
        not candidacies.exclude(status=CandidacyStatus.VALIDATED).filter(participant__isnull=False).exists()
    )


def test_open_offers_on_running_lots_of_the_demo_company_with_proposals(facilitator):
    company_user, staff = demo_user("entreprise"), demo_user("membre")
    company = current_organization(company_user)
    offers = JobOffer.objects.visible_to(company_user).select_related("lot", "rome_job")

    assert 2 <= offers.count() <= 3
    assert offers.count() == JobOffer.objects.visible_to(staff).count()
    for offer in offers:
        assert offer.status == OfferStatus.OPEN and offer.company == company
        assert offer.lot.awards.filter(company=company).exists() and hasattr(offer.lot, "clause")
        assert offer.lot.start_date <= datetime.date.today() < offer.start_date <= offer.end_date
        assert offer.end_date <= offer.lot.end_date
        assert offer.rome_job.label == ROME_JOBS[offer.rome_job.code], "the official ROME label"
    assert "F1703" in {offer.rome_job.code for offer in offers}

    proposals = Proposal.objects.filter(facilitator=facilitator).select_related("offer", "participant")
    statuses = Counter(proposals.values_list("status", flat=True))
    assert {
        ProposalStatus.SHORTLISTED,
        ProposalStatus.SENT,
        ProposalStatus.ACCEPTED,
        ProposalStatus.REFUSED,
    } <= set(statuses)
    assert not proposals.filter(contract__isnull=False).exists(), "no hire: the figures do not move"
    for proposal in proposals:
        assert proposal.participant.is_eligible_on(proposal.offer.start_date)
        assert proposal.participant.merged_into_id is None
        assert_log_ends_at_status(proposal)
    assert not proposals.filter(status=ProposalStatus.REFUSED, refusal_reason="").exists()
    # The company sees what was sent to it, not the shortlist still with the facilitator.
    seen = Proposal.objects.visible_to(company_user)
    assert seen.count() == proposals.exclude(status=ProposalStatus.SHORTLISTED).count() >= 3
    assert Proposal.objects.visible_to(staff).count() == proposals.count()


def test_rome_jobs_are_created_only_when_missing(facilitator):
    RomeJob.objects.filter(code="F1703").update(label="Maçon (référentiel importé)")

    jobs = ensure_rome_jobs()

    assert jobs["F1703"].label == "Maçon (référentiel importé)"
    assert RomeJob.objects.filter(code__in=ROME_JOBS).count() == len(ROME_JOBS)
    assert {job.domain.code for job in jobs.values()} == {"F16", "F17", "K22"}
    assert RomeDomain.objects.get(code="F17").parent == RomeDomain.objects.get(code="F")


# --- the real referentials: SIAE directory, ROME jobs, QPV residence ---------------------------------------


def siae_rows():
    with SIAE_FILE.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_the_directory_holds_the_siae_of_haute_garonne(facilitator, client_for):
    rows = siae_rows()
    assert len(rows) == SIAE_ROWS
    siae = Organization.objects.filter(
        kind=OrganizationKind.INSERTION_STRUCTURE,
        partnerships__facilitator=facilitator,
        siret__in=[row["siret"] for row in rows],
    )
    assert siae.count() == SIAE_ROWS  # every row imported, none left out
    assert Counter(siae.values_list("category__code", flat=True)) == Counter(r["kind"].lower() for r in rows)
    assert set(siae.values_list("commune__department_code", flat=True)) == {"31"}
    # The directory page shows them to the demo staff, outside Toulouse Métropole too.
    client = client_for(User.objects.get(email="membre@tme.demo"))
    page = client.get(reverse("www:directory"))
    assert page.context["paginator"].count == len(data.INSERTION_STRUCTURES) + SIAE_ROWS
    bouloc = client.get(reverse("www:directory"), {"place": "Bouloc"})
    assert [s.name for s in bouloc.context["page_obj"].object_list] == [
        r["name"] for r in rows if r["city"] == "Bouloc"
    ]


def test_importing_the_siae_again_adds_nothing(facilitator):
    before = (Organization.objects.count(), AuditEntry.objects.count())

    again = import_demo_siae(facilitator)

    assert again.imported
    assert again.report.counts == {"create": 0, "update": 0, "unchanged": SIAE_ROWS}
    assert (Organization.objects.count(), AuditEntry.objects.count()) == before
    assert f"0 structure(s) ajoutée(s), 0 mise(s) à jour, {SIAE_ROWS} déjà présente(s)" in again.message


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", unidecode(text).lower()))


def test_the_jobs_of_the_contracts_are_appellations_of_the_real_rome(facilitator):
    for jobs in data.JOBS.values():
        for title, code in jobs:
            labels = RomeAppellation.objects.filter(job__code=code).values_list("label", flat=True)
            assert any(words(title) <= words(label) for label in labels), f"{title} is not a {code} job"
    contracts = Contract.objects.filter(facilitator=facilitator)
    codes = set(contracts.values_list("rome_code", flat=True))
    assert codes == set(RomeJob.objects.filter(code__in=codes).values_list("code", flat=True))  # all real
    assert not contracts.filter(rome_code="").exists()
    assert set(contracts.filter(job_title="Maçon").values_list("rome_code", flat=True)) == {"F1703"}


def pool_people(client, **params) -> list[Participant]:
    url = reverse("www:matching_pool")
    page = client.get(url, params)
    assert page.status_code == 200
    people, number = list(page.context["page_obj"].object_list), 2
    while len(people) < page.context["paginator"].count:
        people += client.get(url, {**params, "page": number}).context["page_obj"].object_list
        number += 1
    return people


def test_the_pool_finds_the_demo_masons_by_their_rome_appellation(facilitator, client_for):
    client = client_for(User.objects.get(email="membre@tme.demo"))
    mason = RomeAppellation.objects.get(label="Maçon / Maçonne").job  # the appellation one searches for

    found = pool_people(client, rome_job=mason.code, include_busy="on")

    assert mason.code == "F1703"
    worked = {
        p.pk
        for p in found
        if Contract.objects.filter(participant=p, job_title="Maçon", rome_code="F1703").exists()
    }
    assert len(worked) > 10, "people who worked as masons on the demo's lots"
    # The pool is everyone eligible today who worked as a mason (or wishes to, in a validated candidacy).
    today = datetime.date.today()
    eligible_masons = set(
        Participant.objects.filter(
            facilitator=facilitator,
            merged_into__isnull=True,
            contracts__job_title="Maçon",
            assessments__assessed_on__lte=today,
            assessments__valid_until__gte=today,
        ).values_list("pk", flat=True)
    )
    assert worked == eligible_masons
    # By its domain (F17 Travaux et gros œuvre) or grand domain (F), more people: the other site jobs.
    by_domain = pool_people(client, domain="F17", include_busy="on")
    by_grand_domain = pool_people(client, domain="F", include_busy="on")
    assert {p.pk for p in found} < {p.pk for p in by_domain} < {p.pk for p in by_grand_domain}


def shipped_perimeters() -> dict[str, shapely.Geometry]:
    """The 2015 perimeters as they ship (read here apart from the QPV table and its index)."""
    features = json.loads(lzma.decompress(QPV_2015.read_bytes()))["features"]
    return {f["properties"]["code_qp"]: shapely.geometry.shape(f["geometry"]) for f in features}


def test_qpv_residence_comes_from_the_real_perimeters(facilitator, client_for):
    people = Participant.objects.filter(facilitator=facilitator, merged_into__isnull=True).select_related(
        "commune"
    )
    inside = list(people.filter(qpv_status=QpvResidence.INSIDE))
    outside = list(people.filter(qpv_status=QpvResidence.OUTSIDE))
    perimeters = shipped_perimeters()
    geocoder = DemoGeocoder(seed=DEMO.seed)  # what the demo's addresses were geocoded with
    assert inside and outside

    for person in inside:
        point = geocoder.geocode(postal_address(person))
        assert qpv_at(point.lon, point.lat, person.entry_date).code == person.qpv_code
        assert perimeters[person.qpv_code].covers(shapely.Point(point.lon, point.lat))
        assert (person.qpv_millesime, person.qpv_method) == (2015, "geocoding")
        assert datetime.date(2015, 1, 1) <= person.entry_date <= datetime.date(2023, 12, 31)
        assert person.commune_id in (data.TOULOUSE, "31149")  # Toulouse, Colomiers
    for person in outside:
        point = geocoder.geocode(postal_address(person))
        assert qpv_at(point.lon, point.lat, person.entry_date).status == QpvStatus.OUTSIDE
        assert not any(g.covers(shapely.Point(point.lon, point.lat)) for g in perimeters.values())

    # The QPV residents of the eligibility criteria are those found inside, wherever the 2015 list applies.
    residents = set(
        people.filter(
            assessments__criteria__code="qpv_resident",
            entry_date__range=(datetime.date(2015, 1, 1), datetime.date(2023, 12, 31)),
        ).values_list("pk", flat=True)
    )
    assert residents == {p.pk for p in inside}
    # Before 2015 no list was in force; from 2024 the 2024 list applies, which is not loaded.
    before = people.filter(entry_date__lt=datetime.date(2015, 1, 1))
    assert set(before.values_list("qpv_status", flat=True)) == {QpvResidence.NO_LIST}
    later = people.filter(entry_date__gte=datetime.date(2024, 1, 1))
    assert set(later.values_list("qpv_status", flat=True)) == {
        QpvResidence.NOT_LOADED,
        QpvResidence.UNLOCATED,
    }
    assert not later.filter(qpv_status=QpvResidence.UNLOCATED).exclude(address="").exists()
    # The reporting profiles follow, and a person's file says it.
    profiles = ParticipantProfile.objects.filter(facilitator=facilitator)
    by_address = profiles.filter(qpv_source=QpvSource.ADDRESS)
    assert by_address.filter(qpv_flag=QpvFlag.INSIDE).count() == len(inside)
    assert by_address.filter(qpv_flag=QpvFlag.OUTSIDE).count() == len(outside)
    # Where the address does not tell (no list, 2024 list not loaded, not located), the declared criterion
    # does: the one QPV figure of the bilans counts those too (issue 14), about 30 % of everyone.
    declared = set(people.filter(assessments__criteria__code="qpv_resident").values_list("pk", flat=True))
    by_criterion = set(
        profiles.filter(qpv_source=QpvSource.CRITERION).values_list("participant_id", flat=True)
    )
    assert by_criterion == declared - {p.pk for p in inside} - {p.pk for p in outside}
    share = profiles.filter(qpv_flag=QpvFlag.INSIDE).count() / profiles.count()
    assert 0.25 < share < 0.35
    resident = next(p for p in inside if p.commune_id == data.TOULOUSE)
    client = client_for(User.objects.get(email="membre@tme.demo"))
    page = client.get(reverse("www:participant_detail", kwargs={"uuid": resident.uuid})).content.decode()
    name = Qpv.objects.get(millesime=2015, code=resident.qpv_code).name
    assert f"En QPV : {resident.qpv_code} — {name}" in page and "(liste 2015)" in page


def test_the_demo_geocoder_gives_one_point_per_address(facilitator):
    geocoder = DemoGeocoder(seed=DEMO.seed)
    izards = "12 chemin des Izards 31200 Toulouse"

    first, again = geocoder.geocode(izards, key="a"), geocoder.geocode(izards, key="b")

    assert (first.lon, first.lat) == (again.lon, again.lat) and (first.key, again.key) == ("a", "b")
    assert qpv_at(first.lon, first.lat, datetime.date(2020, 3, 2)).code == "QP031011"  # Les Izards - La Vache
    elsewhere = geocoder.geocode("3 rue Victor-Hugo 31140 Aucamville")
    assert qpv_at(elsewhere.lon, elsewhere.lat, datetime.date(2020, 3, 2)).status == QpvStatus.OUTSIDE
    assert not geocoder.geocode("").usable


def test_the_pool_finds_people_by_the_name_of_their_job(facilitator, client_for):
    client = client_for(User.objects.get(email="membre@tme.demo"))
    # Words begin words of an appellation, accents and case aside; a code is a code.
    masonry = ["F1206", "F1611", "F1701", "F1702", "F1703", "F1704", "F1707", "F1708"]
    assert list(RomeJob.objects.named("Maçon").values_list("code", flat=True)) == masonry
    assert list(RomeJob.objects.named("  MACON ").values_list("code", flat=True)) == masonry
    assert list(RomeJob.objects.named("aide maçon").values_list("code", flat=True)) == ["F1704"]
    assert list(RomeJob.objects.named("f1703").values_list("code", flat=True)) == ["F1703"]
    assert not RomeJob.objects.named("açon").exists()  # the beginning of a word, not its middle

    by_name = {p.pk for p in pool_people(client, job_words="Maçon", include_busy="on")}

    # Everyone who worked on one of those jobs, or wishes one (validated candidacy), and no one else.
    by_sheet = set()
    for code in masonry:
        by_sheet |= {p.pk for p in pool_people(client, rome_job=code, include_busy="on")}
    assert by_name == by_sheet
    masons = {p.pk for p in pool_people(client, rome_job="F1703", include_busy="on")}
    assert masons < by_name
    # The name and the sheet together: both apply.
    assert {p.pk for p in pool_people(client, job_words="aide maçon", rome_job="F1703")} <= masons

    # Each row says which jobs the person held.
    listed = client.get(reverse("www:matching_pool"), {"job_words": "aide maçon", "include_busy": "on"})
    assert "Métiers exercés" in listed.content.decode() and "Aide-maçon (F1704)" in listed.content.decode()

    page = client.get(reverse("www:matching_pool"), {"job_words": "zzzz"})
    assert page.status_code == 200
    assert "Aucun métier du ROME ne correspond à « zzzz »" in page.content.decode()
    assert 'value="zzzz"' in page.content.decode()  # the input is kept
