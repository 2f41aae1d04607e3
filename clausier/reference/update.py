"""`clausier reference update`: the current official versions, fetched from their publishers.

Data sets (addresses and thresholds in `clausier.reference.sources`):

- `qpv2024`: the national list of the QPV 2024 of the ANCT (décret n° 2023-1314), GeoJSON WGS84, possibly in
  a zip; checked: a FeatureCollection of at least 1,000 perimeters whose codes are those of the 2024 list;
- `communes`: the communes of the latest COG with their EPCI and postal codes (Etalab's
  `decoupage-administratif`), converted to the COG CSV rows `import_communes` reads; checked: at least
  34,000 communes actuelles;
- `rome`: the latest ROME 4.0 CSV distribution of France Travail (zip of `unix_<name>_v4NN_utf8.csv`),
  renamed `rome_v4NN_<name>.csv` for `import_rome`; checked: at least 1,000 métiers and 10,000 appellations,
  a version not older than the one loaded.

Every data set asked is downloaded and checked first; then all are loaded in one transaction, each recorded
in `OfficialDataset` with origin "downloaded", its address, version and the SHA-256 of what was downloaded
(of the file; for the communes, one fingerprint of its two files, as in the manifest). Any failure — no
connection, an unexpected answer, a failed check, a file the importer refuses — changes nothing. A data set
updated here is never taken back to the shipped version by `clausier load_reference`.
"""

import csv
import datetime
import hashlib
import json
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from clausier.geo.communes import COG, import_communes
from clausier.geo.qpv import CODE_PATTERN, MILLESIMES, import_qpv
from clausier.reference import sources
from clausier.reference.models import OfficialDataset, RomeJob
from clausier.reference.official import LOAD_ERRORS, record_loaded
from clausier.reference.referentials import import_rome
from clausier.reference.sources import OfficialSource, OfficialSourceError, datagouv_resource, source_config

ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, KeyError)


class UpdateError(Exception):
    """A downloaded data set that fails its checks or its loading; the French message names it."""


@dataclass
class Prepared:
    """A data set downloaded and checked, ready to be loaded."""

    key: str
    title: str
    version: str
    source_url: str
    sha256: str
    checked: str  # what the checks found, in French
    load: Callable[[], tuple[int, str]]  # → (rows read, detail)


@dataclass
class UpdateReport:
    prepared: Prepared
    loaded: bool
    rows: int = 0
    detail: str = ""

    def summary(self) -> str:
        p = self.prepared
        done = self.detail if self.loaded else f"vérifié, non chargé (--dry-run) ; {self.detail}"
        return f"{p.title} — {p.version} : {p.checked} ; {done} (SHA-256 {p.sha256[:16]}…, {p.source_url})"


def _today() -> str:
    return f"{datetime.datetime.now(tz=datetime.UTC):%d/%m/%Y}"


def _fingerprint(*sha256s: str) -> str:
    """One SHA-256 for one file; for several, that of their checksums in order (as `Dataset.sha256`)."""
    return sha256s[0] if len(sha256s) == 1 else hashlib.sha256("".join(sha256s).encode()).hexdigest()


def _french(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as exc:
        start = path.read_bytes()[:40].decode("utf-8", "replace").strip()
        raise UpdateError(f"{what} : ce n'est pas du JSON lisible (reçu « {start}… »).") from exc


def _zip_member(archive: Path, pattern: str, what: str) -> zipfile.ZipInfo | None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            return next((i for i in zipped.infolist() if re.search(pattern, i.filename)), None)
    except ZIP_ERRORS as exc:
        raise UpdateError(f"{what} : archive zip illisible ou tronquée ({exc}).") from exc


def _extract(archive: Path, members: dict[str, Path], what: str, limit: int) -> None:
    """Extract zip members (name → target), each at most `limit` bytes; a damaged archive is refused."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            for name, target in members.items():
                info = zipped.getinfo(name)
                if info.file_size > limit:
                    raise UpdateError(f"{what} : {name} dépasse la taille maximale une fois décompressé.")
                with zipped.open(info) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    except ZIP_ERRORS as exc:
        raise UpdateError(f"{what} : archive zip illisible ou tronquée ({exc}).") from exc


def _max_bytes(source: OfficialSource) -> int:
    return getattr(source, "max_bytes", sources.DEFAULT_MAX_BYTES)


# --- QPV 2024 -----------------------------------------------------------------------------------------------


def check_qpv2024(path: Path, *, what: str, minimum: int) -> int:
    """The number of perimeters of a QPV 2024 GeoJSON, or UpdateError."""
    data = _load_json(path, what)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise UpdateError(f"{what} : une FeatureCollection GeoJSON est attendue.")
    features = data.get("features")
    if not isinstance(features, list) or len(features) < minimum:
        count = len(features) if isinstance(features, list) else 0
        raise UpdateError(
            f"{what} : {_french(count)} périmètre(s) seulement, au moins {_french(minimum)} attendus "
            "pour la liste nationale (fichier partiel ?)."
        )
    prefix = MILLESIMES[2024].code_prefix
    for number, feature in enumerate(features, start=1):
        properties = (feature or {}).get("properties") if isinstance(feature, dict) else None
        code = str((properties or {}).get("code_qp") or "").strip().upper()
        if not CODE_PATTERN.match(code) or not code.startswith(prefix):
            raise UpdateError(
                f"{what} : périmètre n° {number}, code « {code or 'absent'} » : les codes de la liste 2024 "
                f"commencent par {prefix} (ex. QN03101M)."
            )
    return len(features)


def fetch_qpv2024(source: OfficialSource, config: dict, folder: Path) -> Prepared:
    title, who = config["title"], config["publisher"]
    resource = datagouv_resource(source, config, who=who)
    name = resource.url.split("?", 1)[0].rsplit("/", 1)[-1] or "qpv2024"
    download = source.download(resource.url, folder / "download", who=who)
    geojson = folder / "qpv2024.geojson"
    if zipfile.is_zipfile(download.path) or resource.format == "zip":
        member = _zip_member(download.path, config["member"], title)
        if member is None:
            raise UpdateError(
                f"{title} : l'archive {name} ne contient pas le GeoJSON WGS84 attendu ({config['member']})."
            )
        _extract(download.path, {member.filename: geojson}, title, _max_bytes(source))
        name = member.filename.rsplit("/", 1)[-1]
    else:
        download.path.rename(geojson)
    count = check_qpv2024(geojson, what=title, minimum=config["min_features"])

    def load() -> tuple[int, str]:
        report = import_qpv(geojson, 2024)
        return report.read, report.summary()

    day = f", ressource du {resource.day}" if resource.day else ""
    return Prepared(
        key="qpv2024",
        title=title,
        version=f"QPV 2024 ({MILLESIMES[2024].decree}), {name}{day}, téléchargé le {_today()}",
        source_url=resource.url,
        sha256=download.sha256,
        checked=f"{_french(count)} périmètres aux codes de la liste 2024",
        load=load,
    )


# --- Communes -----------------------------------------------------------------------------------------------

COG_COLUMNS = COG.required  # the header `import_communes` checks: the file is written with exactly it


def cog_rows(communes: list, epcis: list, *, what: str = "Communes") -> list[dict[str, str]]:
    """Communes and EPCI of `decoupage-administratif` → the COG CSV rows `import_communes` reads.

    Both shapes are read: the package's own files (`communes.json`: `departement`, `commune`/`chefLieu` for
    the parent; `epci.json`: `membres`) and geo.api.gouv.fr's answers (`codeDepartement`, `codeParent`,
    `codeEpci`; `/epcis`: code and name)."""
    if not isinstance(communes, list) or not isinstance(epcis, list):
        raise UpdateError(f"{what} : une liste de communes et une liste d'EPCI sont attendues.")
    names, epci_of = {}, {}
    for epci in epcis:
        if not isinstance(epci, dict) or not epci.get("code"):
            raise UpdateError(f"{what} : EPCI sans code dans la liste des EPCI.")
        names[str(epci["code"])] = str(epci.get("nom") or "")
        for member in epci.get("membres") or []:
            epci_of[str(member.get("code"))] = str(epci["code"])
    rows = []
    for commune in communes:
        if not isinstance(commune, dict) or not commune.get("code") or not commune.get("type"):
            raise UpdateError(f"{what} : commune sans code ou sans type dans la liste des communes.")
        code = str(commune["code"])
        epci = str(commune.get("codeEpci") or epci_of.get(code) or "")
        population = commune.get("population")
        rows.append(
            {
                "code_insee": code,
                "nom": str(commune.get("nom") or ""),
                "type": str(commune["type"]),
                "code_departement": str(commune.get("codeDepartement") or commune.get("departement") or ""),
                "codes_postaux": "|".join(str(c) for c in commune.get("codesPostaux") or []),
                "population": "" if population is None else str(population),
                "code_epci": epci,
                "nom_epci": names.get(epci, ""),
                "commune_parente": str(
                    commune.get("codeParent") or commune.get("commune") or commune.get("chefLieu") or ""
                ),
            }
        )
    return rows


def fetch_communes(source: OfficialSource, config: dict, folder: Path) -> Prepared:
    title, who = config["title"], config["publisher"]
    communes = source.download(config["communes_url"], folder / "communes.json", who=who)
    epcis = source.download(config["epci_url"], folder / "epci.json", who=who)
    rows = cog_rows(_load_json(communes.path, title), _load_json(epcis.path, title), what=title)
    current = sum(row["type"] == "commune-actuelle" for row in rows)
    if current < config["min_communes"]:
        raise UpdateError(
            f"{title} : {_french(current)} commune(s) actuelle(s) seulement, au moins "
            f"{_french(config['min_communes'])} attendues (liste partielle ?)."
        )
    path = folder / "cog_communes.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COG_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    package = ""
    if config.get("infos_url"):
        try:
            infos = source.get_json(config["infos_url"], who=who)
        except sources.OfflineError:
            raise
        except OfficialSourceError:
            infos = {}  # the version is a nicety, not a condition
        if isinstance(infos, dict) and infos.get("@etalab/decoupage-administratif"):
            package = f"decoupage-administratif {infos['@etalab/decoupage-administratif']}, "

    def load() -> tuple[int, str]:
        report = import_communes(path)
        return report.read, report.summary()

    return Prepared(
        key="communes",
        title=title,
        version=f"COG courant ({package}téléchargé le {_today()})",
        source_url=config["communes_url"],
        sha256=_fingerprint(communes.sha256, epcis.sha256),
        checked=f"{_french(current)} communes actuelles, {_french(len(rows) - current)} autre(s) ligne(s)",
        load=load,
    )


# --- ROME ---------------------------------------------------------------------------------------------------

ROME_MEMBER = re.compile(r"(?:^|/)unix_(?P<name>[a-z_]+)_v(?P<version>\d{3})_utf8\.csv$")
ROME_FILES = ("grand_domaine", "domaine_professionnel", "referentiel_code_rome", "referentiel_appellation")


def loaded_rome_version() -> int:
    """The number of the ROME version loaded (458 for « ROME v458 … »), 0 if none."""
    versions = list(OfficialDataset.objects.filter(key="rome").values_list("version", flat=True))
    versions += list(RomeJob.objects.values_list("version", flat=True).distinct())
    numbers = [int(m.group(1)) for v in versions if (m := re.search(r"v(\d+)", v))]
    return max(numbers, default=0)


def _csv_rows(path: Path, what: str) -> int:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return sum(1 for _ in csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UpdateError(f"{what} : {path.name} illisible ({exc}).") from exc


def fetch_rome(source: OfficialSource, config: dict, folder: Path) -> Prepared:
    title, who = config["title"], config["publisher"]
    resource = datagouv_resource(source, config, who=who)
    download = source.download(resource.url, folder / "rome.zip", who=who)
    try:
        with zipfile.ZipFile(download.path) as zipped:
            names = zipped.namelist()
    except ZIP_ERRORS as exc:
        raise UpdateError(f"{title} : archive zip illisible ou tronquée ({exc}).") from exc
    members = {
        m.group("name"): (name, m.group("version")) for name in names if (m := ROME_MEMBER.search(name))
    }
    missing = [name for name in ROME_FILES if name not in members]
    if missing:
        raise UpdateError(
            f"{title} : l'archive ne contient pas "
            + ", ".join(f"unix_{name}_v4NN_utf8.csv" for name in missing)
            + "."
        )
    versions = {members[name][1] for name in ROME_FILES}
    if len(versions) > 1:
        raise UpdateError(f"{title} : fichiers de versions différentes ({', '.join(sorted(versions))}).")
    number = int(versions.pop())
    before = loaded_rome_version()
    if number < before:
        raise UpdateError(
            f"{title} : la version téléchargée (v{number}) est plus ancienne que celle chargée (v{before})."
        )
    rome = folder / "rome"
    rome.mkdir()
    targets = {members[name][0]: rome / f"rome_v{number}_{name}.csv" for name in ROME_FILES}
    _extract(download.path, targets, title, _max_bytes(source))
    jobs = _csv_rows(rome / f"rome_v{number}_referentiel_code_rome.csv", title)
    titles = _csv_rows(rome / f"rome_v{number}_referentiel_appellation.csv", title)
    if jobs < config["min_jobs"] or titles < config["min_titles"]:
        raise UpdateError(
            f"{title} : {_french(jobs)} métier(s) et {_french(titles)} appellation(s) seulement, au moins "
            f"{_french(config['min_jobs'])} et {_french(config['min_titles'])} attendus."
        )

    def load() -> tuple[int, str]:
        counts = import_rome(rome)
        return sum(c.created + c.updated + c.unchanged for c in counts.values()), "; ".join(
            f"{label} : {c}" for label, c in counts.items()
        )

    day = f", ressource du {resource.day}" if resource.day else ""
    return Prepared(
        key="rome",
        title=title,
        version=f"ROME v{number}{day}, téléchargé le {_today()}",
        source_url=resource.url,
        sha256=download.sha256,
        checked=f"{_french(jobs)} métiers, {_french(titles)} appellations",
        load=load,
    )


# --- The update ---------------------------------------------------------------------------------------------

UPDATERS: dict[str, Callable[[OfficialSource, dict, Path], Prepared]] = {
    "qpv2024": fetch_qpv2024,
    "communes": fetch_communes,
    "rome": fetch_rome,
}


def update_official(
    *, keys: list[str] | None = None, dry_run: bool = False, source: OfficialSource | None = None
) -> list[UpdateReport]:
    """Download and check every data set asked (all by default), then load them all in one transaction
    (`dry_run`: load and roll back). Raises OfficialSourceError or UpdateError; then nothing has changed."""
    unknown = sorted(set(keys or []) - set(UPDATERS))
    if unknown:
        raise UpdateError(
            f"Jeu(x) de données inconnu(s) : {', '.join(unknown)} (parmi : {', '.join(UPDATERS)})."
        )
    wanted = [key for key in UPDATERS if keys is None or key in keys]
    source = source or sources.default_source()
    reports = []
    with tempfile.TemporaryDirectory(prefix="clausier-update-") as tmp:
        prepared = []
        for key in wanted:
            folder = Path(tmp) / key
            folder.mkdir()
            config = source_config(key)
            try:
                prepared.append(UPDATERS[key](source, config, folder))
            except sources.OfflineError:
                raise
            except OfficialSourceError as exc:
                raise UpdateError(f"{config['title']} : {exc}") from exc
        with transaction.atomic():
            for item in prepared:
                try:
                    rows, detail = item.load()
                except LOAD_ERRORS as exc:
                    raise UpdateError(f"{item.title} : {exc}") from exc
                record_loaded(
                    key=item.key,
                    version=item.version[:200],
                    origin=OfficialDataset.Origin.DOWNLOADED,
                    source_url=item.source_url[:500],
                    sha256=item.sha256,
                    rows=rows,
                )
                reports.append(UpdateReport(item, loaded=not dry_run, rows=rows, detail=detail))
            if dry_run:
                transaction.set_rollback(True)
    return reports
