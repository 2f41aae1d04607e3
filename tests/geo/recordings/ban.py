"""Replay of the recorded BAN responses of this folder through an `httpx.MockTransport` (no network)."""

import csv
import io
import json
from pathlib import Path

import httpx

HERE = Path(__file__).parent
SEARCH = {
    "1 Place Abbal 31100 Toulouse": "search_place_abbal.json",
    "1 Place du Capitole 31000 Toulouse": "search_place_du_capitole.json",
    "Batiment C chez Mme X Toulouse": "search_low_score.json",
    "zzzz qqqq": "search_not_found.json",
}
# `/search/?type=municipality&q=<nom>&citycode=<INSEE>`, by (q, citycode).
MUNICIPALITIES = {
    ("Toulouse", "31555"): "municipality_31555_toulouse.json",
    ("Blagnac", "31069"): "municipality_31069_blagnac.json",
    ("Muret", "31395"): "municipality_31395_muret.json",
    ("Annecy-le-Vieux", "74011"): "municipality_74011_annecy_le_vieux.json",
    ("Nullepart", "99999"): "search_not_found.json",
}
RESULT_COLUMNS = [
    "latitude",
    "longitude",
    "result_label",
    "result_score",
    "result_score_next",
    "result_type",
    "result_id",
    "result_housenumber",
    "result_name",
    "result_street",
    "result_postcode",
    "result_city",
    "result_context",
    "result_citycode",
    "result_oldcitycode",
    "result_oldcity",
    "result_district",
    "result_status",
]


class NoRecording(AssertionError):
    pass


def _csv_recordings() -> dict[str, dict]:
    with (HERE / "search_csv.csv").open(encoding="utf-8", newline="") as handle:
        return {row["adresse"]: row for row in csv.DictReader(handle)}


def _multipart_fields(request: httpx.Request) -> dict[str, bytes]:
    """The parts of a multipart/form-data body, by name (enough for the requests our client sends)."""
    content_type = request.headers["content-type"]
    boundary = content_type.split("boundary=", 1)[1].encode()
    fields = {}
    for part in request.content.split(b"--" + boundary):
        head, _, body = part.partition(b"\r\n\r\n")
        if b'name="' not in head:
            continue
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        fields[name] = body.removesuffix(b"\r\n")
    return fields


def _search(request: httpx.Request) -> httpx.Response:
    query = request.url.params["q"]
    if request.url.params.get("type") == "municipality":
        key = (query, request.url.params.get("citycode", ""))
        if key not in MUNICIPALITIES:
            raise NoRecording(f"Pas de réponse enregistrée pour la commune « {query} » ({key[1]}).")
        return httpx.Response(200, json=json.loads((HERE / MUNICIPALITIES[key]).read_text(encoding="utf-8")))
    if query not in SEARCH:
        raise NoRecording(f"Pas de réponse enregistrée pour la recherche « {query} ».")
    return httpx.Response(200, json=json.loads((HERE / SEARCH[query]).read_text(encoding="utf-8")))


def _search_csv(request: httpx.Request) -> httpx.Response:
    fields = _multipart_fields(request)
    assert fields["columns"] == b"adresse", fields.get("columns")
    recordings = _csv_recordings()
    rows = list(csv.DictReader(io.StringIO(fields["data"].decode("utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*rows[0].keys(), *RESULT_COLUMNS] if rows else RESULT_COLUMNS)
    writer.writeheader()
    for row in rows:
        if row["adresse"] not in recordings:
            raise NoRecording(f"Pas de réponse enregistrée pour l'adresse « {row['adresse']} ».")
        recorded = recordings[row["adresse"]]
        writer.writerow({**row, **{column: recorded[column] for column in RESULT_COLUMNS}})
    return httpx.Response(200, content=out.getvalue().encode("utf-8"), headers={"content-type": "text/csv"})


def ban_transport(*, requests: list | None = None, status_code: int = 200) -> httpx.MockTransport:
    """A transport answering `/search/` and `/search/csv/` from the recordings; `requests` collects them."""

    def handler(request: httpx.Request) -> httpx.Response:
        if requests is not None:
            requests.append(request)
        if status_code != 200:
            return httpx.Response(status_code, text="Service indisponible")
        if request.url.path.endswith("/search/") and request.method == "GET":
            return _search(request)
        if request.url.path.endswith("/search/csv/") and request.method == "POST":
            return _search_csv(request)
        raise NoRecording(f"Requête inattendue : {request.method} {request.url}")

    return httpx.MockTransport(handler)
