"""Numbers are written the French way on every page (issue 14): `1 234,56 €`, `12,5 h`, `× 1,25`, never `12.5`.

Each role of world A, given rows with numbers that are not whole (tests/www/crawl.py `populate`), crawls the
pages it can reach; the visible text of each page (text nodes: not attributes, not <script>/<style>) must not
have a decimal point between two digits. Codes and identifiers that have one (NAF "43.99C", versions, dotted
dates, URLs) are not numbers and are left out; ROME codes, SIRET and ids have no point.
"""

import re

import pytest

from tests.factories import ROLES
from tests.www.crawl import Page, crawl, populate

pytestmark = pytest.mark.django_db

DECIMAL_POINT = re.compile(r"\d\.\d")
NOT_NUMBERS = re.compile(
    r"\b\d{2}\.\d{2}[A-Z]\b"  # NAF code (the directory's search hint: « 43.99C »)
    r"|\b\d+(?:\.\d+){2,}\b"  # a version (4.14.1) or a dotted date (01.02.2024)
    r"|\b(?:https?://|www\.)\S+"  # an address
)
# Some of the numbers `populate` made, as each role must read them: the pages do show them.
SHOWN = {
    "facilitator_admin": ["1 234,56 €", "5,5 %", "28,75 €", "1,25", "151,67", "17,5", "24,5"],
    "facilitator_member": ["1 234,56 €", "5,5 %", "28,75 €", "1,25", "151,67", "17,5", "24,5"],
    "buyer": ["1 234,56 €", "123 456,78 €", "80,25"],
    "company": ["1 234,56 €", "12,5", "17,5", "24,5"],
    "structure": ["112,5", "7,5"],
    "prescriber": [],
}


def decimal_points(page) -> list[str]:
    found = []
    for text in page.texts:
        scrubbed = NOT_NUMBERS.sub(lambda m: "_" * len(m.group()), text)
        for match in DECIMAL_POINT.finditer(scrubbed):
            snippet = text[max(0, match.start() - 40) : match.end() + 30]
            found.append(f"{page.key[0]} {page.path} : « {snippet} »")
    return found


@pytest.mark.parametrize("role", ROLES)
def test_numbers_have_a_decimal_comma(role, world_a, client_for):
    also = populate(world_a)
    result = crawl(client_for(world_a.users[role]), also=also)
    assert not result.errors, f"{role} : liens menant à une erreur :\n" + "\n".join(result.errors)

    found = [line for page in result.pages for line in decimal_points(page)]
    assert not found, f"{role} : point décimal dans le texte affiché :\n" + "\n".join(found)
    text = "\n".join(t for page in result.pages for t in page.texts)
    assert not [number for number in SHOWN[role] if number not in text], (
        "les nombres du jeu ne sont pas affichés"
    )


def test_codes_and_addresses_are_not_numbers():
    texts = ["Code NAF (43, 43.99C)", "axe-core 4.14.1", "https://exemple.fr/v1.2", "12,5 h"]
    assert decimal_points(Page("/annuaire-structures/", ("www:directory", ()), texts=texts)) == []
    found = decimal_points(
        Page("/annuaire-structures/", ("www:directory", ()), texts=["× 1.00", "1234.56 €"])
    )
    assert len(found) == 2
