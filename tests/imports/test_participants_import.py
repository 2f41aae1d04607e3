"""Kind "participants": one person, one record — exact matches update, likely duplicates are refused."""

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.imports.models import ImportRun
from clausier.imports.pipeline import run
from clausier.participants.models import Participant, Sex
from tests.factories import CommuneFactory, ParticipantFactory
from tests.imports.corpus import csv_bytes

HEADER = [
    "Nom",
    "Prénom",
    "Nom de naissance",
    "Né(e) le",
    "Sexe",
    "Courriel",
    "CP",
    "Ville",
    "Niveau",
    "Entrée le",
]


def lines(*rows):
    return [["Liste des personnes orientées", "", ""], HEADER, *rows]


def import_csv(w, rows, **kwargs):
    kwargs.setdefault("by", w.users["facilitator_member"])
    data = csv_bytes(lines(*rows))
    return run("participants", data, filename="participants.csv", facilitator=w.facilitator, **kwargs)[0]


@pytest.fixture
def eloise(world_a):
    return ParticipantFactory(
        facilitator=world_a.facilitator,
        first_name="eloise",
        last_name="dupont martin",
        birth_date=datetime.date(1990, 4, 3),
        postal_code="31100",
        email="",
    )


def test_new_people_are_created_with_french_dates_and_sexes(world_a):
    w = world_a
    CommuneFactory()
    existing = list(Participant.objects.filter(facilitator=w.facilitator).values_list("pk", flat=True))
    before = len(existing)
    report = import_csv(
        w,
        [
            [
                "Lefèvre",
                "Hélène",
                "",
                "02/04/1985",
                "F",
                "helene@example.org",
                "31100",
                "Toulouse",
                "CAP",
                "15/01/2024",
            ],
            ["OEUVRAY", "Zoé", "Martin", "1999-12-31", "Femme", "", "", "", "", ""],
            ["Bernard", "Jean", "", "05/06/1970", "H", "", "", "31555", "4", ""],
            ["Durand", "Paul", "", "07/08/1980", "Homme", "", "", "", "", ""],
            ["Petit", "Luc", "", "09/10/1975", "M", "", "", "", "", ""],
        ],
    )
    assert report.status == "committed", list(report.lines())
    assert report.counts == {"create": 5, "update": 0, "unchanged": 0}
    assert Participant.objects.filter(facilitator=w.facilitator).count() == before + 5
    # Only the imported people: the world's random people may share these surnames.
    imported = Participant.objects.filter(facilitator=w.facilitator).exclude(pk__in=existing)
    helene = imported.get(last_name="Lefèvre")
    assert (helene.sex, helene.birth_date, helene.entry_date) == (
        Sex.FEMALE,
        datetime.date(1985, 4, 2),
        datetime.date(2024, 1, 15),
    )
    assert helene.commune_id == "31555" and helene.qualification_level.code == "level3"
    assert imported.get(last_name="OEUVRAY").birth_name == "Martin"
    assert set(
        imported.filter(last_name__in=["Bernard", "Durand", "Petit"]).values_list("sex", flat=True)
    ) == {Sex.MALE}
    assert imported.get(last_name="Bernard").commune_id == "31555"


def test_the_same_person_written_differently_is_found_and_updated(world_a, eloise):
    w = world_a
    report = import_csv(
        w, [["DUPONT-MARTIN", "Éloïse", "", "03/04/1990", "F", "eloise@example.org", "31100", "", "", ""]]
    )
    assert report.status == "committed", list(report.lines())
    assert report.counts == {"create": 0, "update": 1, "unchanged": 0}
    eloise.refresh_from_db()
    assert eloise.email == "eloise@example.org"
    assert eloise.first_name == "eloise"  # the names are the key: never rewritten
    entry = AuditEntry.objects.filter(action=Action.UPDATE).latest("pk")
    assert entry.changes["email"] == ["", "eloise@example.org"]
    again = import_csv(
        w, [["DUPONT-MARTIN", "Éloïse", "", "03/04/1990", "F", "eloise@example.org", "31100", "", "", ""]]
    )
    assert again.counts == {"create": 0, "update": 0, "unchanged": 1}
    assert AuditEntry.objects.count() == AuditEntry.objects.filter(pk__lte=entry.pk).count()


def test_a_likely_duplicate_is_refused_and_nothing_is_written(world_a, eloise):
    w = world_a
    before = Participant.objects.count()
    rows = [
        ["Nouveau", "Nadia", "", "01/02/1995", "F", "", "", "", "", ""],
        ["Dupont", "Eloise", "", "03/04/1990", "F", "", "", "", "", ""],
    ]
    report = import_csv(w, rows)
    assert report.status == "refused"
    messages = [str(p) for p in report.problems]
    assert len(messages) == 1
    assert messages[0].startswith("Ligne 4, colonne « Nom » (A) : doublon probable de eloise DUPONT MARTIN")
    assert "(score " in messages[0] and " %)" in messages[0]
    assert Participant.objects.count() == before
    forced = import_csv(w, rows, options={"create_duplicates": True})
    assert forced.status == "committed" and forced.counts["create"] == 2
    assert Participant.objects.count() == before + 2


def test_duplicates_within_the_file_are_reported(world_a):
    w = world_a
    report = import_csv(
        w,
        [
            ["Martin", "Léa", "", "01/02/1995", "F", "", "", "", "", ""],
            ["MARTIN", "Lea", "", "01/02/1995", "F", "", "", "", "", ""],
            ["Martin-Durand", "Léa", "", "02/01/1995", "F", "", "", "", "", ""],
        ],
        dry_run=True,
    )
    messages = [str(p) for p in report.problems]
    assert report.status == "refused"
    assert "figure déjà à la ligne 3 du fichier" in messages[0] and messages[0].startswith("Ligne 4")
    assert messages[1].startswith("Ligne 5") and "doublon probable de la ligne 3 du fichier" in messages[1]


def test_every_problem_is_reported_in_french_with_row_and_column(world_a):
    w = world_a
    before = set(Participant.objects.values_list("pk", flat=True))
    report = import_csv(
        w,
        [
            ["", "Jean", "", "31/02/1980", "X", "pas-un-mail", "31OO", "Nulle-Part", "bac+12", "demain"],
            ["Sans", "Sexe", "", "01/01/1980", "", "", "", "", "", ""],
        ],
    )
    assert report.status == "refused"
    messages = [str(p) for p in report.problems]
    assert "Ligne 3, colonne « Nom » (A) : Valeur manquante : un texte attendu." in messages
    assert any(m.startswith("Ligne 3, colonne « Né(e) le » (D)") for m in messages)
    assert any(m.startswith("Ligne 3, colonne « Sexe » (E)") and "F / Femme" in m for m in messages)
    assert any(m.startswith("Ligne 3, colonne « Courriel » (F)") for m in messages)
    assert any(m.startswith("Ligne 3, colonne « CP » (G)") for m in messages)
    assert any(m.startswith("Ligne 3, colonne « Ville » (H)") for m in messages)
    assert any(m.startswith("Ligne 3, colonne « Niveau » (I)") for m in messages)
    assert any(m.startswith("Ligne 3, colonne « Entrée le » (J)") for m in messages)
    assert any(m.startswith("Ligne 4, colonne « Sexe » (E)") and "obligatoire" in m for m in messages)
    # Nobody was created (the world's random people may be called Jean: compare the rows, not the names).
    assert set(Participant.objects.values_list("pk", flat=True)) == before


def test_prescriber_by_name_or_siret_among_partners(world_a):
    w = world_a
    prescriber = w.prescriber
    prescriber.siret = "73282932000074"
    prescriber.save()
    data = csv_bytes(
        [
            ["Nom", "Prénom", "Date de naissance", "Sexe", "Prescripteur"],
            ["Alpha", "Anne", "01/01/1990", "F", prescriber.name.upper()],
            ["Beta", "Bruno", "01/01/1991", "H", "732 829 320 00074"],
            ["Gamma", "Gaston", "01/01/1992", "H", "Inconnu SA"],
        ]
    )
    report, _ = run(
        "participants", data, filename="p.csv", facilitator=w.facilitator, by=w.users["facilitator_member"]
    )
    assert report.status == "refused"
    assert [p.row for p in report.problems] == [4]
    data = csv_bytes(
        [
            ["Nom", "Prénom", "Date de naissance", "Sexe", "Prescripteur"],
            ["Alpha", "Anne", "01/01/1990", "F", prescriber.name.upper()],
            ["Beta", "Bruno", "01/01/1991", "H", "732 829 320 00074"],
        ]
    )
    report, _ = run(
        "participants", data, filename="p.csv", facilitator=w.facilitator, by=w.users["facilitator_member"]
    )
    assert report.status == "committed", list(report.lines())
    assert set(
        Participant.objects.filter(last_name__in=["Alpha", "Beta"]).values_list("prescriber", flat=True)
    ) == {prescriber.pk}


def test_cli_exit_codes_and_the_create_duplicates_option(world_a, eloise, tmp_path, capsys):
    w = world_a
    user = w.users["facilitator_member"].email
    path = tmp_path / "participants.csv"
    path.write_bytes(csv_bytes(lines(["Dupont", "Eloise", "", "03/04/1990", "F", "", "", "", "", ""])))
    args = ["import", "participants", str(path), "--facilitator", w.facilitator.slug, "--user", user]
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args, "--json")
    assert exit_info.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "refused" and "doublon probable" in out["problems"][0]["message"]
    call_command(*args, "--create-duplicates", "--dry-run")
    assert "1 ligne(s) seraient créée(s)" in capsys.readouterr().out
    count = Participant.objects.count()
    call_command(*args, "--create-duplicates")
    assert Participant.objects.count() == count + 1
    # Without a user, nothing can be written in the staff's name.
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(lines(["Neuf", "Noé", "", "03/04/2001", "H", "", "", "", "", ""])))
    with pytest.raises(SystemExit):
        call_command("import", "participants", str(good), "--facilitator", w.facilitator.slug)
    assert not Participant.objects.filter(last_name="Neuf").exists()


def test_the_preview_shows_counts_and_offers_to_create_duplicates(world_a, eloise, facilitator_member_client):
    w, client = world_a, facilitator_member_client
    marc = ParticipantFactory(
        facilitator=w.facilitator,
        first_name="Marc",
        last_name="Roux",
        birth_date=datetime.date(1980, 1, 2),
        email="",
    )
    data = csv_bytes(
        lines(
            ["DUPONT-MARTIN", "Éloïse", "", "03/04/1990", "F", "", "", "", "", ""],
            ["Roux", "Marc", "", "02/01/1980", "H", "marc@example.org", "", "", "", ""],
            ["Dupont", "Eloise", "", "03/04/1990", "F", "", "", "", "", ""],
            ["Neuve", "Nina", "", "03/04/2000", "F", "", "", "", "", ""],
        )
    )
    response = client.post(
        reverse("www:import_start"),
        {"kind": "participants", "file": SimpleUploadedFile("participants.csv", data)},
    )
    assert response.status_code == 302
    run_ = ImportRun.objects.get(kind="participants")
    preview_url = reverse("www:import_preview", kwargs={"uuid": run_.uuid})
    if response["Location"] != preview_url:
        mapping = {f"col_{key}": label for key, label in run_.mapping.items()}
        response = client.post(response["Location"], mapping)
    page = client.get(preview_url)
    assert page.context["validation"].problem_count == 1
    assert "doublon probable de eloise DUPONT MARTIN" in page.content.decode()
    assert 'data-testid="duplicates-form"' in page.content.decode()
    page = client.get(preview_url, {"creer_doublons": "1"})
    assert page.context["counts"] == {"create": 2, "update": 1, "unchanged": 1}
    count = Participant.objects.count()
    assert client.post(reverse("www:import_commit", kwargs={"uuid": run_.uuid})).status_code == 302
    assert Participant.objects.count() == count  # without the option, the commit is refused by validation
    client.post(reverse("www:import_commit", kwargs={"uuid": run_.uuid}), {"creer_doublons": "1"})
    assert Participant.objects.count() == count + 2
    marc.refresh_from_db()  # this very record (the world's random people may have the same name)
    assert marc.email == "marc@example.org"
