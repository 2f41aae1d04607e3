"""Acceptance walk of the partners' spaces, one browser per person, from a prescriber's candidacy to the
buyer's realised hours:

1. the prescriber proposes a candidate (identity, situation, a criterion it can attest);
2. a facilitator member validates the candidacy and its eligibility (the participant's record is created);
3. the member posts a job offer on the lot, finds the person in the pool, shortlists and sends;
4. the company accepts the candidate; the member marks the hire (a contract);
5. the company declares the month's hours in its online grid and sends its statement;
6. the member validates the statement;
7. the buyer reads the realised hours of its lot and market — and never a participant's name.
"""

import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from clausier.employment.models import Contract, HoursRecord, MonthlyStatement, StatementStatus
from clausier.employment.queries import previous_month
from clausier.matching.models import Candidacy, CandidacyStatus, JobOffer, Proposal, ProposalStatus
from clausier.participants.models import Participant
from clausier.reference.models import EligibilityCriterion
from clausier.reference.referentials import import_rome
from clausier.www.hours.views import month_label
from tests.factories import (
    PASSWORD,
    AwardFactory,
    BuyerFactory,
    ClauseFactory,
    CommuneFactory,
    CompanyFactory,
    FacilitatorFactory,
    LotFactory,
    MarketFactory,
    PrescriberFactory,
    UserFactory,
    add_months,
)
from tests.official_data import OFFICIAL

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ROME_FOLDER = OFFICIAL
FIRST, LAST = "Ysaline", "Quérou"
SHOWN = f"{LAST.upper()} {FIRST}"  # how lists write a person: "QUÉROU Ysaline"


def d(day: datetime.date) -> str:
    """A date as pages write it."""
    return f"{day:%d/%m/%Y}"


def iso(day: datetime.date) -> str:
    """A date as a date input (`type="date"`) takes and holds it."""
    return day.isoformat()


@pytest.fixture
def world():
    """A facilitator and its partners: a buyer with a market and a lot with a clause awarded to a company, a
    prescriber; one user each (password `PASSWORD`). Reference data and the real ROME are loaded (the
    transactional test flushed them)."""
    call_command("load_reference", verbosity=0, stdout=io.StringIO())
    import_rome(ROME_FOLDER)
    CommuneFactory()  # Toulouse, 31555
    today = timezone.localdate()
    facilitator = FacilitatorFactory(name="Cellule clause Garonne")
    buyer = BuyerFactory(partner_of=facilitator, name="Commune de Colomiers")
    company = CompanyFactory(partner_of=facilitator, name="Bâtiments du Sud")
    prescriber = PrescriberFactory(partner_of=facilitator, name="France Travail Toulouse Nord")
    market = MarketFactory(
        facilitator=facilitator,
        buyer=buyer,
        reference="2026-GS-014",
        title="Réhabilitation du groupe scolaire Jean-Jaurès",
        start_date=datetime.date(today.year - 1, 1, 1),
        end_date=datetime.date(today.year + 1, 12, 31),
    )
    lot = LotFactory(market=market, number="2", title="Gros œuvre")
    ClauseFactory(lot=lot)
    AwardFactory(lot=lot, company=company)
    users = {
        role: UserFactory(email=f"{role}@garonne.example", first_name=first, last_name=last, member_of=org)
        for role, first, last, org in (
            ("staff", "Camille", "Roussel", facilitator),
            ("buyer", "Hugo", "Lemaire", buyer),
            ("company", "Nadia", "Benali", company),
            ("prescriber", "Paul", "Girard", prescriber),
        )
    }
    return {"users": users, "company": company, "lot": lot, "market": market, "facilitator": facilitator}


@pytest.fixture
def log_in(browser, live_server):
    """`log_in(user)`: a page of a new browser context (one per person), logged in through /connexion/."""
    contexts = []

    def open_session(user):
        context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/connexion/")
        page.get_by_label(re.compile("e-mail", re.I)).fill(user.email)
        page.get_by_label(re.compile("mot de passe", re.I)).fill(PASSWORD)
        page.get_by_role("button", name=re.compile("connecter", re.I)).click()
        expect(page).not_to_have_url(re.compile("/connexion/"))
        return page

    yield open_session
    for context in contexts:
        context.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"partner-{name}.png"), full_page=True)


def field(scope, label):
    """The form field whose label starts with `label` (labels add « * » and a hint)."""
    return scope.get_by_label(re.compile(r"^\s*" + re.escape(label)))


def tick(box):
    """Check a DSFR checkbox or radio as a person does: its label covers the input, click the label."""
    box.page.locator(f'label[for="{box.get_attribute("id")}"]').click()
    expect(box).to_be_checked()


def notice(page, text):
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def test_from_a_prescribers_candidate_to_the_buyers_realised_hours(world, log_in, live_server, page_loads):
    users, lot, company = world["users"], world["lot"], world["company"]
    url = live_server.url
    month = previous_month(timezone.localdate())  # the month the company declares
    start = month  # the job starts on the 1st of that month…
    assessed_on = add_months(month, -1)  # …the eligibility is validated the month before…
    evidence_on = assessed_on - datetime.timedelta(days=10)  # …on a France Travail notice of earlier
    deld = EligibilityCriterion.objects.get(code="deld")

    # 1. The prescriber proposes a candidate to its facilitator.
    prescriber = log_in(users["prescriber"])
    prescriber.goto(f"{url}/candidatures/")
    prescriber.get_by_test_id("propose").get_by_role("link", name="Proposer un candidat").click()
    expect(prescriber.get_by_role("heading", level=1)).to_have_text(
        "Proposer un candidat à Cellule clause Garonne"
    )
    form = prescriber.locator("main form")
    field(form, "Prénom").fill(FIRST)
    field(form, "Nom d'usage").fill(LAST)
    field(form, "Date de naissance").fill("1990-03-14")  # a date input takes ISO
    field(form, "Sexe").select_option("F")
    field(form, "E-mail").fill("ysaline.querou@exemple.fr")
    field(form, "Téléphone").fill("06 21 43 65 87")
    field(form, "Commune").fill("31555")
    field(form, "Situation").select_option("long_term_job_seeker")
    field(form, "Niveau de qualification").select_option("level3")
    field(form, "Disponible à partir du").fill(iso(start))
    field(form, "Métiers recherchés").select_option(["F1703"])
    field(form, "Conseiller référent").fill("M. Conseiller")
    tick(form.get_by_label(deld.label, exact=True))
    form.get_by_label(f"Justificatif — {deld.label}", exact=True).select_option("france_travail")
    form.get_by_label(f"Date du justificatif — {deld.label}", exact=True).fill(iso(evidence_on))
    tick(form.get_by_label(re.compile("informée du traitement")))
    shot(prescriber, "1-candidacy-form")
    form.get_by_role("button", name="Proposer la candidature").click()
    notice(prescriber, "La candidature a été transmise au facilitateur.")
    expect(prescriber.get_by_role("heading", level=1)).to_have_text(f"{FIRST} {LAST.upper()}")
    expect(prescriber.get_by_test_id("proposed-criteria")).to_contain_text(deld.label)
    candidacy = Candidacy.objects.get(last_name=LAST)
    assert candidacy.status == CandidacyStatus.PROPOSED
    assert [job.code for job in candidacy.wished_jobs.all()] == ["F1703"]

    # 2. The facilitator member validates the candidacy: the participant's record and its eligibility.
    staff = log_in(users["staff"])
    staff.goto(f"{url}/candidatures/")
    staff.get_by_test_id("row").get_by_role("link", name=SHOWN).click()
    staff.get_by_test_id("review-actions").get_by_role("link", name="Valider").click()
    expect(staff.get_by_label(deld.label, exact=True)).to_be_checked()  # the prescriber's criterion
    expect(staff.get_by_label("Créer une nouvelle fiche participant")).to_be_checked()
    field(staff, "Date de validation").fill(iso(assessed_on))
    staff.get_by_role("button", name="Valider la candidature et l'éligibilité").click()
    notice(staff, "La candidature est validée")
    expect(staff.get_by_test_id("participant-link")).to_contain_text(f"{FIRST} {LAST.upper()}")
    shot(staff, "2-candidacy-validated")
    person = Participant.objects.get(last_name=LAST)
    assert Candidacy.objects.get(pk=candidacy.pk).participant == person
    assert person.is_eligible_on(start)

    # 3. The member posts an offer on the lot, finds the person in the offer's pool, shortlists and sends.
    staff.goto(f"{url}/offres/")
    staff.get_by_test_id("create").click()
    field(staff, "Lot").select_option(str(lot.uuid))
    staff.get_by_role("button", name="Continuer").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Nouvelle offre d'emploi")
    form = staff.locator("main form")
    field(form, "Entreprise").select_option(label=company.name)
    field(form, "Intitulé du poste").fill("Maçon ou maçonne")
    field(form, "Métier (ROME)").select_option("F1703")
    field(form, "Type de contrat").select_option("cdd")
    field(form, "Début").fill(iso(start))
    field(form, "Fin").fill(iso(add_months(start, 6) - datetime.timedelta(days=1)))
    field(form, "Durée hebdomadaire (h)").fill("35")
    field(form, "Commune du lieu de travail").fill("31555")
    tick(field(form, "Publier l'offre tout de suite"))
    form.get_by_role("button", name="Enregistrer l'offre").click()
    notice(staff, "L'offre a été enregistrée.")
    offer = JobOffer.objects.get(title="Maçon ou maçonne")
    assert (offer.lot, offer.company, offer.status) == (lot, company, "open")
    staff.get_by_role("link", name="Chercher dans le vivier").click()
    row = staff.get_by_test_id("row").filter(has_text=SHOWN)
    expect(row).to_contain_text("F1703")
    shot(staff, "3-pool")
    row.get_by_role("button", name="Ajouter à la sélection").click()
    notice(staff, "est ajouté(e) à la sélection de l'offre.")
    expect(staff.get_by_test_id("row").filter(has_text=SHOWN).get_by_test_id("on-offer")).to_be_visible()
    staff.get_by_test_id("pool-offer").get_by_role("link", name="Maçon ou maçonne").click()
    staff.get_by_test_id("send-shortlist").click()
    notice(staff, f"1 candidat(s) proposé(s) à {company.name}.")
    proposal = Proposal.objects.get(offer=offer, participant=person)
    assert proposal.status == ProposalStatus.SENT

    # 4. The company reads the candidate (eligibility « validée », never why) and accepts; the member hires.
    employer = log_in(users["company"])
    employer.goto(f"{url}/propositions/")
    employer.get_by_test_id("row").get_by_role("link", name=SHOWN).click()
    expect(employer.get_by_test_id("eligibility")).to_have_text("Éligibilité : validée")
    expect(employer.get_by_test_id("candidate")).to_contain_text("ysaline.querou@exemple.fr")
    content = employer.locator("main").inner_text()
    for secret in (deld.label, "longue durée", "France Travail", "M. Conseiller"):
        assert secret not in content, secret
    tick(employer.get_by_label("Je retiens ce candidat"))
    shot(employer, "4-proposal-company")
    employer.get_by_role("button", name="Envoyer la réponse").click()
    notice(employer, "Vous avez retenu ce candidat")
    assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.ACCEPTED

    staff.goto(f"{url}/propositions/{proposal.uuid}/")
    staff.get_by_test_id("hire").click()
    expect(field(staff, "Début du contrat")).to_have_value(iso(start))
    staff.get_by_role("button", name="Créer le contrat").click()
    notice(staff, "L'embauche est enregistrée : le contrat est créé.")
    contract = Contract.objects.get(participant=person)
    assert (contract.lot, contract.company, contract.employer) == (lot, company, company)
    assert (contract.start_date, contract.modality.code, contract.rome_code) == (
        start,
        "direct_hire",
        "F1703",
    )
    assert staff.url.endswith(f"/contrats/{contract.uuid}/")
    main = staff.locator("main")
    expect(main).to_contain_text(f"{FIRST} {LAST.upper()}")
    expect(main).to_contain_text(company.name)
    expect(main).to_contain_text(f"{d(start)} – {d(contract.end_date)}")
    shot(staff, "5-contract")
    assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.HIRED

    # 5. The company declares the month in its online grid, then sends its statement from the grid. Steps 5–6,
    # the company's month and the facilitator's validation, are an everyday job: walked by clicks only (from
    # the page each person is on), their page loads counted.
    page_loads.watch(employer)
    page_loads.watch(staff)
    page_loads.restart()
    label = month_label(month)
    employer.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Mes obligations"
    ).click()
    employer.get_by_test_id("employer-statements").get_by_role(
        "link", name=f"Saisir les heures de {label}"
    ).click()
    expect(employer.get_by_test_id("grid-row")).to_have_count(1)
    employer.get_by_label(f"Heures travaillées de {FIRST} {LAST.upper()} en {label}").fill("151,67")
    employer.get_by_label(f"Dont heures de formation de {FIRST} {LAST.upper()} en {label}").fill("7")
    employer.get_by_role("button", name=f"Enregistrer les heures de {label}").click()
    # Swapped in by htmx (or, before htmx is loaded, shown after a plain POST and redirect): the same notice.
    expect(employer.get_by_text(f"Heures de {label} enregistrées (1 contrat modifié).")).to_be_visible()
    expect(employer.get_by_test_id("total-hours")).to_have_text("151,67")
    shot(employer, "6-grid")
    # The grid lists the month's statement and its steps: sent from there, back to the grid.
    employer.get_by_test_id("grid-statement").filter(has_text=company.name).get_by_role(
        "link", name=re.compile("^Transmettre le relevé")
    ).click()
    expect(employer.get_by_test_id("confirm-summary")).to_contain_text("151,67 h")
    employer.get_by_role("button", name="Confirmer : transmettre le relevé").click()
    notice(employer, "Le relevé est désormais « transmis ».")
    expect(employer.get_by_test_id("grid-row").get_by_test_id("readonly-hours")).to_have_text("151,67")
    statement = MonthlyStatement.objects.get(employer=company, month=month)
    assert statement.status == StatementStatus.SUBMITTED

    # 6. The member validates the statement, found in « Relevés d'heures ».
    staff.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Relevés d'heures"
    ).click()
    staff.get_by_test_id("row").filter(has_text=company.name).get_by_role(
        "link", name=f"{month:%m/%Y}"
    ).click()
    expect(staff.get_by_test_id("statement-hours")).to_have_text("151,67 h")
    staff.get_by_test_id("statement-actions").get_by_role("link", name="Valider le relevé").click()
    staff.get_by_role("button", name="Confirmer : valider le relevé").click()
    notice(staff, "Le relevé est désormais « validé ».")
    expect(staff.get_by_test_id("statement-counted")).to_have_text("151,67 h")
    shot(staff, "7-statement-validated")
    statement.refresh_from_db()
    assert statement.status == StatementStatus.VALIDATED
    record = HoursRecord.objects.get(contract=contract, month=month)
    assert (record.hours, record.training_hours, record.counted_hours) == (
        Decimal("151.67"),
        Decimal("7"),
        Decimal("151.67"),
    )
    # The company (from the proposal page it answered): 1 its space (« Mes obligations »), 2 its grid
    # (« Saisir les heures de <mois> »; the save is an htmx swap), 3 the confirmation of « Transmettre le
    # relevé », 4 the grid again. The member (from the contract page): 5 « Relevés d'heures », 6 the statement,
    # 7 the confirmation of « Valider le relevé », 8 the statement again. Minimal: 8; margin: 1.
    page_loads.check(9, "company: space → grid → send → grid; member: statements → statement → validate")

    # 7. The buyer reads its lot's and market's realised hours; no person is named anywhere on its pages.
    buyer = log_in(users["buyer"])
    expect(buyer.get_by_test_id("buyer-realised")).to_contain_text("151,67 h")
    lot_row = buyer.get_by_test_id("lot-row").filter(has_text=f"{world['market'].reference} — lot 2")
    expect(lot_row.get_by_test_id("lot-realised")).to_have_text("151,67 h")
    shot(buyer, "8-buyer-space")
    pages = [buyer.locator("body").inner_text()]
    buyer.get_by_test_id("markets").get_by_role("link", name=re.compile(world["market"].reference)).click()
    # The market page rounds to the hour: realised / planned.
    expect(buyer.locator("main")).to_contain_text(re.compile(r"Heures réalisées / prévues\s*151,67 / 833 h"))
    pages.append(buyer.locator("body").inner_text())
    shot(buyer, "9-buyer-market")
    for text in pages:
        for name in (FIRST, LAST, LAST.upper(), "ysaline.querou"):
            assert name not in text, name
