"""Subject access export: everything about one person in one file, logged; from the page and the command."""

import io
import json
import zipfile
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
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
