"""Where `clausier reference update` fetches the official data sets, and the adapter that fetches them.

All the addresses are in `DEFAULT_OFFICIAL_SOURCES` below; the setting `OFFICIAL_SOURCES` overrides any of
them per data set (`{"rome": {"url": "https://…/RefRomeCsv.zip"}}`), as well as the thresholds the checks
use. A data set published on data.gouv.fr is found through its API (`dataset_api`: the data set's JSON,
whose resource is picked by title/format), so that a new file name is followed; `url` skips that look-up.

The application talks to a small interface (`OfficialSource`: `get_json` for an API answer, `download` for
a file, streamed to disk with its SHA-256); `HttpOfficialSource` implements it with httpx (timeouts, size
limit, French errors). Tests give it an `httpx.MockTransport` with recorded answers: no network.

Settings (all optional): `OFFICIAL_SOURCES`, `OFFICIAL_DOWNLOAD_TIMEOUT` (seconds, default 60),
`OFFICIAL_DOWNLOAD_MAX_BYTES` (default 500 MB).
"""

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from django.conf import settings

DATA_GOUV_API = "https://www.data.gouv.fr/api/1"
GEO_API = "https://geo.api.gouv.fr"

# Data set → where it is published and what its checks expect (see the module's docstring).
DEFAULT_OFFICIAL_SOURCES: dict[str, dict[str, Any]] = {
    "qpv2024": {
        "title": "Liste nationale des QPV 2024",
        "publisher": "l'ANCT sur data.gouv.fr",
        "page": "https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
        "dataset_api": f"{DATA_GOUV_API}/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
        # The resource: its title or file name matches `resource`, its format is one of `formats`;
        # among several, those matching `prefer` first, then the most recently modified.
        "resource": r"(?i)2024",
        "formats": ["zip", "geojson", "json"],
        "prefer": r"(?i)wgs ?84|4326|geojson",
        # In a zip, the GeoJSON to read.
        "member": r"(?i)(^|/)QP2024[^/]*WGS84[^/]*\.geojson$",
        "url": "",
        "min_features": 1000,  # 1,584 nationally
    },
    "communes": {
        "title": "Communes du COG (EPCI, codes postaux)",
        "publisher": "l'API Découpage administratif",
        "page": "https://geo.api.gouv.fr/decoupage-administratif",
        # The data of Etalab's `decoupage-administratif` as served by geo.api.gouv.fr (datagouv/api-geo):
        # communes actuelles and arrondissements municipaux, EPCI of each commune; `/infos` gives the
        # package's version. A `communes.json` / `epci.json` pair of the package itself is read too.
        "communes_url": (
            f"{GEO_API}/communes?type=commune-actuelle,arrondissement-municipal"
            "&fields=code,nom,type,codeDepartement,codesPostaux,population,codeEpci,codeParent&format=json"
        ),
        "epci_url": f"{GEO_API}/epcis?fields=code,nom&format=json",
        "infos_url": f"{GEO_API}/infos",
        "min_communes": 34000,  # communes actuelles (34,969 in the COG 2026)
    },
    "rome": {
        "title": "ROME 4.0",
        "publisher": "France Travail sur data.gouv.fr",
        "page": "https://www.data.gouv.fr/fr/datasets/repertoire-operationnel-des-metiers-et-des-emplois-rome/",
        "dataset_api": f"{DATA_GOUV_API}/datasets/repertoire-operationnel-des-metiers-et-des-emplois-rome/",
        "resource": r"(?i)csv",  # the CSV distribution (RefRomeCsv.zip)
        "formats": ["zip"],
        "prefer": r"(?i)csv",
        "url": "",
        "min_jobs": 1000,  # 1,056 in v458
        "min_titles": 10000,  # 12,107 in v458
    },
}

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_BYTES = 500 * 1024 * 1024
JSON_MAX_BYTES = 50 * 1024 * 1024  # an API answer, not a file
USER_AGENT = "Clausier (suivi des clauses sociales) - clausier reference update"


def source_config(key: str) -> dict[str, Any]:
    """The configuration of data set `key`: the defaults, overridden by the setting `OFFICIAL_SOURCES`."""
    config = copy.deepcopy(DEFAULT_OFFICIAL_SOURCES[key])
    config.update(getattr(settings, "OFFICIAL_SOURCES", {}).get(key, {}))
    return config


class OfficialSourceError(Exception):
    """A publisher that cannot be reached or answered something unusable; the message is in French."""


class OfflineError(OfficialSourceError):
    """No connection to the publisher (DNS, refused connection, timeout)."""


@dataclass(frozen=True)
class Download:
    url: str  # the address asked
    path: Path
    sha256: str  # of the bytes as downloaded
    size: int


class OfficialSource(Protocol):
    def get_json(self, url: str, *, who: str) -> Any: ...

    def download(self, url: str, destination: Path, *, who: str) -> Download: ...


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} Mo" if size >= 1024 * 1024 else f"{size} octets"


class HttpOfficialSource:
    """The publishers' servers, through httpx (redirects followed, as data.gouv.fr resources need)."""

    def __init__(
        self,
        *,
        timeout: float | None = None,
        max_bytes: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.timeout = timeout or getattr(settings, "OFFICIAL_DOWNLOAD_TIMEOUT", DEFAULT_TIMEOUT)
        self.max_bytes = max_bytes or getattr(settings, "OFFICIAL_DOWNLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)
        self.transport = transport

    def _client(self) -> httpx.Client:
        return httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 15.0)),
            transport=self.transport,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        )

    def _stream(self, url: str, out, *, who: str, limit: int) -> tuple[str, int]:
        """Write the body of GET `url` to `out`; its SHA-256 and size."""
        digest, size = hashlib.sha256(), 0
        try:
            with self._client() as client, client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise OfficialSourceError(
                        f"{who} a répondu HTTP {response.status_code} pour {url} : fichier indisponible."
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise OfficialSourceError(
                        f"{who} : le fichier {url} ({_megabytes(int(declared))}) dépasse la taille "
                        f"maximale de {_megabytes(limit)}."
                    )
                for block in response.iter_bytes(1 << 20):
                    size += len(block)
                    if size > limit:
                        raise OfficialSourceError(
                            f"{who} : le fichier {url} dépasse la taille maximale de {_megabytes(limit)}."
                        )
                    digest.update(block)
                    out.write(block)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            if isinstance(exc, httpx.ConnectError | httpx.TimeoutException | httpx.NetworkError):
                reason = str(exc) or type(exc).__name__
                raise OfflineError(
                    f"Pas d'accès à Internet : impossible de joindre {who} "
                    f"({httpx.URL(url).host} : {reason})."
                ) from exc
            raise OfficialSourceError(f"{who} : téléchargement de {url} interrompu ({exc}).") from exc
        except httpx.HTTPError as exc:
            raise OfficialSourceError(f"{who} : téléchargement de {url} impossible ({exc}).") from exc
        return digest.hexdigest(), size

    def get_json(self, url: str, *, who: str) -> Any:
        body = _Buffer()
        self._stream(url, body, who=who, limit=min(self.max_bytes, JSON_MAX_BYTES))
        try:
            return json.loads(bytes(body.data))
        except (UnicodeDecodeError, ValueError) as exc:
            start = bytes(body.data[:60]).decode("utf-8", "replace").strip()
            raise OfficialSourceError(
                f"{who} : réponse illisible pour {url} (JSON attendu, reçu « {start[:40]}… »)."
            ) from exc

    def download(self, url: str, destination: Path, *, who: str) -> Download:
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with destination.open("wb") as out:
            sha256, size = self._stream(url, out, who=who, limit=self.max_bytes)
        return Download(url=url, path=destination, sha256=sha256, size=size)


class _Buffer:
    def __init__(self):
        self.data = bytearray()

    def write(self, block: bytes) -> None:
        self.data += block


def default_source() -> OfficialSource:
    """The source `clausier reference update` uses (tests replace this function or pass their own)."""
    return HttpOfficialSource()


# --- data.gouv.fr -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    title: str
    url: str
    format: str
    last_modified: str  # ISO date-time, as the API gives it ("" if absent)

    @property
    def day(self) -> str:
        """The resource's date, French style (`16/12/2024`), or ""."""
        match = re.match(r"(\d{4})-(\d{2})-(\d{2})", self.last_modified)
        return f"{match.group(3)}/{match.group(2)}/{match.group(1)}" if match else ""


def datagouv_resource(source: OfficialSource, config: dict[str, Any], *, who: str) -> Resource:
    """The resource of the data set `config["dataset_api"]` that matches `resource` and `formats`, or the
    fixed `config["url"]` when one is given."""
    if config.get("url"):
        url = config["url"]
        return Resource(
            title=url.rsplit("/", 1)[-1], url=url, format=url.rsplit(".", 1)[-1].lower(), last_modified=""
        )
    api = config["dataset_api"]
    data = source.get_json(api, who=who)
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, list):
        raise OfficialSourceError(
            f"{who} : réponse inattendue de l'API data.gouv.fr ({api}) : pas de ressources."
        )
    pattern, formats = re.compile(config["resource"]), {f.lower() for f in config["formats"]}
    prefer = re.compile(config.get("prefer") or "$^")
    found = []
    for item in resources:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        resource = Resource(
            title=str(item.get("title") or ""),
            url=item["url"],
            format=str(item.get("format") or "").lower().lstrip("."),
            last_modified=str(item.get("last_modified") or item.get("created_at") or ""),
        )
        name = f"{resource.title} {resource.url.rsplit('/', 1)[-1]}"
        if resource.format in formats and pattern.search(name):
            found.append((bool(prefer.search(name)), resource.last_modified, resource))
    if not found:
        titles = (
            ", ".join(f"« {item.get('title')} »" for item in resources if isinstance(item, dict)) or "aucune"
        )
        raise OfficialSourceError(
            f"{who} : aucune ressource ne correspond ({config['resource']}, format "
            f"{' ou '.join(sorted(formats))}) dans le jeu de données {api} (ressources : {titles})."
        )
    return max(found, key=lambda entry: entry[:2])[2]
