"""Every page that shows realised hours says where they come from (issue 14): only validated monthly
statements count, so hours saved in a grid do not move them until their statement is validated."""

import re

import pytest

from tests.factories import ROLES
from tests.www.crawl import crawl, populate

pytestmark = pytest.mark.django_db

REALISED = re.compile(r"\b(heures )?réalisées?\b|\bréalisé\b", re.I)
SAYS_WHY = re.compile(r"relevés?( mensuels?)? validés", re.I)
# Pages where « réalisées » names the hours without showing any.
NO_FIGURE = {"www:parameters_eligibility_fte": "the ETP setting: « ETP = heures réalisées ÷ ce nombre »"}


def pages_without_the_rule(result) -> list[str]:
    missing = []
    for page in result.pages:
        if page.key[0] in NO_FIGURE:
            continue
        text = " ".join(page.texts)
        if REALISED.search(text) and not SAYS_WHY.search(text):
            missing.append(f"{page.key[0]} {page.path}")
    return missing


@pytest.mark.parametrize("role", ROLES)
def test_realised_hours_come_with_their_rule(role, world_a, client_for):
    also = populate(world_a)
    result = crawl(client_for(world_a.users[role]), also=also)
    missing = pages_without_the_rule(result)
    assert not missing, f"{role} : heures réalisées sans leur règle :\n" + "\n".join(sorted(missing))
