"""Organization constraints, checked by the database itself (SQLite and PostgreSQL)."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from clausier.organizations.models import Buyer, Company, Organization, OrganizationKind, Partnership
from tests.factories import BuyerFactory, CompanyFactory, FacilitatorFactory, PrescriberFactory

pytestmark = pytest.mark.django_db


def test_siret_is_unique_per_kind():
    CompanyFactory(siret="12345678900012")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(kind=OrganizationKind.COMPANY, name="Doublon", siret="12345678900012")


def test_same_siret_allowed_for_two_kinds():
    company = CompanyFactory(siret="12345678900012")
    # A GEIQ created by a company, or a commune's régie: same legal entity, two roles.
    buyer = BuyerFactory(siret=company.siret)
    assert {o.kind for o in Organization.objects.filter(siret="12345678900012")} == {"company", "buyer"}
    assert buyer.pk != company.pk


def test_blank_siret_never_clashes():
    PrescriberFactory(siret="")
    PrescriberFactory(siret="")
    assert Organization.objects.filter(kind=OrganizationKind.PRESCRIBER, siret="").count() == 2


def test_proxy_managers_filter_and_create_their_kind():
    BuyerFactory()
    CompanyFactory()
    assert set(Buyer.objects.values_list("kind", flat=True)) == {"buyer"}
    assert Company.objects.create(name="Créée par le proxy").kind == "company"


def test_slug_is_generated_and_unique():
    first = CompanyFactory(name="Bâtiment du Sud", slug="")
    second = CompanyFactory(name="Bâtiment du Sud", slug="")
    assert first.slug == "batiment-du-sud"
    assert second.slug == "batiment-du-sud-2"


def test_partnership_is_unique_and_dated_in_order():
    facilitator, buyer = FacilitatorFactory(), BuyerFactory()
    Partnership.objects.create(facilitator=facilitator, partner=buyer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Partnership.objects.create(facilitator=facilitator, partner=buyer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Partnership.objects.create(
            facilitator=facilitator,
            partner=BuyerFactory(),
            start_date=datetime.date(2024, 1, 1),
            end_date=datetime.date(2023, 12, 31),
        )


def test_partner_of_creates_the_partnership():
    facilitator = FacilitatorFactory()
    company = CompanyFactory(partner_of=facilitator)
    assert list(Organization.objects.partners_of(facilitator)) == [company]
