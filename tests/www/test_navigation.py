"""The main menu: grouped sections for the facilitator's staff, only what each kind of organization may open."""

import pytest
from django.test import RequestFactory

from clausier.www.kit.navigation import menu_for, menu_sections_for
from tests.factories import acting

pytestmark = pytest.mark.django_db


def sections(user, path="/"):
    request = RequestFactory().get(path)
    request.user = acting(user)
    request.organization = user.current_organization
    return request, menu_sections_for(request)


def test_staff_get_grouped_sections_and_the_active_one_is_marked(world_a):
    request, menu = sections(world_a.users["facilitator_member"], "/contrats/")
    labels = [s["label"] for s in menu]
    assert labels == [
        "Tableau de bord",
        "Marchés",
        "Partenaires",
        "Personnes",
        "Recrutement",  # issue 8: candidacies, offers, pool, proposals
        "Relevés d'heures",
        "Bilans",
        "Administration",
    ]
    assert [s["label"] for s in menu if s["active"]] == ["Personnes"]
    assert len(menu_for(request)) == sum(len(s["items"]) for s in menu)


def test_a_company_sees_only_its_own_entries(world_a):
    _, menu = sections(world_a.users["company"])
    entries = {item["label"] for section in menu for item in section["items"]}
    assert entries == {
        "Mes obligations",  # the dashboard: the company's space (issue 8)
        "Marchés",
        "Annuaire des structures",
        "Participants",
        "Contrats",
        "Personnes en insertion",
        "Offres d'emploi",  # issue 8: matching
        "Candidats proposés",
        "Relevés d'heures",
        "Saisir mes heures",
        "Déposer un relevé",
    }


def test_each_partner_kind_finds_its_space_under_the_dashboard_entry(world_a):
    """Issue 8: "/" is the partner's space; the staff and prescribers keep the dashboard."""
    expected = {
        "facilitator_member": "Tableau de bord",
        "prescriber": "Tableau de bord",
        "company": "Mes obligations",
        "structure": "Mon espace",
        "buyer": "Mon espace",
    }
    for role, label in expected.items():
        request, menu = sections(world_a.users[role])
        first = menu_for(request)[0]
        assert (first["label"], first["url_name"]) == (label, "www:dashboard"), role
    _, menu = sections(world_a.users["buyer"])
    entries = {item["label"] for section in menu for item in section["items"]}
    assert "Annuaire des structures" not in entries and "Saisir mes heures" not in entries


def test_matching_entries_per_kind(world_a):
    """Issue 8: staff review candidacies, post offers, search the pool, follow proposals; a prescriber follows
    its candidacies; a company its offers and the candidates proposed to it; buyers and structures none."""
    matching = {"Candidatures", "Offres d'emploi", "Vivier de candidats", "Candidats proposés"}
    expected = {
        "facilitator_member": matching,
        "prescriber": {"Candidatures"},
        "company": {"Offres d'emploi", "Candidats proposés"},
        "buyer": set(),
        "structure": set(),
    }
    for role, labels in expected.items():
        request, _ = sections(world_a.users[role])
        assert {item["label"] for item in menu_for(request)} & matching == labels, role
