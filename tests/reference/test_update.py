"""`clausier reference update`: the official data sets fetched from their publishers (recorded answers in
tests/reference/recordings/, never the network), checked, recorded and loaded whole or not at all."""

import datetime
import hashlib
import json
from io import StringIO

import httpx
import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.db import connections

from clausier.geo.models import Commune, Qpv
from clausier.geo.qpv import qpv_at
from clausier.reference import sources
from clausier.reference.models import OfficialDataset, RomeAppellation, RomeJob
from clausier.reference.official import record_loaded
from clausier.reference.sources import (
    DEFAULT_OFFICIAL_SOURCES,
    HttpOfficialSource,
    OfficialSourceError,
    source_config,
)
from clausier.reference.update import cog_rows, update_official
from tests.reference.recordings import official
from tests.reference.recordings.official import (
    COMMUNES,
    QPV,
    QPV_ZIP_URL,
    ROME,
    ROME_ZIP_URL,
    offline,
    publishers,
    qpv_zip,
    recording,
    rome_zip,
    transport,
)

pytestmark = pytest.mark.django_db

# The recordings are small extracts: their thresholds are lowered here, except in the tests of the thresholds.
SMALL = {"qpv2024": {"min_features": 3}, "communes": {"min_communes": 6}}


@pytest.fixture(autouse=True)
def small_extracts(settings):
    settings.OFFICIAL_SOURCES = SMALL


@pytest.fixture
def use(monkeypatch):
    """`use(transport)`: the update talks to these answers."""

    def install(mock: httpx.MockTransport):
        monkeypatch.setattr(sources, "default_source", lambda: HttpOfficialSource(transport=mock))

    return install


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def update(*args) -> str:
    out = StringIO()
    call_command("reference", "update", *args, stdout=out)
    return out.getvalue()


def nothing_written():
    assert not OfficialDataset.objects.exists()
    assert (Qpv.objects.count(), Commune.objects.count(), RomeJob.objects.count()) == (0, 0, 0)


# --- Each data set ------------------------------------------------------------------------------------------


def test_qpv2024_from_the_anct(use):
    requests = []
    use(transport(requests=requests))

    out = update("--jeu", "qpv2024")

    assert [str(r.url) for r in requests] == [
        QPV["dataset_api"],
        QPV_ZIP_URL,
    ]  # the WGS84 zip, not the decoys
    assert Qpv.objects.filter(millesime=2024).count() == 3
    inside = qpv_at(1.402, 43.572, datetime.date(2025, 3, 1))
    assert (inside.code, inside.name) == ("QN03101M", "Périmètre d'essai A")
    row = OfficialDataset.objects.get(key="qpv2024")
    assert row.origin == OfficialDataset.Origin.DOWNLOADED
    assert row.sha256 == sha256(qpv_zip())  # of the bytes as downloaded
    assert row.source_url == QPV_ZIP_URL and row.rows == 3
    assert row.version.startswith(
        "QPV 2024 (décret n° 2023-1314), QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson, ressource du 27/06/2024"
    )
    assert (
        "Liste nationale des QPV 2024 — QPV 2024" in out and "3 périmètres aux codes de la liste 2024" in out
    )
    assert "Mise à jour terminée : 1 jeu(x) de données chargé(s) en une transaction." in out


def test_a_geojson_published_without_zip(use, settings):
    answers = publishers()
    url = "https://static.data.gouv.fr/resources/qpv/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
    dataset = json.loads(recording("datagouv_qpv.json"))
    dataset["resources"] = [{"title": "QP2024 WGS84", "format": "geojson", "url": url, "last_modified": ""}]
    answers[QPV["dataset_api"]] = httpx.Response(200, json=dataset)
    answers[url] = httpx.Response(200, content=recording("qpv2024_essai.geojson"))
    use(transport(answers))

    update("--jeu", "qpv2024")

    row = OfficialDataset.objects.get(key="qpv2024")
    assert row.sha256 == sha256(recording("qpv2024_essai.geojson")) and row.source_url == url
    assert Qpv.objects.filter(millesime=2024).count() == 3


def test_communes_from_decoupage_administratif(use):
    use(transport())

    update("--jeu", "communes")

    assert Commune.objects.count() == 7
    toulouse = Commune.objects.get(insee_code="31555")
    assert (toulouse.name, toulouse.epci_code, toulouse.epci_name) == (
        "Toulouse",
        "243100518",
        "Toulouse Métropole",
    )
    assert toulouse.postal_codes == "31000 31100 31200 31300 31400 31500" and toulouse.population == 514819
    arrondissement = Commune.objects.get(insee_code="75101")  # inherits the EPCI of Paris
    assert (arrondissement.epci_name, arrondissement.department_code) == ("Métropole du Grand Paris", "75")
    assert Commune.objects.get(insee_code="97414").department_code == "974"
    row = OfficialDataset.objects.get(key="communes")
    assert row.origin == OfficialDataset.Origin.DOWNLOADED and row.rows == 7
    # Two files: one fingerprint of their checksums, in order (as the manifest does for a set of files).
    parts = sha256(recording("geo_api_communes.json")) + sha256(recording("geo_api_epcis.json"))
    assert row.sha256 == hashlib.sha256(parts.encode()).hexdigest()
    assert row.source_url == COMMUNES["communes_url"]
    assert row.version.startswith("COG courant (decoupage-administratif 6.0.0, téléchargé le ")


def test_the_package_files_convert_too():
    """`communes.json` / `epci.json` of decoupage-administratif itself (another `communes_url`/`epci_url`)."""
    communes = [
        {"code": "01015", "nom": "Arboys en Bugey", "type": "commune-actuelle", "departement": "01",
         "codesPostaux": ["01300"], "population": 710},
        {"code": "01015", "nom": "Arbignieu", "type": "commune-deleguee", "chefLieu": "01015"},
        {"code": "13201", "nom": "Marseille 1er Arrondissement", "type": "arrondissement-municipal",
         "departement": "13", "commune": "13055", "codesPostaux": ["13001"], "population": 40000},
    ]  # fmt: skip
    epcis = [
        {"code": "200040350", "nom": "CC Bugey Sud", "membres": [{"code": "01015", "siren": "200053668"}]}
    ]

    rows = cog_rows(communes, epcis)

    assert rows[0] == {
        "code_insee": "01015",
        "nom": "Arboys en Bugey",
        "type": "commune-actuelle",
        "code_departement": "01",
        "codes_postaux": "01300",
        "population": "710",
        "code_epci": "200040350",
        "nom_epci": "CC Bugey Sud",
        "commune_parente": "",
    }
    assert (rows[1]["type"], rows[1]["commune_parente"]) == ("commune-deleguee", "01015")
    assert (rows[2]["commune_parente"], rows[2]["population"], rows[2]["code_epci"]) == ("13055", "40000", "")


def test_rome_from_france_travail(use):
    use(transport())

    out = update("--jeu", "rome")

    assert RomeJob.objects.count() == 1056 and RomeAppellation.objects.count() == 12107
    assert RomeJob.objects.get(code="F1703").version == "ROME v459"
    row = OfficialDataset.objects.get(key="rome")
    assert row.origin == OfficialDataset.Origin.DOWNLOADED
    assert row.sha256 == sha256(rome_zip()) and row.source_url == ROME_ZIP_URL
    assert row.version.startswith("ROME v459, ressource du 10/04/2025, téléchargé le ")
    assert "1\u202f056 métiers, 12\u202f107 appellations" in out


def test_everything_at_once_then_load_reference_keeps_the_downloaded_versions(use):
    use(transport())

    update()

    rows = {row.key: row for row in OfficialDataset.objects.all()}
    assert set(rows) == {"qpv2024", "communes", "rome"}
    assert {row.origin for row in rows.values()} == {OfficialDataset.Origin.DOWNLOADED}
    out = StringIO()
    call_command("load_reference", "--officiel", "communes", "--officiel", "rome", stdout=out)
    assert out.getvalue().count("version plus récente en place") == 2
    after = {row.key: row for row in OfficialDataset.objects.all()}
    for key in ("communes", "rome"):
        assert (after[key].origin, after[key].sha256, after[key].version) == (
            OfficialDataset.Origin.DOWNLOADED,
            rows[key].sha256,
            rows[key].version,
        )
    assert Commune.objects.count() == 7 and RomeJob.objects.get(code="F1703").version == "ROME v459"


def test_dry_run_checks_and_loads_nothing(use):
    use(transport())

    out = update("--dry-run")

    assert "vérifié, non chargé (--dry-run)" in out
    assert "Vérification terminée (3 jeu(x) de données) : rien n'a été modifié." in out
    nothing_written()


# --- Offline ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (None, "[Errno -2] Name or service not known"),
        (httpx.ConnectTimeout("timed out"), "timed out"),
        (httpx.ReadTimeout("The read operation timed out"), "The read operation timed out"),
    ],
)
def test_offline_says_so_and_changes_nothing(use, failure, reason):
    if failure is None:
        use(offline())
    else:
        use(transport(dict.fromkeys(publishers(), failure)))

    with pytest.raises(CommandError) as error:
        update()

    assert str(error.value) == (
        "Pas d'accès à Internet : impossible de joindre l'ANCT sur data.gouv.fr "
        f"(www.data.gouv.fr : {reason}). Rien n'a été modifié."
    )
    assert error.value.returncode == 1
    nothing_written()


def test_offline_keeps_what_was_loaded(use):
    record_loaded(key="rome", version="ROME v458", origin="shipped", source_url="", sha256="a" * 64, rows=1)
    use(offline())

    with pytest.raises(CommandError, match="impossible de joindre France Travail sur data.gouv.fr"):
        update("--jeu", "rome")

    assert OfficialDataset.objects.get().version == "ROME v458"


def test_the_command_line_exits_with_status_1(use, capsys, monkeypatch):
    use(offline())
    # The command line closes the database connections when it ends: on PostgreSQL that would end this
    # test's transaction before `nothing_written` reads the tables.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(["clausier", "reference", "update", "--jeu", "communes"]).execute()

    assert exit_.value.code == 1
    assert capsys.readouterr().err.strip() == (
        "CommandError: Pas d'accès à Internet : impossible de joindre l'API Découpage administratif "
        "(geo.api.gouv.fr : [Errno -2] Name or service not known). Rien n'a été modifié."
    )
    nothing_written()


# --- Bad answers: one data set wrong, nothing written, even for the others -------------------------------------


def geojson_with(features) -> bytes:
    data = json.loads(recording("qpv2024_essai.geojson"))
    data["features"] = features(data["features"])
    return json.dumps(data).encode()


def truncated(content: bytes) -> bytes:
    return content[: len(content) // 2]


BAD_ANSWERS = {
    "html-instead-of-json": (
        QPV["dataset_api"],
        httpx.Response(200, text="<!doctype html><html><body>Maintenance</body></html>"),
        "Liste nationale des QPV 2024 : l'ANCT sur data.gouv.fr : réponse illisible pour "
        f"{QPV['dataset_api']} (JSON attendu, reçu « <!doctype html><html><body>Maintenance<",
    ),
    "no-2024-resource": (
        QPV["dataset_api"],
        httpx.Response(200, json={"resources": [json.loads(recording("datagouv_qpv.json"))["resources"][0]]}),
        "Liste nationale des QPV 2024 : l'ANCT sur data.gouv.fr : aucune ressource ne correspond ((?i)2024, format geojson ou json ou zip)",
    ),
    "http-404": (
        QPV_ZIP_URL,
        httpx.Response(404, text="Not found"),
        "Liste nationale des QPV 2024 : l'ANCT sur data.gouv.fr a répondu HTTP 404 pour ",
    ),
    "truncated-qpv-zip": (
        QPV_ZIP_URL,
        httpx.Response(200, content=truncated(qpv_zip())),
        "Liste nationale des QPV 2024 : archive zip illisible ou tronquée",
    ),
    "zip-without-the-geojson": (
        QPV_ZIP_URL,
        httpx.Response(200, content=official.zipped({"SHP/QP2024.shp": b"..."})),
        "Liste nationale des QPV 2024 : l'archive qp2024-france-hexagonale-outre-mer-wgs84.zip ne contient pas",
    ),
    "not-a-feature-collection": (
        QPV_ZIP_URL,
        httpx.Response(200, content=qpv_zip(b'{"type": "Feature"}')),
        "Liste nationale des QPV 2024 : une FeatureCollection GeoJSON est attendue.",
    ),
    "too-few-features": (
        QPV_ZIP_URL,
        httpx.Response(200, content=qpv_zip(geojson_with(lambda features: features[:2]))),
        "Liste nationale des QPV 2024 : 2 périmètre(s) seulement, au moins 3 attendus",
    ),
    "2015-codes": (
        QPV_ZIP_URL,
        httpx.Response(
            200,
            content=qpv_zip(
                geojson_with(
                    lambda fs: [
                        *fs[:2],
                        {**fs[2], "properties": {**fs[2]["properties"], "code_qp": "QP031007"}},
                    ]
                )
            ),
        ),
        "Liste nationale des QPV 2024 : périmètre n° 3, code « QP031007 » : les codes de la liste 2024 "
        "commencent par QN",
    ),
    "communes-not-a-list": (
        COMMUNES["communes_url"],
        httpx.Response(200, json={"message": "Service indisponible"}),
        "Communes du COG (EPCI, codes postaux) : une liste de communes et une liste d'EPCI sont attendues.",
    ),
    "too-few-communes": (
        COMMUNES["communes_url"],
        httpx.Response(200, content=json.dumps(json.loads(recording("geo_api_communes.json"))[:5]).encode()),
        "Communes du COG (EPCI, codes postaux) : 5 commune(s) actuelle(s) seulement, au moins 6 attendues",
    ),
    "truncated-rome-zip": (
        ROME_ZIP_URL,
        httpx.Response(200, content=truncated(rome_zip())),
        "ROME 4.0 : archive zip illisible ou tronquée",
    ),
    "rome-without-titles": (
        ROME_ZIP_URL,
        httpx.Response(200, content=official.zipped({"RefRomeCsv/unix_grand_domaine_v459_utf8.csv": b"x"})),
        "ROME 4.0 : l'archive ne contient pas unix_domaine_professionnel_v4NN_utf8.csv, "
        "unix_referentiel_code_rome_v4NN_utf8.csv, unix_referentiel_appellation_v4NN_utf8.csv.",
    ),
    "rome-too-small": (
        ROME_ZIP_URL,
        httpx.Response(
            200,
            content=rome_zip(
                replace={"referentiel_appellation": b'"code_ogr","libelle_appellation_long","code_rome"\n'}
            ),
        ),
        "ROME 4.0 : 1\u202f056 métier(s) et 0 appellation(s) seulement, au moins 1\u202f000 et 10\u202f000 attendus.",
    ),
}


@pytest.mark.parametrize("case", BAD_ANSWERS)
def test_a_bad_answer_is_refused_and_nothing_is_written(use, case):
    url, answer, message = BAD_ANSWERS[case]
    answers = publishers()
    answers[url] = answer
    use(transport(answers))

    with pytest.raises(CommandError) as error:
        update()  # the three data sets: the two others are fine

    assert str(error.value).startswith(message)
    assert str(error.value).endswith(" Rien n'a été modifié.")
    nothing_written()


def test_a_file_the_importer_refuses_rolls_back_the_data_sets_loaded_before_it(use):
    """The checks pass, then the loading of the ROME (the last one) fails: the QPV and communes already
    written in the same transaction are taken back."""
    titles = b'"code_ogr","libelle_appellation_long","code_rome"\n' + b"".join(
        b'"%d","Appellation %d","Z9999"\n' % (n, n) for n in range(10000)
    )
    answers = publishers()
    answers[ROME_ZIP_URL] = httpx.Response(200, content=rome_zip(replace={"referentiel_appellation": titles}))
    use(transport(answers))

    with pytest.raises(CommandError) as error:
        update()

    assert str(error.value) == ("ROME 4.0 : Appellation 0 : métier Z9999 inconnu. Rien n'a été modifié.")
    nothing_written()


def test_an_older_rome_than_the_loaded_one_is_refused(use):
    record_loaded(
        key="rome", version="ROME v458 (shipped)", origin="shipped", source_url="", sha256="a" * 64, rows=1
    )
    answers = publishers()
    answers[ROME_ZIP_URL] = httpx.Response(200, content=rome_zip(457))
    use(transport(answers))

    with pytest.raises(
        CommandError, match=r"la version téléchargée \(v457\) est plus ancienne que celle chargée \(v458\)"
    ):
        update("--jeu", "rome")

    assert OfficialDataset.objects.get().version == "ROME v458 (shipped)"


def test_the_default_thresholds_refuse_the_small_extracts(use, settings):
    settings.OFFICIAL_SOURCES = {}
    use(transport())

    with pytest.raises(CommandError, match="3 périmètre\\(s\\) seulement, au moins 1\u202f000 attendus"):
        update("--jeu", "qpv2024")
    with pytest.raises(
        CommandError, match="6 commune\\(s\\) actuelle\\(s\\) seulement, au moins 34\u202f000"
    ):
        update("--jeu", "communes")
    nothing_written()


def test_a_download_over_the_size_limit_is_refused(use, settings):
    settings.OFFICIAL_DOWNLOAD_MAX_BYTES = 1000
    use(transport())

    with pytest.raises(CommandError) as error:
        update("--jeu", "rome")

    assert str(error.value) == (
        "ROME 4.0 : France Travail sur data.gouv.fr : le fichier "
        f"{ROME['dataset_api']} (1065 octets) dépasse la taille maximale de 1000 octets. Rien n'a été modifié."
    )
    nothing_written()


def test_a_download_of_undeclared_size_is_cut_at_the_limit(tmp_path):
    chunks = httpx.MockTransport(lambda request: httpx.Response(200, content=iter([b"x" * (1 << 20)] * 5)))
    source = HttpOfficialSource(max_bytes=3 * 1024 * 1024, transport=chunks)

    with pytest.raises(
        OfficialSourceError, match="le fichier https://exemple.test/f.zip dépasse la taille maximale de 3 Mo"
    ):
        source.download("https://exemple.test/f.zip", tmp_path / "f.zip", who="l'éditeur")


def test_an_unknown_data_set_is_refused_in_french(use):
    use(offline())

    with pytest.raises(
        CommandError, match=r"Jeu\(x\) de données inconnu\(s\) : qpv2015 \(parmi : qpv2024, communes, rome\)"
    ):
        update("--jeu", "qpv2015")


def test_urls_and_thresholds_come_from_one_place_overridable_by_settings(settings, use):
    settings.OFFICIAL_SOURCES = {"rome": {"url": "https://miroir.example/RefRomeCsv.zip", "min_titles": 5}}
    assert source_config("rome")["url"] == "https://miroir.example/RefRomeCsv.zip"
    assert source_config("rome")["min_jobs"] == DEFAULT_OFFICIAL_SOURCES["rome"]["min_jobs"]
    assert source_config("qpv2024") == DEFAULT_OFFICIAL_SOURCES["qpv2024"]
    requests = []
    use(
        transport(
            {"https://miroir.example/RefRomeCsv.zip": httpx.Response(200, content=rome_zip())},
            requests=requests,
        )
    )

    reports = update_official(keys=["rome"])

    assert [str(r.url) for r in requests] == [
        "https://miroir.example/RefRomeCsv.zip"
    ]  # no data.gouv.fr look-up
    assert reports[0].prepared.source_url == "https://miroir.example/RefRomeCsv.zip"
