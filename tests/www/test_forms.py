"""Create/edit forms: valid input saves through the actions, invalid input saves nothing and says why in
French, choices of another facilitator are rejected, only facilitator staff may write."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clausier.audit.models import AuditEntry
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.procurement.models import Clause, Lot, Market, Operation
from clausier.reference.models import LegalBasis, LotFamily
from clausier.www.kit.fields import RateField
from tests.factories import LotFactory, ref

pytestmark = pytest.mark.django_db


def errors_of(response):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "rien n'a été enregistré" in html
    return html


# --- Buyers ------------------------------------------------------------------------------------------------


def test_create_buyer(world_a, facilitator_member_client):
    response = facilitator_member_client.post(
        reverse("www:buyer_create"),
        {
            "name": "Ville de Blagnac",
            "siret": "213 100 694 00011",
            "category": "commune",
            "agreement_start": "01/02/2024",
        },
    )
    buyer = Organization.objects.get(name="Ville de Blagnac")
    assert response.status_code == 302 and response["Location"] == reverse(
        "www:buyer_detail", kwargs={"uuid": buyer.uuid}
    )
    assert buyer.kind == OrganizationKind.BUYER and buyer.siret == "21310069400011"
    link = Partnership.objects.get(facilitator=world_a.facilitator, partner=buyer)
    assert str(link.start_date) == "2024-02-01"
    assert AuditEntry.objects.filter(
        object_type="organizations.organization", object_id=str(buyer.uuid)
    ).exists()


def test_create_buyer_rejects_a_bad_siret_and_saves_nothing(world_a, facilitator_member_client):
    before = Organization.objects.count()
    response = facilitator_member_client.post(
        reverse("www:buyer_create"),
        {"name": "Ville de Colomiers", "siret": "1234", "agreement_start": "31/02/2024"},
    )
    html = errors_of(response)
    assert "Le SIRET doit compter exactement 14 chiffres." in html
    assert "Saisissez une date valide." in html
    assert 'value="Ville de Colomiers"' in html  # the user's input is kept
    assert Organization.objects.count() == before


def test_create_buyer_already_known_links_it(world_a, world_b, facilitator_member_client):
    known = world_b.orgs["buyer"]
    response = facilitator_member_client.post(
        reverse("www:buyer_create"), {"name": "Autre nom", "siret": known.siret}
    )
    assert response.status_code == 302
    assert Partnership.objects.filter(facilitator=world_a.facilitator, partner=known).exists()
    known.refresh_from_db()
    assert known.name != "Autre nom"


def test_edit_buyer(world_a, facilitator_member_client):
    buyer = world_a.orgs["buyer"]
    url = reverse("www:buyer_edit", kwargs={"uuid": buyer.uuid})
    assert facilitator_member_client.get(url).status_code == 200
    response = facilitator_member_client.post(
        url, {"name": "Nouveau nom", "siret": buyer.siret, "agreement_reference": "CF-2024"}
    )
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.name == "Nouveau nom"
    assert (
        Partnership.objects.get(facilitator=world_a.facilitator, partner=buyer).agreement_reference
        == "CF-2024"
    )


def test_cannot_edit_another_facilitators_buyer(world_b, facilitator_member_client):
    url = reverse("www:buyer_edit", kwargs={"uuid": world_b.orgs["buyer"].uuid})
    assert facilitator_member_client.get(url).status_code == 404
    assert facilitator_member_client.post(url, {"name": "Piratage"}).status_code == 404


# --- Operations and markets ---------------------------------------------------------------------------------


def test_create_operation(world_a, facilitator_member_client):
    response = facilitator_member_client.post(
        reverse("www:operation_create"),
        {
            "name": "NPNRU Bagatelle",
            "buyer": str(world_a.orgs["buyer"].uuid),
            "kind": "anru",
            "start_date": "01/09/2024",
        },
    )
    operation = Operation.objects.get(name="NPNRU Bagatelle")
    assert response.status_code == 302
    assert operation.facilitator == world_a.facilitator and str(operation.start_date) == "2024-09-01"


def test_create_market(world_a, facilitator_member_client):
    data = {
        "reference": "2024-TX-042",
        "title": "Groupe scolaire",
        "buyer": str(world_a.orgs["buyer"].uuid),
        "operation": str(world_a.objects["operation"].uuid),
        "family": "works",
        "procedure": "open",
        "notified_on": "15/03/2024",
        "amount_ht": "1 250 000,50 €",
    }
    response = facilitator_member_client.post(reverse("www:market_create"), data)
    market = Market.objects.get(reference="2024-TX-042")
    assert response.status_code == 302
    assert market.amount_ht == Decimal("1250000.50") and market.facilitator == world_a.facilitator


@pytest.mark.parametrize("field", ["buyer", "operation"])
def test_market_rejects_another_facilitators_choices(field, world_a, world_b, facilitator_member_client):
    data = {
        "reference": "2024-X",
        "title": "Tentative",
        "buyer": str(world_a.orgs["buyer"].uuid),
        "family": "works",
        "procedure": "open",
    }
    data[field] = str(world_b.orgs["buyer"].uuid if field == "buyer" else world_b.objects["operation"].uuid)
    before = Market.objects.count()
    html = errors_of(facilitator_member_client.post(reverse("www:market_create"), data))
    assert "Sélectionnez un choix valide" in html
    assert Market.objects.count() == before


def test_market_rejects_integer_ids_and_garbage(world_a, world_b, facilitator_member_client):
    for value in (str(world_b.orgs["buyer"].pk), "'; drop table", "00000000-0000-0000-0000-000000000000"):
        response = facilitator_member_client.post(
            reverse("www:market_create"),
            {
                "reference": "R",
                "title": "T",
                "buyer": value,
                "family": "works",
                "procedure": "open",
                "amount_ht": "abc",
            },
        )
        html = errors_of(response)
        assert "Saisissez un nombre." in html


def test_edit_market_keeps_input_on_error(world_a, facilitator_member_client):
    market = world_a.objects["market"]
    url = reverse("www:market_edit", kwargs={"uuid": market.uuid})
    assert facilitator_member_client.get(url).status_code == 200
    data = {
        "reference": market.reference,
        "title": "Nouvel objet",
        "buyer": str(market.buyer.uuid),
        "family": "works",
        "procedure": "open",
        "start_date": "01/06/2025",
        "end_date": "01/01/2025",
    }
    html = errors_of(facilitator_member_client.post(url, data))
    assert "La date de fin doit être postérieure" in html and 'value="Nouvel objet"' in html
    market.refresh_from_db()
    assert market.title != "Nouvel objet"
    data["end_date"] = "31/12/2026"
    assert facilitator_member_client.post(url, data).status_code == 302
    market.refresh_from_db()
    assert market.title == "Nouvel objet"


def test_duplicate_market_reference_is_a_form_error(world_a, facilitator_member_client):
    market = world_a.objects["market"]
    data = {
        "reference": market.reference,
        "title": "Doublon",
        "buyer": str(market.buyer.uuid),
        "family": "works",
        "procedure": "open",
    }
    html = errors_of(facilitator_member_client.post(reverse("www:market_create"), data))
    assert "déjà un marché portant ce numéro" in html


# --- Lots and clauses ---------------------------------------------------------------------------------------


def test_create_and_edit_lot(world_a, facilitator_member_client):
    market = world_a.objects["market"]
    response = facilitator_member_client.post(
        reverse("www:lot_create", kwargs={"uuid": market.uuid}),
        {
            "number": "7",
            "title": "Peinture",
            "family": "painting",
            "amount_ht": "200000",
            "start_date": "01/04/2024",
        },
    )
    lot = Lot.objects.get(market=market, number="7")
    assert response.status_code == 302 and lot.family.code == "painting"
    response = facilitator_member_client.post(
        reverse("www:lot_edit", kwargs={"uuid": lot.uuid}),
        {"number": "7", "title": "Peinture intérieure", "family": "painting"},
    )
    assert response.status_code == 302
    lot.refresh_from_db()
    assert lot.title == "Peinture intérieure" and lot.amount_ht is None


def test_lot_number_is_unique_in_the_market(world_a, facilitator_member_client):
    lot = world_a.objects["lot"]
    html = errors_of(
        facilitator_member_client.post(
            reverse("www:lot_create", kwargs={"uuid": lot.market.uuid}),
            {"number": lot.number, "title": "Doublon"},
        )
    )
    assert "déjà un lot portant ce numéro" in html


def test_clause_formula_computes_the_target(world_a, facilitator_member_client):
    lot = LotFactory(
        market=world_a.objects["market"],
        amount_ht=Decimal("1000000"),
        family=ref(LotFamily, "structural_works"),
    )
    basis = ref(LegalBasis, "ccp_l2112_2")
    response = facilitator_member_client.post(
        reverse("www:clause_edit", kwargs={"uuid": lot.uuid}),
        {"legal_basis": basis.code, "method": "formula", "insertion_rate": "5 %", "hourly_cost": "30"},
    )
    assert response.status_code == 302
    clause = Clause.objects.get(lot=lot)
    # 1,000,000 € × 50 % (family default) × 5 % ÷ 30 €/h = 833 h (domain.md §4)
    assert clause.hours_target == Decimal("833")
    assert clause.labour_share == Decimal("0.5") and clause.insertion_rate == Decimal("0.05")
    assert clause.amount_ht == Decimal("1000000")
    # Editing: a typed target overrides the computation.
    response = facilitator_member_client.post(
        reverse("www:clause_edit", kwargs={"uuid": lot.uuid}),
        {"legal_basis": basis.code, "method": "fixed", "hours_target": "1 000"},
    )
    assert response.status_code == 302
    clause.refresh_from_db()
    assert clause.hours_target == Decimal("1000") and clause.method == "fixed"


def test_clause_formula_without_parameters_says_what_is_missing(world_a, facilitator_member_client):
    lot = LotFactory(market=world_a.objects["market"], amount_ht=None, family=None)
    response = facilitator_member_client.post(
        reverse("www:clause_edit", kwargs={"uuid": lot.uuid}),
        {"legal_basis": ref(LegalBasis, "ccp_l2112_2").code, "method": "formula", "insertion_rate": "150 %"},
    )
    html = errors_of(response)
    assert "Le taux doit être compris entre 0 et 100 %." in html
    response = facilitator_member_client.post(
        reverse("www:clause_edit", kwargs={"uuid": lot.uuid}),
        {"legal_basis": ref(LegalBasis, "ccp_l2112_2").code, "method": "formula", "insertion_rate": "5"},
    )
    html = errors_of(response)
    assert "Nécessaire pour calculer les heures" in html
    assert not Clause.objects.filter(lot=lot).exists()


def test_clause_of_another_facilitators_lot_is_404(world_b, facilitator_member_client):
    url = reverse("www:clause_edit", kwargs={"uuid": world_b.objects["lot"].uuid})
    assert facilitator_member_client.get(url).status_code == 404
    assert facilitator_member_client.post(url, {"method": "fixed", "hours_target": "1"}).status_code == 404


@pytest.mark.parametrize(
    ("typed", "rate"),
    [
        ("50", "0.5"),
        ("50 %", "0.5"),
        ("5,5", "0.055"),
        ("5,5%", "0.055"),
        (" 12,25 % ", "0.1225"),
        ("100", "1"),
        ("0", "0"),
        # One reading only: the number is a percentage, even below 1 (these were fractions before).
        ("1", "0.01"),
        ("0,5", "0.005"),
    ],
)
def test_rates_typed_the_french_way(typed, rate):
    assert RateField(required=False).clean(typed) == Decimal(rate)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("100,5", "Le taux doit être compris entre 0 et 100 %."),
        ("-5", "Le taux doit être compris entre 0 et 100 %."),
        ("1e400", "Le taux doit être compris entre 0 et 100 %."),
        ("5,555", "Un pourcentage a au plus deux décimales, ex. : 5,25."),
        ("cinq", "Saisissez un pourcentage, ex. : 5 ou 5,5."),
        ("5 %%", "Saisissez un pourcentage, ex. : 5 ou 5,5."),
        ("NaN", "Saisissez un pourcentage, ex. : 5 ou 5,5."),
    ],
)
def test_rates_out_of_range_or_unreadable_are_refused_in_french(typed, message):
    with pytest.raises(ValidationError) as error:
        RateField(required=False).clean(typed)
    assert error.value.messages == [message]


@pytest.mark.parametrize(
    ("stored", "shown"), [("0.05", "5"), ("0.0550", "5,5"), ("0.1225", "12,25"), ("1", "100")]
)
def test_rates_are_shown_as_percentages_with_a_comma(stored, shown):
    field = RateField(label="Taux d'insertion")
    assert field.prepare_value(Decimal(stored)) == shown
    assert field.label == "Taux d'insertion (%)"
    html = field.widget.render("rate", field.prepare_value(Decimal(stored)))
    assert (
        f'value="{shown}"' in html and '<span class="cl-suffixed__unit" aria-hidden="true">%</span>' in html
    )


# --- Market form: DSFR date inputs, acronyms explained ---------------------------------------------------


def test_market_dates_are_dsfr_date_inputs_reading_iso_and_french_dates(world_a, facilitator_member_client):
    market = world_a.objects["market"]
    url = reverse("www:market_edit", kwargs={"uuid": market.uuid})
    page = facilitator_member_client.get(url).content.decode()
    assert f'type="date" name="notified_on" value="{market.notified_on.isoformat()}" class="fr-input"' in page
    assert "Format attendu" not in page
    data = {
        "reference": market.reference,
        "title": market.title,
        "buyer": str(market.buyer.uuid),
        "family": "works",
        "procedure": "open",
        "notified_on": "2024-03-15",  # what a type="date" input posts
        "start_date": "01/04/2024",  # typed by hand, the French way
        "version": market.version,
    }
    assert facilitator_member_client.post(url, data).status_code == 302
    market.refresh_from_db()
    assert (market.notified_on, market.start_date) == (datetime.date(2024, 3, 15), datetime.date(2024, 4, 1))


def test_a_rejected_market_form_shows_the_typed_dates_back(world_a, facilitator_member_client):
    market = world_a.objects["market"]
    data = {
        "reference": market.reference,
        "title": market.title,
        "buyer": str(market.buyer.uuid),
        "family": "works",
        "procedure": "open",
        "start_date": "01/06/2025",
        "end_date": "31/02/2025",
    }
    html = errors_of(
        facilitator_member_client.post(reverse("www:market_edit", kwargs={"uuid": market.uuid}), data)
    )
    assert "Saisissez une date valide." in html
    # A French date is shown in ISO, so that the date input shows it; an impossible one is left as typed.
    assert 'name="start_date" value="2025-06-01"' in html and 'name="end_date" value="31/02/2025"' in html


def test_the_market_form_explains_its_acronyms(world_a, facilitator_member_client):
    page = facilitator_member_client.get(reverse("www:market_create")).content.decode()
    assert "Considération sociale (DECP)" in page
    assert "données essentielles de la commande publique" in page
    assert "hors taxes (HT)" in page and "marché à procédure adaptée" in page


# --- Only facilitator staff write ---------------------------------------------------------------------------


def test_forms_are_404_for_partner_roles(
    world_a, buyer_client, company_client, structure_client, prescriber_client
):
    urls = [
        reverse("www:buyer_create"),
        reverse("www:operation_create"),
        reverse("www:market_create"),
        reverse("www:market_edit", kwargs={"uuid": world_a.objects["market"].uuid}),
        reverse("www:lot_create", kwargs={"uuid": world_a.objects["market"].uuid}),
        reverse("www:lot_edit", kwargs={"uuid": world_a.objects["lot"].uuid}),
        reverse("www:clause_edit", kwargs={"uuid": world_a.objects["lot"].uuid}),
        reverse("www:buyer_edit", kwargs={"uuid": world_a.orgs["buyer"].uuid}),
        reverse("www:operation_edit", kwargs={"uuid": world_a.objects["operation"].uuid}),
    ]
    for client in (buyer_client, company_client, structure_client, prescriber_client):
        for url in urls:
            assert client.get(url).status_code == 404, url
            assert client.post(url, {"name": "x"}).status_code == 404, url


def test_create_forms_render(facilitator_member_client, world_a):
    for url in (
        reverse("www:buyer_create"),
        reverse("www:operation_create"),
        reverse("www:market_create") + f"?buyer={world_a.orgs['buyer'].uuid}",
        reverse("www:lot_create", kwargs={"uuid": world_a.objects["market"].uuid}),
        reverse("www:clause_edit", kwargs={"uuid": world_a.objects["lot"].uuid}),
        reverse("www:operation_edit", kwargs={"uuid": world_a.objects["operation"].uuid}),
        reverse("www:lot_edit", kwargs={"uuid": world_a.objects["lot"].uuid}),
    ):
        response = facilitator_member_client.get(url)
        assert response.status_code == 200, url
        assert (
            'class="fr-input' in response.content.decode() or 'class="fr-select' in response.content.decode()
        )


def test_edit_forms_preselect_the_current_choices(world_a, facilitator_member_client):
    market = world_a.objects["market"]
    page = facilitator_member_client.get(
        reverse("www:market_edit", kwargs={"uuid": market.uuid})
    ).content.decode()
    assert f'<option value="{market.buyer.uuid}" selected>' in page
    assert f'<option value="{market.operation.uuid}" selected>' in page
    operation = world_a.objects["operation"]
    page = facilitator_member_client.get(
        reverse("www:operation_edit", kwargs={"uuid": operation.uuid})
    ).content.decode()
    assert f'<option value="{operation.buyer.uuid}" selected>' in page


def test_an_edit_records_its_before_and_after_values(world_a, facilitator_member_client):
    from clausier.audit.models import Action, AuditEntry

    operation = world_a.objects["operation"]
    response = facilitator_member_client.post(
        reverse("www:operation_edit", kwargs={"uuid": operation.uuid}),
        {
            "name": "Nouveau nom",
            "buyer": str(operation.buyer.uuid),
            "kind": operation.kind,
            "version": operation.version,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.filter(action=Action.UPDATE, object_id=str(operation.uuid)).latest("at")
    assert entry.changes["name"] == [operation.name, "Nouveau nom"]
