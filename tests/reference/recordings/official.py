"""Replay of the recorded publishers' answers of this folder through an `httpx.MockTransport` (no network).

`publishers()` gives the answers of a normal day (URL → response); a test changes one of them (HTML instead
of JSON, a truncated zip, fewer perimeters…) and builds its transport with `transport(answers)`.
"""

import io
import json
import lzma
import zipfile
from pathlib import Path

import httpx

from clausier.reference.sources import DEFAULT_OFFICIAL_SOURCES
from tests.official_data import OFFICIAL

HERE = Path(__file__).parent
QPV = DEFAULT_OFFICIAL_SOURCES["qpv2024"]
COMMUNES = DEFAULT_OFFICIAL_SOURCES["communes"]
ROME = DEFAULT_OFFICIAL_SOURCES["rome"]
QPV_ZIP_URL = next(
    r["url"]
    for r in json.loads((HERE / "datagouv_qpv.json").read_text())["resources"]
    if "WGS84" in r["title"]
)
ROME_ZIP_URL = next(
    r["url"]
    for r in json.loads((HERE / "datagouv_rome.json").read_text())["resources"]
    if "CSV" in r["title"]
)
ROME_NAMES = ("grand_domaine", "domaine_professionnel", "referentiel_code_rome", "referentiel_appellation")


class NoRecording(AssertionError):
    pass


def recording(name: str) -> bytes:
    return (HERE / name).read_bytes()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            # A fixed date: the same members give the same bytes (and SHA-256) on every call.
            info = zipfile.ZipInfo(name, date_time=(2025, 4, 10, 8, 0, 0))
            archive.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def qpv_zip(geojson: bytes | None = None) -> bytes:
    """The ANCT archive: the GeoJSON WGS84 in a GEOJSON/ folder, beside another member."""
    return zipped(
        {
            "GEOJSON/LISEZMOI.txt": b"Quartiers prioritaires 2024 (extrait d'essai)",
            "GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson": geojson
            or recording("qpv2024_essai.geojson"),
        }
    )


def rome_zip(version: int = 459, *, replace: dict[str, bytes] | None = None) -> bytes:
    """France Travail's CSV distribution built from the shipped ROME v458 files, numbered `version`:
    `RefRomeCsv/unix_<name>_v<version>_utf8.csv` (the real contents: 1,056 métiers, 12,107 appellations)."""
    members = {
        f"RefRomeCsv/unix_{name}_v{version}_utf8.csv": lzma.decompress(
            (OFFICIAL / f"rome_v458_{name}.csv.xz").read_bytes()
        )
        for name in ROME_NAMES
    }
    for name, content in (replace or {}).items():
        members[f"RefRomeCsv/unix_{name}_v{version}_utf8.csv"] = content
    members[f"RefRomeCsv/unix_referentiel_competence_v{version}_utf8.csv"] = b'"code_ogr","libelle"\n'
    return zipped(members)


def publishers() -> dict[str, httpx.Response]:
    """URL → answer, for every address `clausier reference update` asks on a normal day."""

    def json_answer(name):
        return httpx.Response(200, content=recording(name), headers={"content-type": "application/json"})

    return {
        QPV["dataset_api"]: json_answer("datagouv_qpv.json"),
        QPV_ZIP_URL: httpx.Response(200, content=qpv_zip(), headers={"content-type": "application/zip"}),
        COMMUNES["communes_url"]: json_answer("geo_api_communes.json"),
        COMMUNES["epci_url"]: json_answer("geo_api_epcis.json"),
        COMMUNES["infos_url"]: json_answer("geo_api_infos.json"),
        ROME["dataset_api"]: json_answer("datagouv_rome.json"),
        ROME_ZIP_URL: httpx.Response(200, content=rome_zip(), headers={"content-type": "application/zip"}),
    }


def transport(answers: dict | None = None, *, requests: list | None = None) -> httpx.MockTransport:
    """A transport answering from `answers` (default `publishers()`); an answer may be an exception to
    raise (httpx.ConnectError for no connection). `requests` collects the requests."""
    answers = publishers() if answers is None else answers
    by_url = {httpx.URL(url): answer for url, answer in answers.items()}

    def handler(request: httpx.Request) -> httpx.Response:
        if requests is not None:
            requests.append(request)
        if request.url not in by_url:
            raise NoRecording(f"Pas de réponse enregistrée pour {request.method} {request.url}")
        answer = by_url[request.url]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.MockTransport(handler)


def offline(message: str = "[Errno -2] Name or service not known") -> httpx.MockTransport:
    """No connection at all: every request fails as DNS does without Internet."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(message, request=request)

    return httpx.MockTransport(handler)
