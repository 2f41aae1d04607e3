"""No orphan page (issue 14): every page a role may open without an identifier is linked from a page it reaches.

For each role of world A, the pages are crawled from its home (tests/www/crawl.py: every same-origin link,
menu included, one page per route). Then every named URL without parameter that answers that role 200 with an
HTML page must be the target of a link of one of those pages (a query string does not matter). The crawl also
fails on a link that leads to an error: a page must not offer a link its reader may not follow.
"""

import pytest
from django.urls import reverse

from clausier.organizations.models import OrganizationKind as K
from clausier.www.kit.navigation import MENU
from tests.factories import ROLES
from tests.test_access_probe import APP_ROUTES, POST_ONLY
from tests.www.crawl import crawl, followable, populate, route_key

pytestmark = pytest.mark.django_db

# Pages reached otherwise than by a link of the signed-in pages. Keep it short: an orphan page should rather
# get a link. The signed-out ones are checked by `test_public_pages_are_linked_for_visitors`.
REACHED_OTHERWISE = {
    "accounts:password_reset": "signed out: « Mot de passe oublié ? » of the login page",
    "accounts:password_reset_done": "the redirection after asking for the reset e-mail",
    "accounts:password_reset_complete": "the redirection after choosing the new password",
    "public:cellule_list": "public site: the breadcrumb of a cellule's public page, where partners are not sent",
    "public:simulator": "public site: linked from the home page of a visitor and the list of cellules",
}
LINKED_FOR_VISITORS = {"accounts:password_reset", "public:cellule_list", "public:simulator"}
# Pages that answer every kind of organization but are meant for some: the access layer shows the others an
# empty list or an explanation (tests/test_access_probe.py `test_pages_without_identifier_answer_every_role`).
# The menu's audiences say which kinds each list is for; beyond the menu:
FOR_SOME_KINDS = {"www:offer_start": {K.FACILITATOR, K.COMPANY}}  # others read who posts offers


def meant_for_other_kinds(kind) -> set[str]:
    """Menu entries whose audience (a set of kinds; the admins' entries answer 404 to the others) lacks `kind`."""
    audiences: dict[str, set] = {}
    for _label, entries in MENU:
        for _entry_label, name, audience in entries:
            if not isinstance(audience, str):
                audiences.setdefault(name, set()).update(audience)
    audiences |= FOR_SOME_KINDS
    return {name for name, kinds in audiences.items() if kind not in kinds}


def plain_pages():
    """(name, path) of the named URLs without parameter that a crawl would follow (no download, no logout)."""
    for route in APP_ROUTES:
        if route.takes_identifier or route.name in POST_ONLY or route.name.startswith("<unnamed"):
            continue
        path = reverse(route.name)
        if followable(path, route_key(path)):
            yield route.name, path


@pytest.mark.parametrize("role", ROLES)
def test_every_page_without_identifier_is_linked(role, world_a, client_for):
    also = populate(world_a)  # matching, pools, imports…: the pages that only exist with rows
    user = world_a.users[role]
    client = client_for(user)
    result = crawl(client, also=also)
    assert not result.errors, f"{role} : liens menant à une erreur :\n" + "\n".join(result.errors)

    skipped = set(REACHED_OTHERWISE) | meant_for_other_kinds(user.memberships.get().organization.kind)
    linked = result.linked_paths
    orphans = []
    for name, path in plain_pages():
        if name in skipped or path in linked:
            continue
        response = client.get(path)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            orphans.append(f"{name} ({path})")
    assert not orphans, f"{role} : pages qu'aucune page atteinte ne lie : {orphans}"


def test_public_pages_are_linked_for_visitors(world_a, client):
    result = crawl(client, starts=("/", reverse("login")))
    linked = result.linked_paths
    assert not [name for name in LINKED_FOR_VISITORS if reverse(name) not in linked]


def test_exceptions_name_existing_pages():
    names = {name for name, _path in plain_pages()}
    assert names >= set(REACHED_OTHERWISE) | set(FOR_SOME_KINDS)
    assert set(REACHED_OTHERWISE) >= LINKED_FOR_VISITORS
