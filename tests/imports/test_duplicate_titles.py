"""Two columns with the same title are never resolved silently (issue 13): the import is refused with a French
message naming both columns, unless the user says which one to use in the column-mapping step."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from clausier.imports.models import ImportRun, MappingTemplate
from clausier.imports.pipeline import run
from clausier.participants.models import Participant
from tests.imports.corpus import csv_bytes

pytestmark = pytest.mark.django_db

# Column A "Nom" holds the usual name, column E "Nom" the birth name: which is which, only the user knows.
HEADER = ["Nom", "Prénom", "Né(e) le", "Sexe", "Nom"]
ROW = ["Lefèvre", "Hélène", "02/04/1985", "F", "Martin"]
REFUSAL = (
    "Deux colonnes s'intitulent « Nom » (A et E) : indiquez laquelle contient « Nom » à l'étape de "
    "correspondance des colonnes"
)


def people_named(w, first_name):
    return Participant.objects.filter(facilitator=w.facilitator, first_name=first_name)


def test_the_import_is_refused_naming_both_columns(world_a):
    report = run(
        "participants", csv_bytes([HEADER, ROW]), filename="personnes.csv", facilitator=world_a.facilitator
    )[0]

    assert report.status == "refused"
    messages = [str(p) for p in report.problems]
    assert any(m.startswith(REFUSAL) for m in messages), messages
    assert not any("est obligatoire" in m and "« Nom »" in m for m in messages)  # said once, as ambiguous
    assert not people_named(world_a, "Hélène").exists()


def test_an_explicit_choice_of_the_column_imports(world_a):
    report = run(
        "participants",
        csv_bytes([HEADER, ROW]),
        filename="personnes.csv",
        facilitator=world_a.facilitator,
        by=world_a.users["facilitator_member"],
        mapping={"last_name": "Nom (E)"},
    )[0]

    assert report.status == "committed", list(report.lines())
    assert people_named(world_a, "Hélène").get().last_name.lower() == "martin"


def test_the_same_rule_in_another_kind(world_a):
    """An hours statement whose two "Heures" columns are worked and training hours, say."""
    w = world_a
    header = ["Nom", "Prénom", "Né(e) le", "N° marché", "Lot", "Mois", "Heures", "Heures"]
    row = ["Dupont", "Jean", "01/01/1980", w.market.reference, w.lot.number, "05/2024", "35", "7"]
    report = run("heures", csv_bytes([header, row]), filename="releve.csv", facilitator=w.facilitator)[0]
    assert report.status == "refused"
    assert any("Deux colonnes s'intitulent « Heures » (G et H)" in str(p) for p in report.problems)


def test_the_cli_refuses_then_imports_with_a_saved_mapping(world_a, tmp_path, capsys):
    path = tmp_path / "personnes.csv"
    path.write_bytes(csv_bytes([HEADER, ROW]))
    args = ["import", "participants", str(path), "--facilitator", world_a.facilitator.slug]

    with pytest.raises(SystemExit) as exit_info:
        call_command(*args)
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert REFUSAL in captured.out + captured.err

    MappingTemplate.objects.create(
        facilitator=world_a.facilitator,
        kind="participants",
        name="Liste CCAS",
        mapping={"last_name": "Nom (A)", "birth_name": "Nom (E)"},
    )
    call_command(*args, "--mapping", "Liste CCAS", "--user", world_a.users["facilitator_member"].email)
    person = people_named(world_a, "Hélène").get()
    assert person.last_name.lower() == "lefèvre" and person.birth_date == datetime.date(1985, 4, 2)


def test_the_mapping_step_offers_both_columns_and_takes_the_choice(world_a, facilitator_member_client):
    client = facilitator_member_client
    response = client.post(
        reverse("www:import_start"),
        {"kind": "participants", "file": SimpleUploadedFile("personnes.csv", csv_bytes([HEADER, ROW]))},
    )
    assert response.status_code == 302
    run_ = ImportRun.objects.get(facilitator=world_a.facilitator)
    page = client.get(response["Location"]).content.decode()
    assert 'value="Nom (A)"' in page and 'value="Nom (E)"' in page
    assert "Deux colonnes s&#x27;intitulent « Nom » (A et E)" in page

    response = client.post(
        response["Location"],
        {
            "col_last_name": "Nom (E)",
            "col_first_name": "Prénom",
            "col_birth_date": "Né(e) le",
            "col_sex": "Sexe",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    run_.refresh_from_db()
    assert run_.mapping["last_name"] == "Nom (E)"
