"""Reference tables, communes and QPV are visible in the admin, and read-only there."""

import pytest
from django.contrib import admin
from django.urls import reverse

from clausier.geo.models import Commune, Qpv
from clausier.organizations.models import User
from clausier.reference.loader import REFERENCE_FILES
from clausier.reference.models import LegalBasis

pytestmark = pytest.mark.django_db

READ_ONLY_MODELS = [*REFERENCE_FILES.values(), Commune, Qpv]


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser(
        username="admin@example.org", email="admin@example.org", password="x"
    )
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m.__name__)
def test_changelist_renders_and_offers_no_add(admin_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = admin_client.get(url)

    assert response.status_code == 200
    model_admin = admin.site._registry[model]
    request = response.wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_legal_basis_page_shows_the_mapping(admin_client):
    basis = LegalBasis.objects.get(code="cmp2006_14")

    response = admin_client.get(reverse("admin:reference_legalbasis_change", args=[basis.pk]))

    assert response.status_code == 200
    assert "Art. 38 (Ordonnance 2015-899)" in response.content.decode()


def test_commune_page(admin_client):
    Commune.objects.create(
        insee_code="31555", name="Toulouse", department_code="31", postal_codes="31000 31100"
    )

    response = admin_client.get(reverse("admin:geo_commune_change", args=["31555"]))

    assert response.status_code == 200
    assert "31000 31100" in response.content.decode()
