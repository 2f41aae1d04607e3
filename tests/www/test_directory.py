"""The directory of insertion structures (facilitator staff and companies) and the structures proposed to companies.

The structures are those of the real SIAE file of Haute-Garonne (le marché de l'inclusion, 2020), imported with
the `structures` kind as a facilitator would, the NAF referential loaded from the official files (both read in
place from the files that ship with Clausier). Expected figures are counted from the file itself.
"""

import csv
import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from clausier.audit.models import Action, AuditEntry
from clausier.geo.communes import import_communes
from clausier.imports.pipeline import run
from clausier.organizations.models import Organization, StructureSuggestion, SuggestionStatus
from clausier.reference.referentials import import_naf
from tests.factories import (
    AwardFactory,
    ClauseFactory,
    InsertionStructureFactory,
    LotFactory,
    acting,
)
from tests.official_data import COG, OFFICIAL, plain

pytestmark = pytest.mark.django_db

SIAE_FILE = plain("siae_haute_garonne_2020.csv.xz")
NAF = OFFICIAL
DIRECTORY = reverse("www:directory")


def suggestion_for(w):
    """A's structure proposed to A's company for A's lot (access probe): created once per world."""
    return StructureSuggestion.objects.get_or_create(
        lot=w.objects["lot"],
        company=w.orgs["company"],
        structure=w.orgs["structure"],
        modality="provision",
        defaults={"facilitator": w.facilitator, "note": "Proposée par la sonde"},
    )[0]


def siae_rows():
    with SIAE_FILE.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.fixture
def siae(world_a):
    """World A with the real SIAE file imported (communes of Haute-Garonne and NAF referential loaded)."""
    import_communes(COG, departments=["31"])
    import_naf(NAF)
    report = run(
        "structures",
        SIAE_FILE,
        filename=SIAE_FILE.name,
        facilitator=world_a.facilitator,
        by=acting(world_a.users["facilitator_member"]),
    )[0]
    assert report.status == "committed", list(report.lines())
    return world_a


def listed(client, **params) -> list[str]:
    """The structure pages linked from the directory's results (all pages)."""
    response = client.get(DIRECTORY, {**params, "page": 1})
    assert response.status_code == 200
    total = response.context["paginator"].count
    names = [s.name for s in response.context["page_obj"].object_list]
    page = 2
    while len(names) < total:
        names += [
            s.name for s in client.get(DIRECTORY, {**params, "page": page}).context["page_obj"].object_list
        ]
        page += 1
    return names


def imported(**filters) -> set[str]:
    return {r["name"] for r in siae_rows() if all(f(r) for f in filters.values())}


# --- Search ---------------------------------------------------------------------------------------------------


def test_the_staff_find_the_imported_structures_by_kind_activity_place_and_text(
    siae, facilitator_member_client
):
    client, rows = facilitator_member_client, siae_rows()
    world_structures = {siae.orgs["structure"].name, siae.orgs["other_structure"].name}
    everything = listed(client)
    assert set(everything) == {r["name"] for r in rows} | world_structures
    assert len(everything) == len(rows) + 2  # each structure once
    # By kind: the file's `kind` column became the category (ACI 22, EI 19, AI 10, GEIQ 7, ETTI 4).
    for kind, count in Counter(r["kind"] for r in rows).items():
        found = set(listed(client, category=kind.lower()))
        expected = {r["name"] for r in rows if r["kind"] == kind}
        if kind == "ETTI":  # the world's structures are ETTI too (factory default)
            expected |= world_structures
        assert found == expected, kind
        assert len(expected) >= count
    # By activity: a NAF code typed with or without its dot, a division, or words of the NAF label.
    code = Counter(r["naf"] for r in rows).most_common(1)[0][
        0
    ]  # 8899B, "Action sociale sans hébergement n.c.a."
    stored = f"{code[:2]}.{code[2:]}"
    expected = imported(naf=lambda r: r["naf"] == code)
    assert set(listed(client, activity=code)) == expected
    assert set(listed(client, activity=stored.lower())) == expected
    assert set(listed(client, activity=code[:2])) == imported(naf=lambda r: r["naf"].startswith(code[:2]))
    label = client.get(DIRECTORY, {"activity": code}).context["page_obj"].object_list[0].naf_label
    assert label  # the NAF referential is loaded: the label is shown…
    words = " ".join(re.findall(r"\w{5,}", label)[:2])
    assert set(listed(client, activity=words)) >= expected  # …and searchable
    # By commune (name or postal code) and by département.
    city = Counter(r["city"] for r in rows).most_common(1)[0][0]
    in_city = set(listed(client, place=city))
    assert in_city >= imported(city=lambda r: r["city"] == city) and in_city
    # The world's structures have no commune, but a postal code of Toulouse (31000).
    assert set(listed(client, place="31")) == {r["name"] for r in rows} | world_structures
    assert listed(client, place="75") == []
    # By text: every word of the search in the name, SIRET, address or commune.
    first = rows[0]
    assert listed(client, q=first["siret"]) == [first["name"]]
    assert first["name"] in listed(client, q=first["name"].split()[-1])


def test_a_structure_page_shows_its_contact_activity_and_commune(siae, company_client):
    row = siae_rows()[0]  # COMMUNAUTE DE COMMUNES DU FRONTONNAIS, 8411Z, 3 Rue du Vigé, 31620 Bouloc
    structure = Organization.objects.get(kind="insertion_structure", siret=row["siret"])
    Organization.objects.filter(pk=structure.pk).update(
        email="contact@frontonnais.example", phone="05 61 00 00 00"
    )
    page = company_client.get(reverse("www:directory_structure", kwargs={"uuid": structure.uuid}))
    assert page.status_code == 200
    html = page.content.decode()
    assert escape(structure.name) in html
    assert "84.11Z — Administration publique générale" in html
    assert "3 Rue du Vigé" in html and "Bouloc — département 31" in html
    assert "contact@frontonnais.example" in html and "05 61 00 00 00" in html
    assert 'data-testid="propose"' not in html  # proposing is for the facilitator's staff


def test_who_sees_the_directory(siae, world_b, client_for):
    a, b = siae, world_b
    structure = Organization.objects.get(siret=siae_rows()[0]["siret"], kind="insertion_structure")
    url = reverse("www:directory_structure", kwargs={"uuid": structure.uuid})
    # A's companies see A's structures (their facilitator's), B's company does not, even by URL.
    for role in ("company", "other_company"):
        client = client_for(a.users[role])
        assert structure.name in listed(client)
        assert client.get(url).status_code == 200
    b_company = client_for(b.users["company"])
    assert structure.name not in listed(b_company)
    assert b.orgs["structure"].name in listed(b_company)
    assert b_company.get(url).status_code == 404
    assert client_for(b.users["facilitator_member"]).get(url).status_code == 404
    # A company working with both facilitators sees both directories.
    b.orgs["company"].partnerships.create(facilitator=a.facilitator)
    assert structure.name in listed(b_company)
    # Buyers, structures, prescribers: no directory at all.
    for role in ("buyer", "structure", "prescriber"):
        client = client_for(a.users[role])
        assert client.get(DIRECTORY).status_code == 404, role
        assert client.get(url).status_code == 404, role


def test_an_inactive_structure_is_not_in_the_directory(world_a, facilitator_member_client):
    structure = world_a.orgs["other_structure"]
    Organization.objects.filter(pk=structure.pk).update(is_active=False)
    assert structure.name not in listed(facilitator_member_client)
    url = reverse("www:directory_structure", kwargs={"uuid": structure.uuid})
    assert facilitator_member_client.get(url).status_code == 404


def queries_of(client, url) -> int:
    client.get(url)  # warm up (session, caches)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_directory_costs_the_same_queries_for_2_or_60_structures(
    world_a, facilitator_member_client, company_client, django_assert_max_num_queries
):
    for client in (facilitator_member_client, company_client):
        small = queries_of(client, DIRECTORY)
        InsertionStructureFactory.create_batch(30, partner_of=world_a.facilitator, naf_code="88.99B")
        with django_assert_max_num_queries(small):
            response = client.get(DIRECTORY + "?tri=activite")
        assert response.context["paginator"].count >= 32


# --- Proposing a structure to a company -----------------------------------------------------------------------


def propose(client, structure, award, **extra):
    url = reverse("www:directory_propose", kwargs={"uuid": structure.uuid})
    return client.post(url, {"award": str(award.uuid), "modality": "provision", **extra})


def test_the_staff_propose_a_structure_the_company_follows_it_up(world_a, client_for):
    w = world_a
    member, company = client_for(w.users["facilitator_member"]), client_for(w.users["company"])
    structure, award, lot = w.orgs["other_structure"], w.objects["award"], w.objects["lot"]

    response = propose(member, structure, award, note="Spécialisée en second œuvre.")
    assert response.status_code == 302
    suggestion = StructureSuggestion.objects.get()
    assert (suggestion.lot, suggestion.company, suggestion.structure, suggestion.status) == (
        lot,
        w.orgs["company"],
        structure,
        SuggestionStatus.PROPOSED,
    )
    assert suggestion.facilitator == w.facilitator and suggestion.proposed_by == w.users["facilitator_member"]
    created = AuditEntry.objects.get(action=Action.CREATE, object_id=str(suggestion.uuid))
    assert created.facilitator_id == w.facilitator.pk and created.actor == w.users["facilitator_member"]
    # The same proposal twice is refused.
    again = propose(member, structure, award)
    assert again.status_code == 422 and "a déjà été proposée" in again.content.decode()

    # Shown on the company's space and on the lot page (staff and company), with the structure's page linked.
    home = company.get(reverse("www:dashboard")).content.decode()
    assert f'data-suggestion="{suggestion.uuid}"' in home and "Spécialisée en second œuvre." in home
    lot_url = reverse("www:lot_detail", kwargs={"uuid": lot.uuid})
    for client in (member, company):
        assert f'data-suggestion="{suggestion.uuid}"' in client.get(lot_url).content.decode()
    # Not to the other company, nor to the buyer (who sees the lot page).
    other = client_for(w.users["other_company"]).get(reverse("www:dashboard")).content.decode()
    assert str(suggestion.uuid) not in other
    assert str(suggestion.uuid) not in client_for(w.users["buyer"]).get(lot_url).content.decode()

    # The company marks it contacted, then retained; each step audited.
    status_url = reverse("www:suggestion_status", kwargs={"uuid": suggestion.uuid})
    for status in ("contacted", "retained", "not_retained"):
        response = company.post(status_url, {"suite": status, "suivant": "/"})
        assert response.status_code == 302 and response["Location"] == "/"
        suggestion.refresh_from_db()
        assert suggestion.status == status
    transitions = AuditEntry.objects.filter(
        action=Action.TRANSITION, object_id=str(suggestion.uuid)
    ).order_by("pk")
    assert [e.changes["status"] for e in transitions] == [
        ["proposed", "contacted"],
        ["contacted", "retained"],
        ["retained", "not_retained"],
    ]
    assert {e.facilitator_id for e in transitions} == {w.facilitator.pk}
    assert "Non retenu" in company.get(reverse("www:dashboard")).content.decode()
    # An unknown follow-up, and an outside page to go back to, change nothing.
    response = company.post(status_url, {"suite": "validated", "suivant": "https://example.com/"})
    assert response["Location"] == lot_url
    suggestion.refresh_from_db()
    assert suggestion.status == "not_retained"


def test_a_proposal_names_an_award_of_the_facilitator_with_a_clause(world_a, world_b, client_for):
    a, b = world_a, world_b
    member = client_for(a.users["facilitator_member"])
    structure = a.orgs["structure"]
    # Another facilitator's award (form field edited): refused, nothing written.
    response = propose(member, structure, b.objects["award"])
    assert response.status_code == 422
    assert not StructureSuggestion.objects.exists()
    # A lot without a clause is not offered.
    no_clause = AwardFactory(lot=LotFactory(market=a.objects["market"]), company=a.orgs["company"])
    assert propose(member, structure, no_clause).status_code == 422
    # Another facilitator's structure: 404 (the URL), whatever the award.
    assert propose(member, b.orgs["structure"], a.objects["award"]).status_code == 404
    # An unknown modality.
    assert propose(member, structure, a.objects["award"], modality="direct_hire").status_code == 422
    assert not StructureSuggestion.objects.exists()
    # Companies, B's staff: 404.
    for user in (a.users["company"], b.users["facilitator_member"]):
        assert propose(client_for(user), structure, a.objects["award"]).status_code == 404
    assert not StructureSuggestion.objects.exists()
    # A co-contractor's award on a lot with a clause is fine.
    lot = LotFactory(market=a.objects["market"])
    ClauseFactory(lot=lot)
    co = AwardFactory(lot=lot, company=a.orgs["other_company"], co_contractor=True)
    assert propose(member, structure, co, modality="subcontracting").status_code == 302
    assert StructureSuggestion.objects.get().company == a.orgs["other_company"]


def test_only_the_company_it_was_made_to_follows_a_proposal_up(world_a, world_b, client_for):
    suggestion = suggestion_for(world_a)
    url = reverse("www:suggestion_status", kwargs={"uuid": suggestion.uuid})
    for user in (
        world_a.users["other_company"],
        world_a.users["structure"],
        world_a.users["buyer"],
        world_b.users["company"],
        world_b.users["facilitator_member"],
    ):
        assert client_for(user).post(url, {"suite": "retained"}).status_code == 404
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.PROPOSED
    assert not AuditEntry.objects.filter(action=Action.TRANSITION, object_id=str(suggestion.uuid)).exists()
