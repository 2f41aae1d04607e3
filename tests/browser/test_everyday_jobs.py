"""Everyday jobs walked through the screens only (one `goto`: the login page), each with a page-load budget.

Each test counts the main-frame document loads of its browser (`page_loads`, tests/browser/conftest.py: a
followed link or a posted form and its redirect is one load; an htmx swap or a download is none) and fails
above the budget written next to the path it walks: the minimal number of loads of that path, plus a small
margin. A screen that grows a step (an extra confirmation, a redirect to the wrong page, a missing link that
forces a detour) makes the job slower for its users and shows here first.

1. the facilitator sets a market up from the dashboard and follows a month of hours to the lot's figures;
2. a buyer downloads its bilan as a PDF, which is read back;
3. the facilitator imports participants from the participants list.

(The company's month, declared and sent, then validated: tests/browser/test_partner_walk.py, steps 5–6.)
"""

import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from clausier.employment.models import Contract, HoursRecord, MonthlyStatement, StatementStatus
from clausier.employment.queries import previous_month
from clausier.imports.kinds import KINDS
from clausier.participants.models import Participant, QpvResidence
from clausier.participants.profiles import refresh_facilitator_profiles
from clausier.procurement.models import Award, Clause, Lot, Market
from clausier.reference.models import QualificationLevel
from clausier.utils.dates import month_label
from tests.factories import (
    PASSWORD,
    BuyerFactory,
    ClauseFactory,
    CommuneFactory,
    CompanyFactory,
    ContractFactory,
    EligibilityAssessmentFactory,
    FacilitatorFactory,
    HoursRecordFactory,
    LotFactory,
    MarketFactory,
    ParticipantFactory,
    UserFactory,
    add_months,
    ref,
)
from tests.pdf import pdf_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def d(day: datetime.date) -> str:
    return f"{day:%d/%m/%Y}"


def fill_date(box, day: datetime.date):
    """A date typed as the field asks: the calendar input (`type="date"`) takes ISO, a text one dd/mm/yyyy."""
    box.fill(day.isoformat() if box.get_attribute("type") == "date" else d(day))
    expect(box).not_to_have_value("")


def choose(select, text):
    """Choose the option of `select` whose label contains `text` (as one types its first letters)."""
    options = [o.strip() for o in select.locator("option").all_text_contents()]
    matching = [o for o in options if text.lower() in o.lower()]
    assert len(matching) == 1, (text, options)
    select.select_option(label=matching[0])


def field(scope, label):
    """The form field whose label starts with `label` (labels add « * » and a hint)."""
    return scope.get_by_label(re.compile(r"^\s*" + re.escape(label)))


def notice(page, text):
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"job-{name}.png"), full_page=True)


def menu(page, section, item=None):
    """Open an entry of the main menu as a person does: the section's button unfolds it, then its link (a
    section with one entry is a plain link)."""
    nav = page.get_by_role("navigation", name="Menu principal")
    if item is not None:
        nav.get_by_role("button", name=section, exact=True).click()
    link = nav.get_by_role("link", name=item or section, exact=True)
    path = link.get_attribute("href")
    link.click()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+" + re.escape(path) + r"([?#]|$)"))


@pytest.fixture
def sign_in(browser, live_server, page_loads):
    """`sign_in(user)`: a page of a new browser context, its loads counted from the login page (the only
    typed URL of a job), logged in."""
    contexts = []

    def open_session(user):
        context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = page_loads.watch(context.new_page())
        page.goto(f"{live_server.url}/connexion/")
        page.get_by_label(re.compile("e-mail", re.I)).fill(user.email)
        page.get_by_label(re.compile("mot de passe", re.I)).fill(PASSWORD)
        page.get_by_role("button", name=re.compile("connecter", re.I)).click()
        expect(page).not_to_have_url(re.compile("/connexion/"))
        return page

    yield open_session
    for context in contexts:
        context.close()


# --- 1. The facilitator: a market set up, a month of hours followed to the lot's figures -----------------------


def figure(page, testid) -> str:
    return page.get_by_test_id(testid).text_content().strip()


def test_facilitator_sets_up_a_market_and_follows_a_month_of_hours(sign_in, page_loads):
    call_command("load_reference", verbosity=0, stdout=io.StringIO())
    today = timezone.localdate()
    month = previous_month(today)  # the month of hours entered: the last complete one
    start = month  # the market starts that month…
    end = add_months(today.replace(day=1), 6) - datetime.timedelta(days=1)  # …and ends in 6 months
    facilitator = FacilitatorFactory(name="Cellule clause Garonne")
    staff = UserFactory(email="camille@garonne.example", member_of=facilitator)
    buyer = BuyerFactory(partner_of=facilitator, name="Commune de Colomiers")
    company = CompanyFactory(partner_of=facilitator, name="Bâtiments du Sud", siret="73282932000074")
    CompanyFactory(partner_of=facilitator, name="Peintures de l'Hers")  # another partner, not chosen
    person = ParticipantFactory(facilitator=facilitator, first_name="Inès", last_name="Garnier")
    EligibilityAssessmentFactory(participant=person, assessed_on=month - datetime.timedelta(days=20))
    label = month_label(month)

    page = sign_in(staff)
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Marchés → the list → its create button.
    menu(page, "Marchés", "Marchés")
    page.locator("main").get_by_role("link", name="Nouveau marché", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouveau marché")
    form = page.locator("main form")
    field(form, "Numéro").fill("2026-CO-031")
    field(form, "Objet").fill("Extension de l'école Jules-Ferry")
    field(form, "Donneur d'ordre").select_option(label=buyer.name)
    fill_date(field(form, "Notifié le"), start - datetime.timedelta(days=15))
    fill_date(field(form, "Début d'exécution"), start)
    fill_date(field(form, "Fin d'exécution"), end)
    field(form, "Montant HT").fill("1 200 000")
    form.get_by_role("button").first.click()
    notice(page, "Le marché a été enregistré.")
    market = Market.objects.get(reference="2026-CO-031")
    assert (market.buyer, market.start_date, market.end_date) == (buyer, start, end)

    page.get_by_role("link", name="Ajouter un lot").click()
    form = page.locator("main form")
    field(form, "Numéro").fill("1")
    field(form, "Intitulé").fill("Gros œuvre")
    choose(field(form, "Famille de lot"), "Gros")
    field(form, "Montant HT").fill("800 000")
    form.get_by_role("button").first.click()
    notice(page, "Le lot a été enregistré.")
    lot = Lot.objects.get(market=market)
    expect(page.get_by_role("heading", level=1)).to_have_text("Lot 1 — Gros œuvre")

    # The clause: a fixed number of hours (the mode's fields are swapped in by htmx, no page load).
    page.get_by_role("link", name="Définir la clause").click()
    form = page.locator("main form")
    form.get_by_text("Nombre d'heures fixé").click()
    field(form, "Nombre d'heures d'insertion").fill("1 000")
    shot(page, "1-clause")
    form.get_by_role("button", name=re.compile("Enregistrer")).last.click()
    notice(page, "La clause a été enregistrée.")
    clause = Clause.objects.get(lot=lot)
    assert (clause.method, clause.hours_target) == (Clause.Method.FIXED, Decimal("1000"))
    # Before any hours: nothing realised, and the pace of the last complete month (0 h) projects nothing.
    expect(page.get_by_test_id("followup-target")).to_have_text("1 000 h")
    before = {key: figure(page, f"followup-{key}") for key in ("realised", "projection", "status")}
    assert before == {"realised": "0 h", "projection": "0 h", "status": "En retard"}, before

    # The award: « Ajouter un attributaire », a partner company chosen by name.
    page.get_by_role("link", name="Ajouter un attributaire").click()
    form = page.locator("main form")
    choose(field(form, "Entreprise partenaire"), company.name)
    form.get_by_role("button").first.click()
    notice(page, "L'attributaire a été enregistré.")
    assert Award.objects.get(lot=lot).company == company

    # The participant placed on the lot from its page.
    page.get_by_role("link", name="Placer un participant").click()
    form = page.locator("main form")
    choose(field(form, "Participant"), "GARNIER")
    field(form, "Entreprise attributaire").select_option(label=company.name)
    choose(field(form, "Modalité"), "Embauche directe")
    field(form, "Type de contrat").select_option(label="CDD")
    fill_date(field(form, "Date de début"), start)
    fill_date(field(form, "Date de fin"), end)
    field(form, "Durée hebdomadaire").fill("35")
    form.get_by_role("button").first.click()
    notice(page, "Le contrat a été enregistré.")
    contract = Contract.objects.get(lot=lot)

    # The placement lands back on the lot, the contract listed; its grid, one month of hours saved (htmx).
    expect(page.locator("#contrats")).to_contain_text("Contrats (1)")
    page.get_by_role("link", name="Saisir les heures du mois").click()
    page.get_by_label(f"Heures travaillées de {person} en {label}").fill("151,67")
    page.get_by_label(f"Dont heures de formation de {person} en {label}").fill("14")
    page.get_by_role("button", name=f"Enregistrer les heures de {label}").click()
    expect(page.get_by_test_id("grid-notice")).to_contain_text(f"Heures de {label} enregistrées")
    statement = page.get_by_test_id("grid-statement").filter(has_text=f"Relevé de {company.name}")
    shot(page, "1-grid")
    statement.get_by_role("link", name=re.compile("Valider le relevé")).click()
    page.get_by_role("button", name="Confirmer : valider le relevé").click()
    notice(page, "Le relevé est désormais « validé ».")
    expect(page.get_by_test_id("grid-statement")).to_contain_text("Validé")
    assert MonthlyStatement.objects.get(employer=company, month=month).status == StatementStatus.VALIDATED
    record = HoursRecord.objects.get(contract=contract, month=month)
    assert (record.hours, record.training_hours, record.counted_hours) == (
        Decimal("151.67"),
        Decimal("14"),
        Decimal("151.67"),
    )

    # The breadcrumb back to the lot: its figures moved.
    page.get_by_role("navigation", name=re.compile("fil d'Ariane|vous êtes ici", re.I)).get_by_role(
        "link", name="Lot 1"
    ).click()
    # Realised: the validated month. Projection: the pace of the last complete months since the start (one
    # month, 151,67 h) over the months left to the end (this one and the 5 after: 6), plus the realised —
    # 151,67 × 7 = 1 061,69, rounded to the hour.
    after = {key: figure(page, f"followup-{key}") for key in ("realised", "projection", "status")}
    assert after == {"realised": "151,67 h", "projection": "1 062 h", "status": "En bonne voie"}, after
    shot(page, "1-lot-after")

    # From the login page to the lot's figures:
    #  1 login page, 2 dashboard (after the login POST), 3 market list, 4 new market form, 5 market page,
    #  6 new lot form, 7 lot page, 8 clause form, 9 lot page, 10 award form, 11 lot page, 12 placement form,
    #  13 lot page (where the placement lands), 14 lot grid, 15 confirmation of the validation, 16 grid
    #  (back), 17 lot page (breadcrumb). Minimal: 17; margin: 1 (a re-shown form).
    page_loads.check(18, "facilitator: market → lot → clause → award → placement → hours → validation → lot")


# --- 2. A buyer's bilan as a PDF, downloaded and read back ------------------------------------------------------


@pytest.fixture
def buyer_world():
    """A buyer's market with two lots (clauses of 500 h and 300 h), six people on seven contracts (one works
    on both lots), one month each of validated hours, one draft month that does not count yet; and another
    buyer's contract, which the bilan leaves out. Five people reside in a QPV: three by their geocoded
    address, two by the « résident QPV » criterion of their eligibility (their address does not tell)."""
    facilitator = FacilitatorFactory(name="Cellule clause Garonne")
    buyer = BuyerFactory(partner_of=facilitator, name="Commune de Colomiers")
    company = CompanyFactory(partner_of=facilitator, name="Bâtiments du Sud")
    market = MarketFactory(facilitator=facilitator, buyer=buyer, reference="2024-CO-007")
    lots = [LotFactory(market=market, number=str(n)) for n in (1, 2)]
    ClauseFactory(lot=lots[0], fixed=True, hours_target=Decimal("500"))
    ClauseFactory(lot=lots[1], fixed=True, hours_target=Decimal("300"))
    # Person → (address at entry, criteria of the eligibility); contracts: (person, lot, month of 2024, validated
    # hours). Hand count: 7 contracts, 6 people (Aline twice), in QPV: Aline, Bruno, Chloé by their address,
    # Driss and Emma by the criterion (address not located / no list of quartiers loaded); Fanny's address is
    # outside, which wins over her criterion. Hours: 120 + 100 + 140 + 80,5 + 60 + 35 + 100 = 635,5 h of
    # 500 + 300 = 800 h planned (79,4 %).
    people = {
        "Aline": (QpvResidence.INSIDE, ["deld"]),
        "Bruno": (QpvResidence.INSIDE, ["deld"]),
        "Chloé": (QpvResidence.INSIDE, ["deld", "qpv_resident"]),
        "Driss": (QpvResidence.UNLOCATED, ["deld", "qpv_resident"]),
        "Emma": (QpvResidence.NOT_LOADED, ["qpv_resident", "rsa"]),
        "Fanny": (QpvResidence.OUTSIDE, ["qpv_resident"]),
    }
    contracts = [
        ("Aline", 0, 2, "120"),
        ("Aline", 1, 3, "100"),
        ("Bruno", 0, 2, "140"),
        ("Chloé", 0, 3, "80.5"),
        ("Driss", 1, 4, "60"),
        ("Emma", 1, 4, "35"),
        ("Fanny", 0, 5, "100"),
    ]
    for first_name, (residence, criteria) in people.items():
        person = ParticipantFactory(facilitator=facilitator, first_name=first_name, last_name="Testard")
        EligibilityAssessmentFactory(
            participant=person, assessed_on=datetime.date(2024, 1, 8), criteria=criteria
        )
        Participant.objects.filter(pk=person.pk).update(qpv_status=residence)
        people[first_name] = person
    for first_name, lot, month, hours in contracts:
        contract = ContractFactory(
            lot=lots[lot],
            participant=people[first_name],
            company=company,
            start_date=datetime.date(2024, 2, 1),
        )
        HoursRecordFactory(contract=contract, month=datetime.date(2024, month, 1), hours=Decimal(hours))
    # Hours entered but not validated yet (a draft statement): they do not count.
    HoursRecordFactory(
        contract=contract,
        month=datetime.date(2024, 6, 1),
        hours=Decimal("90"),
        statement_status=StatementStatus.DRAFT,
    )
    # Another buyer's market: its people and hours are not this buyer's.
    other = ContractFactory(lot__market=MarketFactory(facilitator=facilitator), company=company)
    HoursRecordFactory(contract=other, month=datetime.date(2024, 3, 1), hours=Decimal("200"))
    refresh_facilitator_profiles(facilitator)
    return {"buyer": buyer, "user": UserFactory(email="hugo@colomiers.example", member_of=buyer)}


def test_a_buyer_downloads_its_bilan_as_a_pdf_and_reads_it(buyer_world, sign_in, page_loads):
    buyer = buyer_world["buyer"]
    page = sign_in(buyer_world["user"])
    menu(page, "Bilans")
    page.locator("main").get_by_role("link", name=buyer.name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bilan du donneur d'ordre {buyer.name}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    text = " ".join(pdf_text(Path(download.value.path()).read_bytes()).split())
    for expected in (
        f"Bilan du donneur d'ordre {buyer.name}",
        "Heures prévues 800",
        "Heures réalisées 635,5",  # validated statements only: not the draft's 90 h, not the other buyer's 200 h
        "Taux de réalisation 79,4 %",
        "Contrats 7",
        "Bénéficiaires (sans double compte) 6",
        "dont résidents d'un QPV 5",
        "QPV Réside en QPV 5",
    ):
        assert expected in text, (expected, text)
    assert "Testard" not in text and "TESTARD" not in text  # a buyer never reads a name

    # 1 login page, 2 the buyer's space, 3 « Bilans » (menu), 4 the buyer's bilan; the PDF is a download, not a
    # page. Minimal: 4; margin: 1. (The space's own « PDF » button would take 2.)
    page_loads.check(5, "buyer: space → Bilans → its bilan → PDF")


# --- 3. Participants imported from the participants list ---------------------------------------------------------

# Rows typed as a partner would, under titles of the blank template (`blank_template`, the participants kind).
IMPORTED = [
    {
        "Nom": "Lambert",
        "Prénom": "Yanis",
        "Date de naissance": datetime.date(1998, 4, 2),
        "Sexe": "H",
        "E-mail": "yanis.lambert@exemple.fr",
        "Code postal": "31100",
        "Commune": "Toulouse",
        "Niveau de qualification": "CAP",
        "Date d'entrée": datetime.date(2026, 10, 5),
    },
    {
        "Nom": "Mercier",
        "Prénom": "Léa",
        "Date de naissance": datetime.date(1987, 11, 23),
        "Sexe": "F",
        "E-mail": "",
        "Code postal": "31200",
        "Commune": "31555",
        "Niveau de qualification": "Bac",
        "Date d'entrée": datetime.date(2026, 11, 2),
    },
    {  # already known: the import adds her e-mail
        "Nom": "Roux",
        "Prénom": "Maëlle",
        "Date de naissance": datetime.date(1975, 6, 30),
        "Sexe": "F",
        "E-mail": "maelle.roux@exemple.fr",
        "Code postal": "",
        "Commune": "",
        "Niveau de qualification": "",
        "Date d'entrée": None,
    },
]


def participants_xlsx() -> bytes:
    titles = [field.label for field in KINDS["participants"].fields]
    header = list(IMPORTED[0])
    assert set(header) <= set(titles), set(header) - set(titles)  # the template's own titles
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True})
    sheet = workbook.add_worksheet("Participants")
    date = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, header)
    for line, row in enumerate(IMPORTED, start=1):
        for column, title in enumerate(header):
            value = row[title]
            if isinstance(value, datetime.date):
                sheet.write_datetime(line, column, datetime.datetime.combine(value, datetime.time()), date)
            elif value:
                sheet.write_string(line, column, value)
    workbook.close()
    return output.getvalue()


def test_staff_imports_participants_from_the_participants_list(sign_in, page_loads):
    facilitator = FacilitatorFactory(name="Cellule clause Garonne")
    staff = UserFactory(email="camille@garonne.example", member_of=facilitator)
    CommuneFactory()  # Toulouse, 31555
    for code in ("level3", "level4"):
        ref(QualificationLevel, code)
    known = ParticipantFactory(
        facilitator=facilitator, first_name="Maëlle", last_name="Roux", birth_date=datetime.date(1975, 6, 30)
    )

    page = sign_in(staff)
    menu(page, "Personnes", "Participants")
    page.locator("main").get_by_role("link", name="Importer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Importer un tableur")
    expect(field(page, "Type de fichier")).to_have_value("participants")  # chosen by the list's button
    field(page, "Fichier").set_input_files(
        files=[{"name": "participants-octobre.xlsx", "mimeType": XLSX, "buffer": participants_xlsx()}]
    )
    page.get_by_role("button", name="Lire le fichier").click()

    # The blank template's own titles: no column mapping, straight to the preview (which shows the mapping).
    expect(page.get_by_role("heading", level=1)).to_have_text("Import « participants-octobre.xlsx »")

    preview = page.get_by_test_id("import-preview")
    expect(preview.get_by_test_id("count-create")).to_have_text("2 ligne(s) à créer")
    expect(preview.get_by_test_id("count-update")).to_have_text("1 ligne(s) à mettre à jour")
    shot(page, "3-preview")
    # Nothing is written before the commit.
    assert Participant.objects.filter(facilitator=facilitator).count() == 1
    preview.get_by_role("button", name="Importer").click()
    expect(page.get_by_test_id("import-done")).to_contain_text(
        "2 ligne(s) créée(s), 1 mise(s) à jour, 0 inchangée(s)."
    )

    people = {p.last_name: p for p in Participant.objects.filter(facilitator=facilitator)}
    assert sorted(people) == ["Lambert", "Mercier", "Roux"]
    yanis, lea = people["Lambert"], people["Mercier"]
    assert (yanis.first_name, yanis.birth_date, yanis.sex, yanis.email) == (
        "Yanis",
        datetime.date(1998, 4, 2),
        "M",
        "yanis.lambert@exemple.fr",
    )
    assert (yanis.commune.insee_code, yanis.qualification_level.code, yanis.entry_date) == (
        "31555",
        "level3",
        datetime.date(2026, 10, 5),
    )
    assert (lea.commune.name, lea.qualification_level.code, lea.postal_code) == (
        "Toulouse",
        "level4",
        "31200",
    )
    known.refresh_from_db()
    assert known.email == "maelle.roux@exemple.fr"

    # The end of the import leads to the list it filled, which shows them.
    page.get_by_test_id("import-filled-list").click()
    rows = page.get_by_test_id("row")
    expect(rows).to_have_count(3)
    for shown, born in (
        ("LAMBERT Yanis", "02/04/1998"),
        ("MERCIER Léa", "23/11/1987"),
        ("ROUX Maëlle", "30/06/1975"),
    ):
        expect(rows.filter(has_text=shown)).to_contain_text(born)
    shot(page, "3-list")

    # 1 login page, 2 dashboard, 3 participants list, 4 import form (its type chosen), 5 preview (after the
    # upload: the template's titles need no mapping), 6 the import done (after the commit), 7 participants list
    # (its link). Minimal: 7; margin: 1.
    page_loads.check(8, "staff: Participants → Importer → preview → commit → Participants")
