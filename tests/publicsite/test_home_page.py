"""`/`: the public home page for a visitor who is not signed in (what Clausier is, the cellules' public sites or,
with a single cellule, its figures — those of its public page —, the sign-in button); the dashboard for a
signed-in user, as before."""

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import FacilitatorFactory, FacilitatorSettingsFactory, UserFactory

pytestmark = pytest.mark.django_db

FIGURES = ("buyers", "hours", "contracts", "participants")


def figures_of(html: str) -> dict:
    found = {}
    for name in FIGURES:
        match = re.search(rf'data-testid="figure-{name}"[^>]*>([^<]*)<', html)
        found[name] = match and match.group(1).strip()
    return found


def public_site_links(html: str) -> list[str]:
    return re.findall(r'href="(/cellules/[^"/]+/)"', html)


def test_a_visitor_gets_the_presentation_the_public_sites_and_the_sign_in_button(client):
    toulouse = FacilitatorFactory(
        name="Cellule de Toulouse", slug="toulouse", email="equipe@toulouse.example"
    )
    FacilitatorSettingsFactory(facilitator=toulouse, territory_label="Toulouse Métropole")
    FacilitatorFactory(name="Cellule d'Albi", slug="albi")  # no settings row: no territory
    FacilitatorFactory(name="Cellule fermée", slug="fermee", is_active=False)  # no public site

    response = client.get("/")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "publicsite/welcome.html"
    html = unescape(response.content.decode())
    presentation = html.split('data-testid="presentation"')[1].split("</p>")[0]
    assert "clauses sociales d'insertion" in presentation and "éloignées de l'emploi" in presentation
    assert "chaque heure" in presentation and "donneurs d'ordre" in presentation
    assert re.search(r'<a [^>]*href="/connexion/"[^>]*data-testid="sign-in"[^>]*>Se connecter</a>', html)
    sites = html.split('data-testid="public-sites"')[1].split("</section>")[0]
    assert public_site_links(sites) == ["/cellules/albi/", "/cellules/toulouse/"]  # by name
    assert "Cellule d'Albi" in sites and "Cellule de Toulouse" in sites and "Toulouse Métropole" in sites
    assert "Cellule fermée" not in html and "/cellules/fermee/" not in html
    assert 'data-testid="public-figures"' not in html  # two cellules: the list, not one's figures
    assert "equipe@toulouse.example" not in html  # nothing but the name and the territory


def test_other_kinds_of_organizations_are_not_listed(cellule, client):
    FacilitatorFactory(name="Autre cellule", slug="autre-cellule")
    html = client.get("/").content.decode()
    assert public_site_links(html) == ["/cellules/autre-cellule/", "/cellules/cellule-du-test/"]
    buyer = cellule.partner_links.first().partner
    assert buyer.name not in html and buyer.email not in html


def test_a_single_cellule_shows_the_figures_of_its_public_page(cellule, client):
    FacilitatorFactory(slug="fermee", is_active=False)  # hosted but not published: still one public site
    html = client.get("/").content.decode()
    public_page = client.get(reverse("public:home", kwargs={"slug": cellule.slug})).content.decode()

    expected = {"buyers": "2", "hours": "360", "contracts": "4", "participants": "2"}  # the fixture's
    assert figures_of(html) == figures_of(public_page) == expected
    section = unescape(html.split('data-testid="public-figures"')[1].split("</section>")[0])
    assert "Les résultats de Cellule du test" in section and "Pays de test" in section
    assert 'href="/cellules/cellule-du-test/"' in section  # its public site
    assert 'href="/connexion/"' in html
    assert 'data-testid="public-sites"' not in html


def test_no_public_site_yet(client):
    FacilitatorFactory(slug="fermee", is_active=False)
    html = unescape(client.get("/").content.decode())
    assert "Aucune cellule clause ne présente encore de site public ici." in html
    assert public_site_links(html) == [] and 'href="/connexion/"' in html


def test_the_home_page_takes_no_post(client):
    assert client.post("/").status_code == 405


def test_queries_do_not_grow_with_the_number_of_cellules(client):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx)

    for n in range(2):
        FacilitatorSettingsFactory(facilitator=FacilitatorFactory(), territory_label=f"Territoire {n}")
    few = queries()
    for n in range(8):
        facilitator = FacilitatorFactory()
        if n % 2:
            FacilitatorSettingsFactory(facilitator=facilitator, territory_label=f"Autre territoire {n}")
    many = queries()
    assert len(public_site_links(client.get("/").content.decode())) == 10
    assert many == few


def test_the_public_pages_and_the_login_page_lead_back_home(cellule, client):
    for url in (
        reverse("login"),
        reverse("public:cellule_list"),
        reverse("public:home", kwargs={"slug": cellule.slug}),
        reverse("public:documentation", kwargs={"slug": cellule.slug}),
        reverse("public:simulator"),
    ):
        html = client.get(url).content.decode()
        brand = html.split('class="fr-header__service"')[1].split("</div>")[0]
        assert 'href="/"' in brand, url


def test_signed_in_users_keep_their_dashboard(cellule, client_for, world_a, facilitator_member_client):
    response = facilitator_member_client.get("/")
    assert response.status_code == 200
    # The page's own template (the dashboard renders its cached blocks before it).
    assert response.template_name == ["www/dashboard.html"]
    assert 'data-testid="sign-in"' not in response.content.decode()
    assert response.context["title"] == "Tableau de bord"
    # A user without any organization still gets the dashboard's explanation, not the public home page.
    alone = client_for(UserFactory()).get("/")
    assert alone.template_name == ["www/dashboard.html"]
