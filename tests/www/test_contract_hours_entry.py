"""Hours where people look: the contract page leads the staff to its employer's grid, at the month to enter."""

import datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse

from clausier.employment.queries import month_to_declare

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = D(2026, 12, 7)


@pytest.mark.parametrize(
    ("start", "end", "recorded", "expected"),
    [
        (D(2024, 2, 1), D(2024, 7, 31), {D(2024, 2, 1), D(2024, 3, 1)}, D(2024, 4, 1)),  # the first gap
        (D(2024, 2, 1), D(2024, 7, 31), {D(2024, 3, 1)}, D(2024, 2, 1)),
        (D(2024, 2, 15), D(2024, 3, 10), {D(2024, 2, 1), D(2024, 3, 1)}, D(2024, 3, 1)),  # all entered: last
        (D(2026, 10, 5), None, {D(2026, 10, 1), D(2026, 11, 1)}, D(2026, 12, 1)),  # the current month
        (D(2026, 10, 5), D(2027, 6, 30), {D(2026, 10, 1), D(2026, 11, 1), D(2026, 12, 1)}, D(2026, 12, 1)),
        (D(2027, 1, 4), None, set(), None),  # not begun
    ],
)
def test_the_month_to_declare(start, end, recorded, expected):
    contract = SimpleNamespace(start_date=start, end_date=end)
    assert month_to_declare(contract, recorded, today=TODAY) == expected


@pytest.mark.parametrize(
    ("contract", "grid", "page", "employer", "month"),
    [
        # Hours recorded for February to April 2024 (`build_world`): May is next; a structure employs.
        ("contract", "www:structure_hours", "www:structure_detail", "structure", "2024-05"),
        ("direct_contract", "www:company_hours", "www:company_detail", "company", "2024-02"),
    ],
)
def test_the_contract_page_opens_its_employers_grid(
    contract, grid, page, employer, month, world_a, client_for
):
    contract, employer = world_a.objects[contract], world_a.orgs[employer]
    staff = client_for(world_a.users["facilitator_member"])
    url = reverse("www:contract_detail", kwargs={"uuid": contract.uuid})

    html = staff.get(url).content.decode()

    entry = f"{reverse(grid, kwargs={'uuid': employer.uuid})}?mois={month}"
    assert f'href="{entry}" data-testid="contract-hours-entry"' in html
    assert f'href="{reverse(page, kwargs={"uuid": employer.uuid})}">{employer.name}</a>' in html
    assert "Seules les heures des relevés validés comptent" in html
    grid_page = staff.get(entry)
    assert (
        grid_page.status_code == 200 and contract.participant.last_name.upper() in grid_page.content.decode()
    )
    # The employer itself sees its contract, not the staff's grid.
    own = client_for(world_a.users[employer_role(employer, world_a)]).get(url).content.decode()
    assert 'data-testid="contract-hours-entry"' not in own


def employer_role(employer, world) -> str:
    return next(
        role for role, org in world.orgs.items() if org == employer and role in ("company", "structure")
    )


def test_the_statements_list_opens_the_grid_of_an_employer_and_a_month(world_a, worlds, client_for):
    staff = client_for(world_a.users["facilitator_member"])
    entry = reverse("www:statement_entry")
    assert f'href="{entry}"' in staff.get(reverse("www:statement_list")).content.decode()
    page = staff.get(entry).content.decode()
    structure, company = world_a.orgs["structure"], world_a.orgs["company"]
    assert structure.name in page and company.name in page
    assert world_a.orgs["buyer"].name not in page.split('name="employer"')[1].split("</select>")[0]

    response = staff.post(entry, {"employer": str(structure.uuid), "month": "2024-05"})

    grid = reverse("www:structure_hours", kwargs={"uuid": structure.uuid})
    assert response.status_code == 302 and response["Location"] == f"{grid}?mois=2024-05"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"month": "2024-05"}, "Choisissez l&#x27;employeur."),
        ({"month": "mai"}, "Indiquez le mois au format AAAA-MM"),
        ({"month": "2099-01"}, "Ce mois n&#x27;a pas encore commencé"),
    ],
)
def test_a_wrong_choice_is_refused_in_french_with_the_input_kept(payload, message, worlds, client_for):
    a, b = worlds
    staff = client_for(a.users["facilitator_member"])
    response = staff.post(reverse("www:statement_entry"), payload)
    assert response.status_code == 200 and message in response.content.decode()
    assert f'value="{payload["month"]}"' in response.content.decode()
    # Another facilitator's employer is no choice.
    other = staff.post(
        reverse("www:statement_entry"), {"employer": str(b.orgs["company"].uuid), "month": "2024-05"}
    )
    assert other.status_code == 200 and "Choix invalide" in other.content.decode()
