"""The cellule's public pages: exact figures on a hand-computed world, the yearly chart with its data table,
the texts (escaped), documents and partners, anonymous access, 404 for an unknown or inactive cellule."""

import datetime
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from clausier.publicsite.figures import french_date
from clausier.publicsite.models import Partner, PublicDocument, PublicProfile
from tests.factories import (
    FacilitatorFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = datetime.date


def text_of(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', html)
    assert match, testid
    return match.group(1).strip()


def table_rows(html: str) -> list[tuple[str, str]]:
    table = html.split('data-testid="chart-table"')[1].split("</table>")[0]
    return re.findall(r'<th scope="row">(\d{4})</th><td class="cl-num">([^<]*)</td>', table)


def test_the_urls():
    assert reverse("public:cellule_list") == "/cellules/"
    assert reverse("public:home", kwargs={"slug": "x"}) == "/cellules/x/"
    assert reverse("public:documentation", kwargs={"slug": "x"}) == "/cellules/x/documentation/"
    assert reverse("publicsite:index") == "/equipe/site-public/"


def test_the_public_page_shows_the_exact_figures_and_the_chart(cellule, client):
    response = client.get("/cellules/cellule-du-test/")

    assert response.status_code == 200
    html = response.content.decode()
    figures = {
        name: text_of(html, f"figure-{name}") for name in ("buyers", "hours", "contracts", "participants")
    }
    assert figures == {"buyers": "2", "hours": "360", "contracts": "4", "participants": "2"}
    for label in (
        "Nombre de donneurs d'ordre",
        "Nombre d'heures",
        "Nombre de contrats",
        "Nombre de bénéficiaires (sans double compte)",
    ):
        assert label in unescape(html)
    today = timezone.localdate()
    assert f"Chiffres au {french_date(today)}" in html
    assert "Évolution par an du nombre de bénéficiaires depuis 2022" in html
    expected = [("2022", "1"), ("2023", "2"), ("2024", "1")] + [
        (str(year), "0") for year in range(2025, today.year + 1)
    ]
    assert table_rows(html) == expected
    chart = html.split('data-testid="public-chart"')[1]
    assert "<svg" in chart and "<title" in chart and "<desc" in chart
    assert chart.count("<rect") == len(expected)
    assert "Pays de test" in html
    assert reverse("public:facilitator_simulator", kwargs={"slug": "cellule-du-test"}) in html
    assert reverse("public:documentation", kwargs={"slug": "cellule-du-test"}) in html


def test_french_dates():
    assert french_date(D(2026, 11, 28)) == "28 novembre 2026"
    assert french_date(D(2026, 3, 1)) == "1er mars 2026"
    assert french_date(D(2025, 8, 15)) == "15 août 2025"


def test_a_cellule_without_data_shows_zeros_and_no_chart(client):
    FacilitatorFactory(slug="toute-neuve")
    html = client.get("/cellules/toute-neuve/").content.decode()
    assert text_of(html, "figure-hours") == "0"
    assert text_of(html, "figure-participants") == "0"
    assert 'data-testid="public-chart"' not in html


def test_texts_are_escaped_paragraphs(cellule, client):
    PublicProfile.objects.create(
        facilitator=cellule,
        role_text="Nous accompagnons les acheteurs.\n\n<script>alert('x')</script> & les entreprises.",
        history_text="Créée en 2012.",
    )
    html = client.get("/cellules/cellule-du-test/").content.decode()
    role = html.split('data-testid="role-text"')[1].split("</section>")[0]
    assert "<p>Nous accompagnons les acheteurs.</p>" in role
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; les entreprises." in role
    assert "<script>alert" not in html
    assert "Créée en 2012." in html.split('data-testid="history-text"')[1]


def test_partners_with_and_without_logo(cellule, client):
    Partner.objects.create(facilitator=cellule, name="Département", order=2, url="https://example.org/")
    Partner.objects.create(facilitator=cellule, name="Agence", order=1)
    html = client.get("/cellules/cellule-du-test/").content.decode()
    partners = html.split('data-testid="partners"')[1].split("</section>")[0]
    assert "Nous travaillons avec" in html
    assert partners.index("Agence") < partners.index("Département")
    assert 'href="https://example.org/" rel="noopener"' in partners


def test_the_documentation_space_lists_documents_by_audience(cellule, client):
    common = {"facilitator": cellule, "file": "x.pdf", "content_type": "application/pdf", "size": 2048}
    PublicDocument.objects.create(
        title="Clause type travaux", audience="buyers", is_model_clause=True, original_name="c.docx", **common
    )
    PublicDocument.objects.create(
        title="Guide entreprises", audience="companies", original_name="g.pdf", **common
    )
    other = FacilitatorFactory()
    PublicDocument.objects.create(
        **{**common, "facilitator": other},
        title="Document d'un autre",
        audience="buyers",
        original_name="o.pdf",
    )

    response = client.get("/cellules/cellule-du-test/documentation/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Clause type travaux" in html.split('data-testid="model-clauses"')[1].split("</section>")[0]
    assert "Clause type travaux" in html.split('data-testid="audience-buyers"')[1].split("</section>")[0]
    assert "Guide entreprises" in html.split('data-testid="audience-companies"')[1].split("</section>")[0]
    assert "Aucun document pour le moment." in html.split('data-testid="audience-partners"')[1]
    assert "Document d&#x27;un autre" not in html
    assert "Pour les structures d'insertion" in unescape(html)


def test_the_list_of_cellules_of_the_instance(cellule, client):
    FacilitatorFactory(name="Autre cellule", slug="autre-cellule")
    FacilitatorFactory(name="Cellule fermée", slug="fermee", is_active=False)
    html = client.get("/cellules/").content.decode()
    assert 'href="/cellules/cellule-du-test/"' in html and 'href="/cellules/autre-cellule/"' in html
    assert "Cellule fermée" not in html


@pytest.mark.parametrize("path", ["", "documentation/", "simulateur/"])
def test_an_unknown_or_inactive_cellule_is_404(path, client):
    FacilitatorFactory(slug="fermee", is_active=False)
    assert client.get(f"/cellules/inconnue/{path}").status_code == 404
    assert client.get(f"/cellules/fermee/{path}").status_code == 404


def test_another_kind_of_organization_has_no_public_page(cellule, client):
    buyer = cellule.partner_links.first().partner
    assert client.get(f"/cellules/{buyer.slug}/").status_code == 404


def test_anonymous_users_see_public_pages_only(cellule, client):
    for url in ("/", "/cellules/", "/cellules/cellule-du-test/", "/cellules/cellule-du-test/documentation/"):
        assert client.get(url).status_code == 200, url
    for url in ("/equipe/site-public/", "/equipe/site-public/textes/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/connexion/"), url


def test_public_pages_take_no_post(cellule, client):
    assert client.post("/cellules/cellule-du-test/").status_code == 405
    assert client.post("/cellules/").status_code == 405


def test_logged_in_users_see_the_public_page_too(cellule, client_for):
    user = UserFactory(member_of=FacilitatorFactory())
    assert client_for(user).get("/cellules/cellule-du-test/").status_code == 200
