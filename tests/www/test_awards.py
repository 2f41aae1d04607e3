"""Awards from the lot's page: a partner company or one created with its SIRET (checked), its role, date and
amount; changed and removed with an audit entry; never a row written on a rejected form."""

from decimal import Decimal

import pytest
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.imports.values import siret_luhn_ok
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.procurement.models import Award
from tests.factories import ClauseFactory, CompanyFactory, ContractFactory, LotFactory

pytestmark = pytest.mark.django_db


def valid_siret(first13: str) -> str:
    """The SIRET whose Luhn key completes `first13`."""
    siret = next(first13 + str(key) for key in range(10) if siret_luhn_ok(first13 + str(key)))
    assert not siret_luhn_ok(siret[:-1] + str((int(siret[-1]) + 1) % 10))  # one wrong digit is caught
    return siret


@pytest.fixture
def staff(world_a, client_for):
    return client_for(world_a.users["facilitator_member"])


def add_url(lot):
    return reverse("www:award_create", kwargs={"uuid": lot.uuid})


def test_the_lot_page_leads_the_staff_to_add_change_and_remove_awards(world_a, staff, client_for):
    lot, award = world_a.objects["lot"], world_a.objects["award"]
    url = reverse("www:lot_detail", kwargs={"uuid": lot.uuid})

    html = staff.get(url).content.decode()

    assert f'href="{add_url(lot)}"' in html
    assert f'href="{reverse("www:award_edit", kwargs={"uuid": award.uuid})}"' in html
    assert f'href="{reverse("www:award_remove", kwargs={"uuid": award.uuid})}"' in html
    company_view = client_for(world_a.users["company"]).get(url).content.decode()
    assert world_a.orgs["company"].name in company_view and add_url(lot) not in company_view


def test_a_partner_company_is_awarded_with_role_date_and_amount(world_a, staff, client_for):
    lot = LotFactory(market=world_a.objects["market"], title="Voirie attribuée depuis sa page")
    ClauseFactory(lot=lot)
    company = world_a.orgs["other_company"]

    response = staff.post(
        add_url(lot),
        {"company": str(company.uuid), "role": "co", "awarded_on": "15/03/2024", "amount_ht": "250 000,50"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("www:lot_detail", kwargs={"uuid": lot.uuid}) + "#attributaires"
    award = Award.objects.get(lot=lot, company=company)
    assert (award.role, str(award.awarded_on), award.amount_ht) == ("co", "2024-03-15", Decimal("250000.50"))
    assert AuditEntry.objects.filter(action=Action.CREATE, object_type="procurement.award").count() >= 1
    page = staff.get(response["Location"]).content.decode()
    assert company.name in page and "Co-traitant" in page and "250 000,50 €" in page
    # The company's space follows: the lot is among its obligations.
    space = client_for(world_a.users["other_company"]).get(reverse("www:dashboard")).content.decode()
    assert lot.title in space


def test_a_new_company_is_created_with_its_siret_and_made_a_partner(world_a, staff):
    lot, siret = world_a.objects["lot"], valid_siret("4412345678901")

    response = staff.post(
        add_url(lot),
        {
            "new_siret": " ".join([siret[:3], siret[3:6], siret[6:9], siret[9:]]),
            "new_name": "Maçonnerie Occitane",
            "role": "sub",
        },
    )

    assert response.status_code == 302
    company = Organization.objects.get(kind=OrganizationKind.COMPANY, siret=siret)
    assert company.name == "Maçonnerie Occitane"
    assert Partnership.objects.filter(facilitator=world_a.facilitator, partner=company).exists()
    assert Award.objects.get(lot=lot, company=company).role == "sub"


def test_a_siret_already_known_is_that_company_not_a_new_one(world_a, world_b, staff):
    lot = world_a.objects["lot"]
    partner = world_a.orgs["other_company"]
    partner.siret = valid_siret("5512345678901")
    partner.save()
    elsewhere = CompanyFactory(partner_of=world_b.facilitator, siret=valid_siret("6612345678901"))
    companies = Organization.objects.filter(kind=OrganizationKind.COMPANY).count()

    staff.post(add_url(lot), {"new_siret": partner.siret, "role": "co"})
    staff.post(add_url(lot), {"new_siret": elsewhere.siret, "new_name": "Nom tapé", "role": "sub"})

    assert Organization.objects.filter(kind=OrganizationKind.COMPANY).count() == companies
    assert Award.objects.filter(lot=lot, company=partner, role="co").exists()
    assert Award.objects.filter(lot=lot, company=elsewhere, role="sub").exists()
    elsewhere.refresh_from_db()
    assert elsewhere.name != "Nom tapé"  # a company known on the platform keeps its values
    assert Partnership.objects.filter(facilitator=world_a.facilitator, partner=elsewhere).exists()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"new_siret": "44123456789010", "new_name": "X", "role": "holder"}, "new_siret", "clé de contrôle"),
        ({"new_siret": "4412", "new_name": "X", "role": "holder"}, "new_siret", "14 chiffres"),
        ({"new_name": "Sans SIRET", "role": "holder"}, "new_siret", "SIRET de la nouvelle entreprise"),
        ({"role": "holder"}, "company", "Choisissez l'entreprise attributaire"),
        ({"new_siret": "VALID", "role": "holder"}, "new_name", "indiquez sa raison sociale"),
        ({"company": "COMPANY", "role": "holder"}, "role", "déjà titulaire de ce lot"),
        ({"company": "COMPANY", "new_name": "Autre", "role": "co"}, None, "pas les deux"),
        ({"company": "COMPANY", "role": "co", "amount_ht": "-3"}, "amount_ht", "supérieure ou égale à 0"),
        ({"company": "COMPANY", "role": "co", "awarded_on": "31/02/2024"}, "awarded_on", "date"),
        ({"company": "COMPANY", "role": "chef"}, "role", "Sélectionnez un choix valide"),
    ],
)
def test_a_rejected_award_writes_nothing_and_keeps_the_input(world_a, staff, payload, field, message):
    lot = world_a.objects["lot"]
    payload = {
        key: {"COMPANY": str(world_a.orgs["company"].uuid), "VALID": valid_siret("7712345678901")}.get(v, v)
        for key, v in payload.items()
    }
    awards, organizations, entries = (
        Award.objects.count(),
        Organization.objects.count(),
        AuditEntry.objects.count(),
    )

    response = staff.post(add_url(lot), payload)

    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field if field else "__all__", [])
    assert any(message in error for error in errors), form.errors
    assert (Award.objects.count(), Organization.objects.count()) == (awards, organizations)
    assert AuditEntry.objects.count() == entries
    html = response.content.decode()
    for key, value in payload.items():
        if key not in ("company", "role"):
            assert f'value="{value}"' in html


def test_an_award_is_changed_and_audited(world_a, staff):
    award = world_a.objects["award"]

    response = staff.post(
        reverse("www:award_edit", kwargs={"uuid": award.uuid}),
        {"role": "lead", "awarded_on": "02/01/2024", "amount_ht": "1 500,5"},
    )

    assert response.status_code == 302
    award.refresh_from_db()
    assert (award.role, str(award.awarded_on), award.amount_ht) == ("lead", "2024-01-02", Decimal("1500.50"))
    entry = AuditEntry.objects.filter(action=Action.UPDATE, object_id=str(award.uuid)).latest("pk")
    assert entry.changes["role"] == ["holder", "lead"]


def test_an_award_holding_contracts_is_not_removed(world_a, staff):
    award = world_a.objects["award"]  # the company's contract on the lot rests on it
    url = reverse("www:award_remove", kwargs={"uuid": award.uuid})

    page = staff.get(url).content.decode()
    response = staff.post(url, follow=True)

    assert "ne peut pas être retirée" in page and "<form" not in page.split("<main")[-1]
    assert Award.objects.filter(pk=award.pk).exists()
    assert "ne peut pas être retirée" in response.content.decode()


def test_an_award_without_contract_is_removed_with_an_audit_entry(world_a, staff):
    lot = world_a.objects["lot"]
    company = CompanyFactory(partner_of=world_a.facilitator)
    award = Award.objects.create(facilitator=world_a.facilitator, lot=lot, company=company, role="sub")
    url = reverse("www:award_remove", kwargs={"uuid": award.uuid})

    assert "Retirer l'attribution" in staff.get(url).content.decode()
    response = staff.post(url)

    assert response.status_code == 302 and not Award.objects.filter(pk=award.pk).exists()
    entry = AuditEntry.objects.get(
        action=Action.DELETE, object_type="procurement.award", object_id=str(award.uuid)
    )
    assert entry.changes["company_id"] == [company.pk, None]
    assert Organization.objects.filter(pk=company.pk).exists()  # it stays a partner


def test_a_second_role_keeps_the_contracts_valid_so_the_first_may_go(world_a, staff):
    lot, company = world_a.objects["lot"], world_a.orgs["company"]
    ContractFactory(lot=lot, company=company, employer=company)
    Award.objects.create(facilitator=world_a.facilitator, lot=lot, company=company, role="lead")
    holder = Award.objects.get(lot=lot, company=company, role="holder")

    staff.post(reverse("www:award_remove", kwargs={"uuid": holder.uuid}))

    assert list(Award.objects.filter(lot=lot, company=company).values_list("role", flat=True)) == ["lead"]


def test_another_facilitators_staff_cannot_award_this_lot(world_a, world_b, client_for):
    outsider = client_for(world_b.users["facilitator_member"])
    lot = world_a.objects["lot"]

    response = outsider.post(add_url(lot), {"company": str(world_b.orgs["company"].uuid), "role": "co"})

    assert response.status_code == 404
    assert not Award.objects.filter(lot=lot, company=world_b.orgs["company"]).exists()


def test_the_company_choice_offers_only_this_facilitators_partners(world_a, world_b, staff):
    html = staff.get(add_url(world_a.objects["lot"])).content.decode()

    assert world_a.orgs["company"].name in html and world_b.orgs["company"].name not in html
