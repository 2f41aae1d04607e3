"""Leaving the rows in error out (CLI `--skip-invalid`, the preview's checkbox): all or nothing stays the default;
on that explicit choice the valid rows are written in one transaction and the others come back in an error file
in the user's own format. The national SIAE file (le marché de l'inclusion, 2020) is the real case: it ships
with Clausier, xz-compressed, and is decompressed here before being fed to the pipeline (which reads plain
spreadsheets)."""

import csv
import io
import json
import lzma
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from clausier.audit.models import AuditEntry
from clausier.employment.models import HoursRecord, MonthlyStatement
from clausier.geo.communes import import_communes
from clausier.imports import pipeline
from clausier.imports.kinds.organizations import StructuresKind
from clausier.imports.pipeline import error_file, run
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.participants.models import Participant
from clausier.procurement.models import Market
from tests.factories import CommuneFactory
from tests.imports.corpus import csv_bytes
from tests.imports.test_hours_import import MAY, people, statement_lines  # noqa: F401 - fixture
from tests.imports.test_markets_import import sheet

OFFICIAL = Path(settings.BASE_DIR) / "clausier" / "reference" / "official"
NATIONAL_ROWS = 3853  # data rows of siae_france_2020.csv (one header line)
K = OrganizationKind


def decompress(name: str, folder: Path) -> Path:
    """`name` (an .xz file of clausier/reference/official/) decompressed into `folder`."""
    path = folder / name.removesuffix(".xz")
    path.write_bytes(lzma.decompress((OFFICIAL / name).read_bytes()))
    return path


def luhn_ok(digits: str) -> bool:
    """The SIRET check, written again here so that the expected rows are counted independently."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def csv_lines(data: bytes, delimiter=",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def structures(w):
    return Organization.objects.filter(kind=K.INSERTION_STRUCTURE, partnerships__facilitator=w.facilitator)


def counts(w):
    return (
        Organization.objects.count(),
        Partnership.objects.count(),
        AuditEntry.objects.count(),
        structures(w).count(),
    )


# --- The national SIAE file --------------------------------------------------------------------------------


@pytest.fixture
def national(db, tmp_path):
    """Every commune of the COG 2026 and the national SIAE file, both decompressed from the shipped files."""
    import_communes(decompress("cog_communes_2026.csv.xz", tmp_path))
    return decompress("siae_france_2020.csv.xz", tmp_path)


def test_the_national_siae_file_imports_its_valid_rows_and_returns_the_others(world_a, national, capsys):
    w = world_a
    lines = csv_lines(national.read_bytes())
    header, data = lines[0], lines[1:]
    assert len(data) == NATIONAL_ROWS
    before = counts(w)

    # All or nothing, the default: refused, nothing written.
    refused, _ = run("structures", national, filename=national.name, facilitator=w.facilitator)
    assert refused.status == "refused"
    assert refused.problem_count == len(refused.problems)  # every problem listed (fewer than MAX_PROBLEMS)
    in_error = sorted({p.row for p in refused.problems})
    assert all(p.row is not None for p in refused.problems)  # only rows, nothing about the file as a whole
    assert counts(w) == before

    # Counted independently from the file: the SIRETs whose key is wrong, the SIRETs seen on an earlier line.
    siret = header.index("siret")
    seen, bad_key, twice = set(), set(), set()
    for number, cells in enumerate(data, start=2):
        if not luhn_ok(cells[siret]):
            bad_key.add(number)
        elif cells[siret] in seen:
            twice.add(number)
        seen.add(cells[siret])
    assert bad_key and twice and (bad_key | twice) <= set(in_error)

    args = ["import", "structures", str(national), "--facilitator", w.facilitator.slug]
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args)
    assert exit_info.value.code == 1
    assert "Import refusé : rien n'a été enregistré" in capsys.readouterr().out
    assert counts(w) == before

    # The explicit choice: the valid rows are imported, the others left out and written next to the file.
    call_command(*args, "--skip-invalid")  # exit code 0: no SystemExit
    out = capsys.readouterr().out
    kept = NATIONAL_ROWS - len(in_error)
    assert f"{kept} ligne(s) ont été créée(s), 0 mise(s) à jour, 0 inchangée(s)." in out
    assert f"{kept} ligne(s) sans erreur importée(s), {len(in_error)} ligne(s) en erreur écartée(s)" in out
    errors_path = national.with_name("siae_france_2020-erreurs.csv")
    assert f"Lignes écartées, avec leurs erreurs : {errors_path}" in out

    imported = structures(w).filter(siret__in=[c[siret] for c in data])
    assert structures(w).count() - before[3] == kept == imported.count()
    kept_rows = [cells for number, cells in enumerate(data, start=2) if number not in in_error]
    assert set(imported.values_list("siret", flat=True)) == {c[siret] for c in kept_rows}
    # A SIRET written twice: its first line is imported (when valid), the second one left out.
    first_of_twice = next(n for n in sorted(twice) if data[n - 2][siret] in {c[siret] for c in kept_rows})
    assert imported.filter(siret=data[first_of_twice - 2][siret]).exists()
    # Each structure's category is its kept line's `kind`.
    assert Counter(imported.values_list("category__code", flat=True)) == Counter(
        c[header.index("kind")].lower() for c in kept_rows
    )

    # The error file: the header with an "erreurs" column, then the lines left out, exactly, as they were.
    errors = csv_lines(errors_path.read_bytes())
    assert errors[0] == [*header, "erreurs"]
    assert [line[:-1] for line in errors[1:]] == [data[n - 2] for n in in_error]
    assert all(line[-1] for line in errors[1:])  # each with its errors
    luhn_line = errors[1 + in_error.index(min(bad_key))]
    assert "n'est pas un SIRET valide" in luhn_line[-1]

    # Again: the rows imported are unchanged, the same rows are left out, nothing is written.
    audit = AuditEntry.objects.count()
    again, _ = run(
        "structures", national, filename=national.name, facilitator=w.facilitator, skip_invalid=True
    )
    assert again.status == "committed"
    assert again.counts == {"create": 0, "update": 0, "unchanged": kept}
    assert again.left_out == in_error
    assert AuditEntry.objects.count() == audit
    assert again.as_json()["left_out"] == len(in_error)


# --- Rows that lean on a row in error ----------------------------------------------------------------------

SIAE_HEADER = ["siret", "kind", "name", "post_code", "city"]
# Real SIRETs (Luhn key right).
FRONTONNAIS, EIFFAGE, COLAS = "20003495700031", "70204480900011", "32925071400014"


def import_structures(w, lines, **kwargs):
    kwargs.setdefault("by", w.users["facilitator_member"])
    data = csv_bytes(lines, delimiter=",")
    return run("structures", data, filename="siae.csv", facilitator=w.facilitator, **kwargs)


def test_a_siret_twice_is_left_out_twice_when_its_first_line_is_in_error(world_a):
    w = world_a
    CommuneFactory()  # Toulouse
    lines = [
        SIAE_HEADER,
        [FRONTONNAIS, "ACI", "Chantier du Frontonnais", "31000", "Atlantide"],  # unknown commune
        [FRONTONNAIS, "EI", "Frontonnais Entreprise", "31000", "Toulouse"],  # the same SIRET again
        [EIFFAGE, "EI", "Bâtir Ensemble", "31000", "Toulouse"],
    ]
    report, validation = import_structures(w, lines, skip_invalid=True)
    assert report.status == "committed", list(report.lines())
    assert report.counts == {"create": 1, "update": 0, "unchanged": 0} and report.left_out == [2, 3]
    assert [str(p) for p in report.problems] == [
        "Ligne 2, colonne « city » (E) : commune « Atlantide » inconnue : indiquez son nom exact ou son code "
        "INSEE.",
        f"Ligne 3, colonne « siret » (A) : le SIRET {FRONTONNAIS} figure déjà à la ligne 2 du fichier.",
    ]
    assert list(structures(w).filter(siret__in=[FRONTONNAIS, EIFFAGE]).values_list("siret", flat=True)) == [
        EIFFAGE
    ]
    errors = error_file(
        csv_bytes(lines, delimiter=","),
        validation.records,
        validation.left_out_problems,
        only=report.left_out,
    )
    assert (errors.extension, errors.content_type) == ("csv", "text/csv; charset=utf-8")
    rows = csv_lines(errors.content)
    assert [row[:-1] for row in rows] == [SIAE_HEADER, lines[1], lines[2]]


def test_lots_of_a_market_refused_on_its_first_row_are_left_out_with_it(world_a):
    w = world_a
    lines = sheet(w)
    lines[1][6] = "01/01/2025"  # the end before the start: market 2025-001 cannot be created
    other = list(lines[1])
    other[0], other[6], other[8], other[11] = "2025-002", "31/12/2026", "1", ""
    lines.append(other)
    report, _ = run(
        "marches", csv_bytes(lines), filename="m.csv", facilitator=w.facilitator, skip_invalid=True
    )
    assert report.status == "committed", list(report.lines())
    assert report.left_out == [2, 3] and report.counts["create"] == 1
    assert str(report.problems[1]) == (
        "Ligne 3, colonne « N° marché » (A) : le marché 2025-001 ne peut pas être enregistré : voir la ligne "
        "2 du fichier."
    )
    assert not Market.objects.filter(reference="2025-001").exists()
    assert Market.objects.get(reference="2025-002").lots.count() == 1


# --- Other kinds: the choice belongs to the pipeline ---------------------------------------------------------


def test_hours_two_good_rows_and_one_bad_row_import_two_with_the_option(people):  # noqa: F811
    w, lefevre, oeuvray = people
    lines = statement_lines(w.lot.number, w.market.reference)
    lines.insert(6, ["Inconnu", "Paul", "01/01/1980", w.market.reference, w.lot.number, "05/2024", "10", ""])
    data = csv_bytes(lines, encoding="cp1252")

    report, _ = run("heures", data, filename="r.csv", facilitator=w.facilitator)
    assert report.status == "refused" and not HoursRecord.objects.filter(month=MAY).exists()

    report, validation = run(
        "heures", data, filename="r.csv", facilitator=w.facilitator, skip_invalid=True, dry_run=True
    )
    assert report.status == "valid" and report.counts["create"] == 2 and report.left_out == [7]
    assert "2 ligne(s) sans erreur seraient importées, 1 ligne(s) en erreur seraient écartées" in "\n".join(
        report.lines()
    )
    assert not HoursRecord.objects.filter(month=MAY).exists()

    report, validation = run(
        "heures",
        data,
        filename="r.csv",
        facilitator=w.facilitator,
        by=w.users["facilitator_member"],
        skip_invalid=True,
    )
    assert report.status == "committed" and report.counts == {"create": 2, "update": 0, "unchanged": 0}
    assert set(HoursRecord.objects.filter(month=MAY).values_list("contract", flat=True)) == {
        lefevre.pk,
        oeuvray.pk,
    }
    errors = error_file(data, validation.records, validation.left_out_problems, only=validation.left_out)
    assert errors.content_type == "text/csv; charset=cp1252"
    rows = list(csv.reader(io.StringIO(errors.content.decode("cp1252"), newline=""), delimiter=";"))
    assert rows[:3] == lines[:3]  # the title lines above the header, as they were
    assert rows[3] == [*lines[3], "erreurs"] and rows[4][:8] == lines[6]
    assert "aucun contrat trouvé pour Inconnu" in rows[4][8] and len(rows) == 5


def test_a_row_refused_only_once_the_others_pass_is_left_out_too(people):  # noqa: F811
    """The hours kind checks the validated statements only when every row passes: leaving the bad row out
    shows that the June row cannot be written either; both are left out, the May rows imported."""
    w, lefevre, _ = people
    MonthlyStatement.objects.create(
        facilitator=w.facilitator, employer=w.company, month=MAY.replace(month=6), status="validated"
    )
    lines = statement_lines(w.lot.number, w.market.reference)
    lines.insert(
        6, ["Lefèvre", "Hélène", "02/04/1985", w.market.reference, w.lot.number, "06/2024", "10", ""]
    )
    lines.insert(7, ["Inconnu", "Paul", "01/01/1980", w.market.reference, w.lot.number, "05/2024", "10", ""])
    data = csv_bytes(lines, encoding="cp1252")
    first, _ = run("heures", data, filename="r.csv", facilitator=w.facilitator)
    assert [p.row for p in first.problems] == [8]  # the June row is not seen yet
    report, _ = run("heures", data, filename="r.csv", facilitator=w.facilitator, skip_invalid=True)
    assert report.status == "committed" and report.counts["create"] == 2
    assert report.left_out == [7, 8]
    assert "est validé" in str(report.problems[0])
    assert not HoursRecord.objects.filter(contract=lefevre, month=MAY.replace(month=6)).exists()


def test_hours_a_second_row_for_a_contract_and_month_is_left_out_with_a_first_one_in_error(people):  # noqa: F811
    w, lefevre, oeuvray = people
    lines = statement_lines(w.lot.number, w.market.reference, hours=("beaucoup", "35"))
    lines.insert(
        6, ["Lefèvre", "Hélène", "02/04/1985", w.market.reference, w.lot.number, "05/2024", "12", ""]
    )
    report, _ = run(
        "heures", csv_bytes(lines), filename="r.csv", facilitator=w.facilitator, skip_invalid=True
    )
    assert report.left_out == [5, 7] and "déjà des heures pour 05/2024 à la ligne 5" in str(
        report.problems[1]
    )
    assert list(HoursRecord.objects.filter(month=MAY).values_list("contract", flat=True)) == [oeuvray.pk]


PARTICIPANTS_HEADER = ["Nom", "Prénom", "Né(e) le", "Sexe"]


def test_participants_two_good_rows_and_one_bad_row_import_two_with_the_option(world_a):
    w = world_a
    lines = [
        PARTICIPANTS_HEADER,
        ["Lefèvre", "Hélène", "02/04/1985", "F"],
        ["Bernard", "Jean", "31/02/1970", "H"],  # no such day
        ["Œuvray", "Zoé", "31/12/1999", "Femme"],
    ]
    data = csv_bytes(lines)
    before = Participant.objects.count()
    report, _ = run("participants", data, filename="p.csv", facilitator=w.facilitator)
    assert report.status == "refused" and Participant.objects.count() == before
    report, _ = run(
        "participants",
        data,
        filename="p.csv",
        facilitator=w.facilitator,
        by=w.users["facilitator_member"],
        skip_invalid=True,
    )
    assert report.status == "committed" and report.counts["create"] == 2 and report.left_out == [3]
    assert Participant.objects.count() == before + 2
    assert not Participant.objects.filter(
        facilitator=w.facilitator, last_name="Bernard", first_name="Jean"
    ).exists()


# --- What the option never does ------------------------------------------------------------------------------


def test_a_file_level_error_still_refuses_everything(world_a, tmp_path, capsys):
    w = world_a
    CommuneFactory()
    lines = [["siret", "name", "city"], [EIFFAGE, "Bâtir Ensemble", "Toulouse"], ["123", "Mauvais", ""]]
    before = counts(w)
    report, _ = import_structures(w, lines, skip_invalid=True)  # no "Type de structure" column
    assert report.status == "refused"
    assert report.messages == [
        "Une erreur concerne le fichier entier, pas une ligne : aucune ligne ne peut être importée avant "
        "qu'elle soit corrigée."
    ]
    assert [str(p) for p in report.problems] == [
        "La colonne « Type de structure » est obligatoire : indiquez quelle colonne du fichier la contient."
    ]
    assert counts(w) == before

    path = tmp_path / "siae.csv"
    path.write_bytes(csv_bytes(lines, delimiter=","))
    with pytest.raises(SystemExit) as exit_info:
        call_command("import", "structures", str(path), "--facilitator", w.facilitator.slug, "--skip-invalid")
    assert exit_info.value.code == 1 and "Import refusé" in capsys.readouterr().out
    unreadable = tmp_path / "siae.xlsx"
    unreadable.write_bytes(b"\x00\x01garbage" * 40)
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "import",
            "structures",
            str(unreadable),
            "--facilitator",
            w.facilitator.slug,
            "--skip-invalid",
            "--json",
        )
    out = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1 and out["status"] == "refused" and out["errors_file"] is None
    assert counts(w) == before and not list(tmp_path.glob("*-erreurs.*"))


def test_nothing_is_kept_when_every_row_is_in_error_or_there_are_too_many_problems(world_a, monkeypatch):
    w = world_a
    CommuneFactory()
    bad = [SIAE_HEADER, ["123", "ACI", "A", "31000", "Toulouse"], ["456", "EI", "B", "31000", "Toulouse"]]
    report, _ = import_structures(w, bad, skip_invalid=True)
    assert report.status == "refused" and report.messages == [
        "Aucune ligne sans erreur : rien ne peut être importé."
    ]
    monkeypatch.setattr(pipeline, "MAX_PROBLEMS", 1)
    report, _ = import_structures(w, [*bad, [EIFFAGE, "EI", "C", "31000", "Toulouse"]], skip_invalid=True)
    assert (
        report.status == "refused"
        and "au-delà de 1, les lignes en erreur ne peuvent pas" in report.messages[0]
    )
    assert not structures(w).filter(siret=EIFFAGE).exists()


def test_a_crash_while_writing_the_rows_kept_writes_nothing(world_a, monkeypatch):
    w = world_a
    CommuneFactory()
    lines = [
        SIAE_HEADER,
        [EIFFAGE, "EI", "Bâtir Ensemble", "31000", "Toulouse"],
        ["123", "ACI", "Mauvais", "31000", "Toulouse"],
        [COLAS, "ACI", "Routes Solidaires", "31000", "Toulouse"],
    ]
    real_commit = StructuresKind.commit

    def crash(self, items, *, facilitator, by):
        real_commit(self, items, facilitator=facilitator, by=by)  # the rows kept are written…
        raise RuntimeError("panne du disque")  # …then it crashes

    monkeypatch.setattr(StructuresKind, "commit", crash)
    before = counts(w)
    with pytest.raises(RuntimeError):
        import_structures(w, lines, skip_invalid=True)
    assert counts(w) == before  # one transaction: neither of the two rows kept


def test_the_command_help_documents_the_option():
    from django.core.management import load_command_class

    command = load_command_class("clausier.imports", "import")
    text = " ".join(command.create_parser("clausier", "import").format_help().split())
    assert "--skip-invalid écarter les lignes en erreur et importer les autres" in text
    assert "refuse toujours tout" in text and "--errors-file" in text
