"""The official open data that ships with Clausier: checksums verified, loaded whole or not at all, once."""

import datetime
import hashlib
import json
import lzma
import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clausier.geo.models import Commune, Qpv
from clausier.geo.qpv import qpv_at
from clausier.reference.models import NafCode, OfficialDataset, RomeAppellation, RomeJob
from clausier.reference.official import (
    LOADERS,
    OfficialDataError,
    datasets,
    extract,
    load_official,
    record_loaded,
    sha256_of,
    shipped_file,
)
from tests.official_data import OFFICIAL

pytestmark = pytest.mark.django_db

# 12 chemin des Izards, Toulouse (recorded BAN answer, tests/geo/recordings): inside QP031011 Les Izards.
IZARDS = (1.442308, 43.638088)


def counts():
    return (
        RomeJob.objects.count(),
        RomeAppellation.objects.count(),
        NafCode.objects.count(),
        Commune.objects.count(),
        Qpv.objects.count(),
    )


def copy_of_official(tmp_path):
    folder = tmp_path / "official"
    shutil.copytree(OFFICIAL, folder)
    return folder


def test_the_manifest_matches_every_shipped_file():
    sets = datasets()
    assert set(sets) == {"rome", "naf", "communes", "qpv2015", "siae"}
    for dataset in sets.values():
        assert dataset.licence.startswith("Licence Ouverte / Etalab")
        assert dataset.url.startswith("https://") and dataset.publisher and dataset.version
        for name, checksum in dataset.files.items():
            assert sha256_of(OFFICIAL / name) == checksum, name
    shipped = {path.name for path in OFFICIAL.glob("*.xz")}
    assert shipped == {name for d in sets.values() for name in d.files}  # no file without provenance


def test_first_load_then_a_second_one_changes_nothing():
    reports = load_official()

    assert [r.loaded for r in reports] == [True] * len(LOADERS)
    assert counts() == (1056, 12107, 1728, 35014, 105)
    rows = {d.key: d for d in OfficialDataset.objects.all()}
    assert set(rows) == set(LOADERS)
    assert rows["communes"].sha256 == datasets()["communes"].sha256
    assert rows["communes"].origin == OfficialDataset.Origin.SHIPPED and rows["communes"].rows == 35014
    assert rows["rome"].version.startswith("ROME v458")
    # What the product then knows: a real job title, a real commune, a real QPV perimeter.
    assert RomeAppellation.objects.filter(label__startswith="Maçon", job__code="F1703").exists()
    assert Commune.objects.get(insee_code="31555").epci_name == "Toulouse Métropole"
    assert qpv_at(*IZARDS, datetime.date(2020, 6, 1)).code == "QP031011"

    loaded_at = sorted(OfficialDataset.objects.values_list("loaded_at", flat=True))
    again = load_official()

    assert [r.loaded for r in again] == [False] * len(LOADERS)
    assert all("déjà chargé" in r.summary() for r in again)
    assert counts() == (1056, 12107, 1728, 35014, 105)
    assert sorted(OfficialDataset.objects.values_list("loaded_at", flat=True)) == loaded_at


def test_a_tampered_file_is_refused_and_nothing_is_loaded(tmp_path):
    folder = copy_of_official(tmp_path)
    qpv = folder / "qpv2015_occitanie.geojson.xz"
    qpv.write_bytes(lzma.compress(lzma.decompress(qpv.read_bytes()).replace(b"Izards", b"Lizards")))

    with pytest.raises(
        OfficialDataError, match="qpv2015_occitanie.geojson.xz ne correspond pas à son empreinte"
    ):
        load_official(folder=folder)

    assert counts() == (0, 0, 0, 0, 0)
    assert not OfficialDataset.objects.exists()


def test_a_missing_file_is_refused(tmp_path):
    folder = copy_of_official(tmp_path)
    (folder / "naf_rev2_codes.csv.xz").unlink()

    with pytest.raises(OfficialDataError, match="naf_rev2_codes.csv.xz absent"):
        load_official(folder=folder)
    assert counts() == (0, 0, 0, 0, 0)


def test_a_file_that_fails_to_load_rolls_back_the_data_sets_before_it(tmp_path):
    """ROME and NAF load first; a broken QPV file (with a matching checksum) undoes them too."""
    folder = copy_of_official(tmp_path)
    broken = folder / "qpv2015_occitanie.geojson.xz"
    broken.write_bytes(lzma.compress(b'{"type": "FeatureCollection", "features": []}'))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["datasets"]["qpv2015"]["files"][broken.name]["sha256"] = hashlib.sha256(
        broken.read_bytes()
    ).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    with pytest.raises(OfficialDataError, match="aucun périmètre trouvé"):
        load_official(folder=folder)

    assert counts() == (0, 0, 0, 0, 0)
    assert not OfficialDataset.objects.exists()


def test_a_newer_version_from_the_publisher_is_kept():
    record_loaded(
        key="naf",
        version="NAF 2025",
        origin="downloaded",
        source_url="https://insee.fr",
        sha256="0" * 64,
        rows=1,
    )

    reports = {r.dataset.key: r for r in load_official(keys=["naf"])}

    assert (
        not reports["naf"].loaded and "version plus récente en place (NAF 2025)" in reports["naf"].summary()
    )
    assert not NafCode.objects.exists()
    assert load_official(keys=["naf"], force=True)[0].loaded
    assert NafCode.objects.count() == 1728


def test_command_loads_everything_and_reports_it():
    out = StringIO()
    call_command("load_reference", stdout=out)
    text = out.getvalue()

    assert "Bases juridiques (legal_bases.json, version 2026.1)" in text
    assert "35014 commune(s) lue(s), 35014 créée(s)" in text
    assert "Référentiels chargés en" in text
    out = StringIO()
    call_command("load_reference", "--officiel", "naf", stdout=out)
    assert "NAF rév. 2 (2008)) : déjà chargé, inchangé." in out.getvalue()
    assert "Bases juridiques" not in out.getvalue()


def test_command_refuses_an_unknown_data_set_in_french():
    with pytest.raises(CommandError, match="Jeu\\(x\\) de données inconnu\\(s\\) : qpv2030"):
        call_command("load_reference", "--officiel", "qpv2030", stdout=StringIO())
    assert not OfficialDataset.objects.exists()


def test_shipped_files_are_checked_before_they_are_handed_out(tmp_path):
    siae = extract("siae_haute_garonne_2020.csv.xz", tmp_path)
    assert siae.name == "siae_haute_garonne_2020.csv"
    assert siae.read_text(encoding="utf-8").count("\n") == 63  # header + 62 structures
    with pytest.raises(OfficialDataError, match="ne figure pas dans le manifeste"):
        shipped_file("secret.csv.xz")
    folder = copy_of_official(tmp_path)
    (folder / "siae_france_2020.csv.xz").write_bytes(b"not xz")
    with pytest.raises(OfficialDataError, match="siae_france_2020.csv.xz ne correspond pas"):
        shipped_file("siae_france_2020.csv.xz", folder)
