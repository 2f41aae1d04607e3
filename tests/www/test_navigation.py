"""The main menu: grouped sections for the facilitator's staff, only what each kind of organization may open."""

import pytest
from django.test import RequestFactory

from clausier.www.navigation import menu_for, menu_sections_for
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
        "Relevés d'heures",
        "Bilans",
        "Administration",
    ]
    assert [s["label"] for s in menu if s["active"]] == ["Personnes"]
    assert len(menu_for(request)) == sum(len(s["items"]) for s in menu)


def test_a_company_sees_only_its_own_entries(world_a):
    _, menu = sections(world_a.users["company"])
    entries = {item["label"] for section in menu for item in section["items"]}
    assert entries == {"Tableau de bord", "Marchés", "Participants", "Contrats", "Relevés d'heures"}
