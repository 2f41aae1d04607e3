"""ROME and NAF imported from the official files that ship with Clausier (compressed, read in place)."""

import pytest
from django.core.management import CommandError, call_command

from clausier.reference.models import NafCode, RomeAppellation, RomeDomain, RomeJob
from clausier.reference.referentials import ReferentialError, import_naf, import_rome, naf_label
from clausier.utils.compressed import plain_name, read_bytes
from tests.official_data import OFFICIAL

pytestmark = pytest.mark.django_db
FOLDER = OFFICIAL


def test_rome_v458_whole_hierarchy_then_reimport_changes_nothing():
    counts = import_rome(FOLDER)
    # Row counts of the files (PROVENANCE.md): 14 grands domaines, 110 domaines, 1,056 jobs, 12,107 titles.
    assert [
        counts[k].created for k in ("grands domaines", "domaines professionnels", "métiers", "appellations")
    ] == [
        14,
        110,
        1056,
        12107,
    ]
    mason = RomeJob.objects.select_related("domain__parent").get(code="F1703")
    assert mason.label == "Maçon / Maçonne" and mason.version == "ROME v458"
    assert mason.domain.code == "F17" and mason.domain.parent.code == "F"
    assert RomeAppellation.objects.filter(job=mason).exists()
    again = import_rome(FOLDER)
    assert all(c.created == c.updated == 0 for c in again.values())
    assert RomeDomain.objects.count() == 124 and RomeJob.objects.count() == 1056


def test_a_changed_label_is_updated(tmp_path):
    import_rome(FOLDER)
    for path in FOLDER.glob("rome_v458_*.csv.xz"):
        (tmp_path / plain_name(path)).write_bytes(read_bytes(path))
    jobs = tmp_path / "rome_v458_referentiel_code_rome.csv"
    jobs.write_text(
        jobs.read_text(encoding="utf-8").replace('"Maçon / Maçonne"', '"Maçon(ne)"'), encoding="utf-8"
    )
    assert import_rome(tmp_path)["métiers"].updated == 1
    assert RomeJob.objects.get(code="F1703").label == "Maçon(ne)"


def test_naf_all_levels_with_sections():
    counts = import_naf(FOLDER)
    assert counts.created == 21 + 1707  # sections + the codes file's rows
    assert NafCode.objects.get(code="43.99C").section == "F"
    assert NafCode.objects.get(code="F").level == "section"
    assert naf_label("88.10A") == "Aide à domicile" and naf_label("99.99Z") == ""
    assert import_naf(FOLDER).unchanged == 1728


def test_bad_folders_are_refused_in_french_and_write_nothing(tmp_path):
    with pytest.raises(ReferentialError, match="Aucun fichier"):
        import_rome(tmp_path)
    (tmp_path / "naf_rev2_sections.csv").write_text("code_section,libelle_section\nA,Agriculture\n")
    (tmp_path / "naf_rev2_codes.csv").write_text("code,niveau,code_section,libelle\n01,division,Z,Culture\n")
    with pytest.raises(ReferentialError, match="section Z inconnue"):
        import_naf(tmp_path)
    assert not NafCode.objects.exists()
    with pytest.raises(CommandError, match="Aucun fichier"):
        call_command("reference", "import-naf", str(tmp_path / "absent"))
