"""Subject access export: everything about one person in one file, logged; from the page and the command."""

import io
import json
import zipfile
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.reference.models import EligibilityCriterion
from clausier.rgpd.export import subject_file
from tests.factories import ref, rome_job
from tests.rgpd.helpers import world_with_history

pytestmark = pytest.mark.django_db


def unzip(content: bytes) -> tuple[dict, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sorted(archive.namelist()) == ["donnees.html", "donnees.json"]
        return json.loads(archive.read("donnees.json")), archive.read("donnees.html").decode()


def test_staff_export_from_the_participant_page(client_for):
    world = world_with_history()
    old = world.old
    client = client_for(world.users["facilitator_member"])
    page = client.get(reverse("www:participant_detail", kwargs={"uuid": old.uuid})).content.decode()
    url = reverse("www:participant_subject_export", kwargs={"uuid": old.uuid})
    assert url in page

    assert client.get(url).status_code == 302, "GET without a ticket writes nothing and goes back"
    assert not AuditEntry.objects.filter(action=Action.EXPORT).exists()
    response = client.post(url)
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=Action.EXPORT)
    assert entry.object_id == str(old.uuid) and entry.actor == world.users["facilitator_member"]
    download = client.get(response["Location"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert AuditEntry.objects.filter(action=Action.EXPORT).count() == 1, "the download itself writes nothing"

    data, html = unzip(download.content)
    records = data["fiches"]
    assert {r["nom d'usage"] for r in records} == {"Vieillecase", "Vieillecaze"}, "merged duplicates included"
    assert records[0]["e-mail"] == "rosalie@example.org"
    assert data["validations d'éligibilité"][0]["avis motivé"].startswith("Avis motivé")
    assert data["contrats"][0]["heures"][0]["heures travaillées"] == "100.00"
    assert data["sorties"][0]["précision"].startswith("CDI chez")
    assert any(
        e["action"] == "Fusion" for e in data["journal (qui a consulté, exporté ou modifié ces données)"]
    )
    assert "Vieillecase" in html and "Validations d&#x27;éligibilité" in html

    # Another user cannot use the ticket.
    other = client_for(world.users["facilitator_admin"])
    assert other.get(response["Location"]).status_code == 302
    assert urlparse(other.get(response["Location"])["Location"]).path == reverse(
        "www:participant_detail", kwargs={"uuid": old.uuid}
    )


def test_partners_cannot_export(client_for):
    world = world_with_history()
    url = reverse("www:participant_subject_export", kwargs={"uuid": world.participant.uuid})
    for role in ("buyer", "company", "structure", "prescriber"):
        assert client_for(world.users[role]).post(url).status_code == 404, role
    assert not AuditEntry.objects.filter(action=Action.EXPORT).exists()


def test_the_command_writes_the_file_and_logs_it(tmp_path):
    world = world_with_history()
    path = tmp_path / "personne.zip"
    call_command(
        "subject-export",
        str(path),
        "--facilitator",
        world.facilitator.slug,
        "--participant",
        str(world.duplicate.uuid),
        verbosity=0,
    )
    data, _html = unzip(path.read_bytes())
    assert len(data["fiches"]) == 2, "from a merged duplicate: the whole person"
    entry = AuditEntry.objects.get(action=Action.EXPORT)
    assert entry.actor is None and "commande" in entry.detail


def test_the_export_holds_the_person_candidacies_and_proposals():
    world = world_with_history()
    old = world.old

    data, html = unzip(subject_file(world.duplicate))

    candidacies = data["candidatures"]
    assert [(c["identifiant"], c["état"]) for c in candidacies] == [
        (str(world.earlier_candidacy.uuid), "Refusée"),  # not linked, same identity
        (str(world.candidacy.uuid), "Validée"),
    ], "not the candidacies of other people"
    earlier, validated = candidacies
    assert earlier["fiche participant"] is None
    assert earlier["motif du refus"] == "Rosalie Vieillecasse part de Toulouse"
    assert validated["fiche participant"] == str(old.uuid)
    assert (validated["prénom"], validated["nom d'usage"], validated["e-mail"]) == (
        "Rosalie",
        "Vieillecase",
        "rosalie@example.org",
    )
    assert validated["avis motivé du prescripteur"].startswith("Rosalie Vieillecasse est revenue")
    assert validated["prescripteur"] == str(world.prescriber)
    assert validated["métiers recherchés"] == [str(rome_job())]
    assert validated["critères proposés par le prescripteur"] == [
        {
            "critère": str(ref(EligibilityCriterion, "deld")),
            "justificatif": "Avis de situation France Travail",
            "date du justificatif": "2020-01-20",
        }
    ]
    assert [(h["de"], h["à"], h["commentaire"]) for h in validated["historique"]] == [
        ("création", "Proposée, à examiner", ""),
        ("Proposée, à examiner", "Validée", "Rosalie Vieillecasse reçue le 14 février"),
    ]
    [proposal] = data["propositions à des offres d'emploi"]
    assert proposal["identifiant"] == str(world.proposal.uuid)
    assert proposal["fiche participant"] == str(old.uuid), "moved to the kept record at the merge"
    assert (proposal["état"], proposal["motif du refus"]) == (
        "Refusé(e) par l'entreprise",
        "Rosalie Vieillecaze n'a pas le permis",
    )
    assert proposal["historique"][-1]["au titre de"] == str(world.company)
    journal = data["journal (qui a consulté, exporté ou modifié ces données)"]
    objects = {e["objet"] for e in journal}
    assert {"matching.candidacy", "matching.proposal"} <= objects
    assert "Candidatures" in html and "part de Toulouse" in html and "Propositions à des offres" in html
