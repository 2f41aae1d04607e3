"""The official open data that ships with Clausier, in `clausier/reference/official/`, and its loading.

`manifest.json` there describes each data set (publisher, version, URL, licence, what was changed) and gives
the SHA-256 of every compressed file. Loading (`load_official`, called by `clausier load_reference`):

- checks every checksum first: a file that differs from the manifest is refused and nothing is loaded;
- is idempotent and quick: a data set already loaded from the same files (same checksums) is skipped;
- is atomic: every data set is written in one transaction;
- never takes back a data set that `clausier reference update` brought from its publisher to the older
  version that ships here (unless `force`).

The SIAE files are not loaded here: insertion structures belong to a facilitator, who imports them
(`clausier import structures`); `extract` hands a decompressed copy to the import pipeline.
"""

import datetime
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.db import transaction

from clausier.geo.communes import CommuneFileError, import_communes
from clausier.geo.qpv import QpvFileError, import_qpv
from clausier.reference.models import OfficialDataset
from clausier.reference.referentials import ReferentialError, import_naf, import_rome
from clausier.utils.compressed import open_text, plain_name

OFFICIAL_DIR = Path(__file__).resolve().parent / "official"


class OfficialDataError(Exception):
    """A shipped file missing or altered, or a data set that cannot be loaded; the message is in French."""


@dataclass(frozen=True)
class Dataset:
    key: str
    title: str
    publisher: str
    version: str
    url: str
    licence: str
    files: dict[str, str]  # file name → SHA-256 of the compressed file

    @property
    def sha256(self) -> str:
        """One fingerprint for the whole set (its files' checksums, in order)."""
        return hashlib.sha256("".join(self.files.values()).encode()).hexdigest()


@cache
def _manifest(folder: Path) -> dict[str, Dataset]:
    try:
        raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OfficialDataError(f"Manifeste des données officielles illisible ({folder}) : {exc}") from exc
    return {
        key: Dataset(
            key=key,
            title=item["title"],
            publisher=item["publisher"],
            version=item["version"],
            url=item["url"],
            licence=item["licence"],
            files={name: spec["sha256"] for name, spec in item["files"].items()},
        )
        for key, item in raw["datasets"].items()
    }


def datasets(folder: Path = OFFICIAL_DIR) -> dict[str, Dataset]:
    return _manifest(Path(folder))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(dataset: Dataset, folder: Path = OFFICIAL_DIR) -> None:
    """Every file of the data set is there and has the manifest's checksum."""
    for name, expected in dataset.files.items():
        path = Path(folder) / name
        if not path.is_file():
            raise OfficialDataError(f"Données officielles : fichier {name} absent de {folder}.")
        if sha256_of(path) != expected:
            raise OfficialDataError(
                f"Données officielles : le fichier {name} ne correspond pas à son empreinte SHA-256 "
                "(manifest.json) ; il a été modifié ou abîmé."
            )


def shipped_file(name: str, folder: Path = OFFICIAL_DIR) -> Path:
    """The shipped file `name` (compressed), checked against the manifest."""
    dataset = next((d for d in datasets(folder).values() if name in d.files), None)
    if dataset is None:
        raise OfficialDataError(f"Données officielles : {name} ne figure pas dans le manifeste.")
    verify(Dataset(**{**dataset.__dict__, "files": {name: dataset.files[name]}}), folder)
    return Path(folder) / name


def extract(name: str, destination: Path) -> Path:
    """A decompressed copy of the shipped file `name` in the folder `destination` (for the import pipeline)."""
    target = Path(destination) / plain_name(name)
    with open_text(shipped_file(name), encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
        shutil.copyfileobj(source, out)
    return target


# --- Loading -----------------------------------------------------------------------------------------------


def _load_rome(folder: Path) -> tuple[int, str]:
    counts = import_rome(folder)
    return sum(c.created + c.updated + c.unchanged for c in counts.values()), "; ".join(
        f"{label} : {c}" for label, c in counts.items()
    )


def _load_naf(folder: Path) -> tuple[int, str]:
    counts = import_naf(folder)
    return counts.created + counts.updated + counts.unchanged, str(counts)


def _load_communes(folder: Path) -> tuple[int, str]:
    report = import_communes(folder / "cog_communes_2026.csv.xz")
    return report.read, report.summary()


def _load_qpv2015(folder: Path) -> tuple[int, str]:
    report = import_qpv(folder / "qpv2015_occitanie.geojson.xz", 2015)
    return report.read, report.summary()


# Data set → loader of its files (the SIAE files are imported per facilitator, not here).
LOADERS: dict[str, Callable[[Path], tuple[int, str]]] = {
    "rome": _load_rome,
    "naf": _load_naf,
    "communes": _load_communes,
    "qpv2015": _load_qpv2015,
}
LOAD_ERRORS = (ReferentialError, CommuneFileError, QpvFileError)


@dataclass
class OfficialReport:
    dataset: Dataset
    loaded: bool
    detail: str

    def summary(self) -> str:
        return f"{self.dataset.title} ({self.dataset.version}) : {self.detail}"


def load_official(
    *, keys: list[str] | None = None, force: bool = False, folder: Path = OFFICIAL_DIR
) -> list[OfficialReport]:
    """Load the shipped data sets (all, or `keys`); see the module's docstring."""
    folder = Path(folder)
    wanted = [key for key in LOADERS if keys is None or key in keys]
    unknown = sorted(set(keys or []) - set(LOADERS))
    if unknown:
        raise OfficialDataError(
            f"Jeu(x) de données inconnu(s) : {', '.join(unknown)} (parmi : {', '.join(LOADERS)})."
        )
    sets = datasets(folder)
    for key in wanted:
        verify(sets[key], folder)
    loaded = {row.key: row for row in OfficialDataset.objects.filter(key__in=wanted)}
    reports = []
    with transaction.atomic():
        for key in wanted:
            dataset, before = sets[key], loaded.get(key)
            if before is not None and not force:
                if before.origin == OfficialDataset.Origin.DOWNLOADED:
                    reports.append(
                        OfficialReport(dataset, False, f"version plus récente en place ({before.version}).")
                    )
                    continue
                if before.sha256 == dataset.sha256:
                    reports.append(OfficialReport(dataset, False, "déjà chargé, inchangé."))
                    continue
            try:
                rows, detail = LOADERS[key](folder)
            except LOAD_ERRORS as exc:
                raise OfficialDataError(f"{dataset.title} : {exc}") from exc
            record_loaded(
                key=key,
                version=dataset.version,
                origin=OfficialDataset.Origin.SHIPPED,
                source_url=dataset.url,
                sha256=dataset.sha256,
                rows=rows,
            )
            reports.append(OfficialReport(dataset, True, detail))
    return reports


def record_loaded(*, key: str, version: str, origin: str, source_url: str, sha256: str, rows: int) -> None:
    OfficialDataset.objects.update_or_create(
        key=key,
        defaults={
            "version": version,
            "origin": origin,
            "source_url": source_url,
            "sha256": sha256,
            "rows": rows,
            "loaded_at": datetime.datetime.now(tz=datetime.UTC),
        },
    )
