"""`clausier geo import-communes`: the real Toulouse Métropole list and the real COG 2026 file."""

import pytest
from django.core.management import CommandError, call_command

from clausier.geo.communes import CommuneFileError, import_communes
from clausier.geo.models import Commune
from tests.official_data import COG, DATA, TOULOUSE_METROPOLE

pytestmark = pytest.mark.django_db


def test_toulouse_metropole_list():
    report = import_communes(TOULOUSE_METROPOLE)

    assert report.format.name == "list"
    assert (report.read, len(report.created), len(report.updated), report.unchanged) == (37, 37, 0, 0)
    assert Commune.objects.count() == 37
    assert set(Commune.objects.values_list("epci_code", flat=True)) == {"243100518"}
    toulouse = Commune.objects.get(insee_code="31555")
    assert toulouse.name == "Toulouse"
    assert toulouse.department_code == "31"
    assert toulouse.epci_name == "Toulouse Métropole"
    assert toulouse.population == 511684
    assert toulouse.postal_code_list == ["31000", "31100", "31200", "31300", "31400", "31500"]
    # The source's own check: the EPCI's population municipale.
    assert sum(Commune.objects.values_list("population", flat=True)) == 832348


def test_importing_twice_changes_nothing(capsys):
    call_command("geo", "import-communes", str(TOULOUSE_METROPOLE))
    snapshot = list(Commune.objects.values())

    call_command("geo", "import-communes", str(TOULOUSE_METROPOLE))

    assert list(Commune.objects.values()) == snapshot
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [
        "communes_toulouse_metropole.csv (liste de communes) : 37 commune(s) lue(s), 37 créée(s), "
        "0 mise(s) à jour, 0 inchangée(s).",
        "communes_toulouse_metropole.csv (liste de communes) : 37 commune(s) lue(s), 0 créée(s), "
        "0 mise(s) à jour, 37 inchangée(s).",
    ]


def test_cog_keeps_current_communes_and_municipal_arrondissements():
    report = import_communes(COG)

    assert report.format.name == "cog"
    # 34,969 communes actuelles + 45 arrondissements municipaux; 2,105 déléguées + 471 associées left out.
    assert (report.read, report.skipped) == (35014, 2576)
    assert Commune.objects.count() == 35014
    assert Commune.objects.filter(department_code="31").count() == 586
    assert Commune.objects.filter(department_code="31", epci_code="243100518").count() == 37
    assert Commune.objects.get(insee_code="31555").postal_codes == "31000 31100 31200 31300 31400 31500"
    # A commune nouvelle shares its code with its commune déléguée chef-lieu: the current name wins.
    assert Commune.objects.get(insee_code="01015").name == "Arboys en Bugey"
    marseille_1 = Commune.objects.get(insee_code="13201")
    assert marseille_1.name == "Marseille 1er Arrondissement"
    assert marseille_1.epci_code == Commune.objects.get(insee_code="13055").epci_code != ""
    assert Commune.objects.get(insee_code="2A004").department_code == "2A"  # Ajaccio


def test_cog_after_the_list_updates_in_place_and_is_idempotent():
    import_communes(TOULOUSE_METROPOLE)

    first = import_communes(COG, departments=["31"])
    second = import_communes(COG, departments=["31"])

    assert first.read == 586
    assert len(first.created) == 586 - 37
    assert Commune.objects.count() == 586
    assert (len(second.created), len(second.updated), second.unchanged) == (0, 0, 586)


def test_a_file_without_the_needed_columns_is_refused():
    with pytest.raises(CommandError) as error:
        call_command("geo", "import-communes", str(DATA / "epci_haute_garonne_2026.csv"))

    message = str(error.value)
    assert message.startswith("Fichier epci_haute_garonne_2026.csv : colonnes non reconnues")
    assert "liste de communes : il manque code_insee, nom, codes_postaux, code_departement" in message
    assert "Aucune commune n'a été importée." in message
    assert not Commune.objects.exists()


def test_a_bad_line_writes_nothing(tmp_path):
    lines = TOULOUSE_METROPOLE.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[0], "3X999", 1)
    bad = tmp_path / "communes.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(
        CommuneFileError, match=r"Fichier communes\.csv, ligne 6 : code INSEE « 3X999 » invalide"
    ):
        import_communes(bad)

    assert not Commune.objects.exists()


def test_semicolon_separated_list_from_a_spreadsheet(tmp_path):
    path = tmp_path / "communes.csv"
    path.write_text(
        "\ufeffcode_insee;nom;codes_postaux;population_municipale;code_departement;code_epci;nom_epci\n"
        "31555;Toulouse;31000|31100;511684;31;243100518;Toulouse Métropole\n",
        encoding="utf-8",
    )

    import_communes(path)

    assert Commune.objects.get(insee_code="31555").postal_code_list == ["31000", "31100"]


def test_the_geo_command_needs_a_subcommand():
    with pytest.raises(CommandError, match="SOUS-COMMANDE"):
        call_command("geo")
