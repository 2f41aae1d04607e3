"""Imports where the data lives: the menu, an "Importer" on each list an import fills (its kind chosen), a blank
file per kind whose titles the import recognises, and the employer's pre-filled statement from its page."""

import io

import pytest
import python_calamine
from django.urls import reverse

from clausier.imports.kinds import KINDS
from clausier.imports.pipeline import read, suggest_mapping
from clausier.www.imports.preview import FILLED_LISTS
from clausier.www.kit.navigation import menu_for
from tests.imports.corpus import csv_bytes

pytestmark = pytest.mark.django_db

# The lists an import fills, and its kind: each has the « Importer » button, and the import's end page leads
# back to it (the DECP fill the markets, whose button opens the spreadsheet import).
LISTS = {name: kind for kind, (name, _label) in FILLED_LISTS.items() if kind != "decp"}


def test_the_menu_leads_the_staff_to_the_imports(world_a, client_for):
    page = client_for(world_a.users["facilitator_member"]).get(reverse("www:dashboard")).content.decode()
    assert f'href="{reverse("www:import_start")}"' in page and "Importer un tableur" in page
    company_page = client_for(world_a.users["company"]).get(reverse("www:dashboard")).content.decode()
    assert "Importer un tableur" not in company_page


@pytest.mark.parametrize(("name", "kind"), LISTS.items())
def test_each_list_an_import_fills_opens_that_import(name, kind, world_a, client_for):
    staff = client_for(world_a.users["facilitator_member"])
    page = staff.get(reverse(name)).content.decode()
    link = f"{reverse('www:import_start')}?type={kind}"
    assert f'href="{link}" data-testid="list-import"' in page

    start = staff.get(link).content.decode()
    assert f'<option value="{kind}" selected>' in start  # the kind chosen
    # The partners who see some of these lists import nothing.
    for role in ("company", "structure", "buyer", "prescriber"):
        response = client_for(world_a.users[role]).get(reverse(name))
        assert 'data-testid="list-import"' not in response.content.decode(), role


@pytest.mark.parametrize("kind", [name for name in KINDS if name != "decp"])
def test_the_blank_file_of_each_kind_is_recognised_by_its_import(kind, world_a, client_for):
    staff = client_for(world_a.users["facilitator_member"])
    start = staff.get(reverse("www:import_start")).content.decode()
    url = f"{reverse('www:import_template')}?type={kind}"
    assert f'href="{url}"' in start

    response = staff.get(url)

    assert response.status_code == 200 and response["Content-Disposition"].endswith(f'-{kind}.xlsx"')
    fields = KINDS[kind].fields
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.get_sheet_by_index(0).to_python()[0] == [f.label for f in fields]
    help_rows = book.get_sheet_by_name("Aide").to_python()
    assert [row[:2] for row in help_rows[1:]] == [[f.label, "oui" if f.required else "non"] for f in fields]
    # Filled with a row, the file needs no choice of columns: every title maps to its field.
    headers = book.get_sheet_by_index(0).to_python()[0]
    records = read(csv_bytes([headers, ["x"] * len(headers)]), filename="rempli.csv", kind=KINDS[kind])
    assert suggest_mapping(records, KINDS[kind]) == {f.key: f.label for f in fields}


def test_no_blank_file_for_the_decp_nor_an_unknown_kind(world_a, client_for):
    staff = client_for(world_a.users["facilitator_member"])
    for kind in ("decp", "inconnu", ""):
        response = staff.get(reverse("www:import_template"), {"type": kind})
        assert response.status_code == 302 and response["Location"] == reverse("www:import_start")
    page = staff.get(reverse("www:import_start"), {"type": "inconnu"}).content.decode()
    assert " selected>" not in page.split('name="kind"')[1].split("</select>")[0]


@pytest.mark.parametrize(
    ("role", "detail"), [("company", "company_detail"), ("structure", "structure_detail")]
)
def test_the_employer_page_gives_its_statement_to_fill(role, detail, world_a, client_for):
    staff = client_for(world_a.users["facilitator_member"])
    employer = world_a.orgs[role]
    page = staff.get(reverse(f"www:{detail}", kwargs={"uuid": employer.uuid})).content.decode()
    template = reverse("www:statement_template", kwargs={"uuid": employer.uuid})
    assert f'href="{template}"' in page and f'href="{reverse("www:import_start")}?type=heures"' in page
    assert staff.get(template).status_code == 200


def test_the_quick_access_tiles_include_the_imports(world_a, rf):
    request = rf.get("/")
    request.user = world_a.users["facilitator_member"]
    request.organization = world_a.facilitator
    assert "www:import_start" in [item["url_name"] for item in menu_for(request)]


def test_every_kind_leads_back_to_the_list_it_fills():
    assert set(FILLED_LISTS) == set(KINDS)
    assert len(set(LISTS.values())) == len(KINDS) - 1


@pytest.mark.parametrize(
    ("titles", "step"),
    [
        ("own", "www:import_preview"),  # the blank template's titles: straight to the preview
        ("one more", "www:import_mapping"),  # a title of its own: the user says what it is
    ],
)
def test_a_file_under_the_kinds_own_titles_skips_the_mapping(titles, step, world_a, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clausier.imports.models import ImportRun

    headers = [f.label for f in KINDS["participants"].fields]
    if titles == "one more":
        headers.append("Remarque du conseiller")
    data = csv_bytes([headers, ["x"] * len(headers)])
    staff = client_for(world_a.users["facilitator_member"])

    response = staff.post(
        reverse("www:import_start"),
        {"kind": "participants", "file": SimpleUploadedFile("participants.csv", data)},
    )

    run = ImportRun.objects.filter(facilitator=world_a.facilitator).latest("pk")
    assert response.status_code == 302 and response["Location"] == reverse(step, kwargs={"uuid": run.uuid})
