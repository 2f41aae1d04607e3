"""QPV perimeters: import of the ANCT GeoJSON files and point-in-polygon look-up by date.

Two lists (millésimes) exist; residence is judged against the list in force at the date that matters
(the participant's entry date):

- 2015: décret 2014-1750, codes `QP031007`, in force from 2015-01-01 to 2023-12-31;
- 2024: décret 2023-1314, codes `QN03101M`, in force from 2024-01-01.

Before 2015 no list is in force: the answer is `no_list`, which is *not* "outside".

Look-ups go through a shapely STRtree built once per millésime and kept in the process. An import
invalidates it in the importing process; other processes notice the change by checking the table's
version (count and last import time, one tiny query) at most every `QPV_INDEX_CHECK_SECONDS` (60 s by
default) — and on every call made inside a transaction, where the rows seen may differ from the committed
ones the cached index was built from (this keeps tests, which run in a transaction, exact).
"""

import datetime
import json
import re
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import shapely
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from shapely.geometry import mapping, shape

from clausier.geo.models import Qpv
from clausier.utils.compressed import DECOMPRESSION_ERRORS, plain_name, read_bytes


@dataclass(frozen=True)
class Millesime:
    year: int
    valid_from: datetime.date
    valid_until: datetime.date | None
    code_prefix: str
    decree: str

    def in_force_on(self, day: datetime.date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


MILLESIMES = {
    2015: Millesime(
        2015, datetime.date(2015, 1, 1), datetime.date(2023, 12, 31), "QP", "décret n° 2014-1750"
    ),
    2024: Millesime(2024, datetime.date(2024, 1, 1), None, "QN", "décret n° 2023-1314"),
}
NO_LIST_MESSAGE = "aucune liste QPV en vigueur à cette date"


def millesime_on(day: datetime.date) -> Millesime | None:
    """The QPV list in force on `day`, or None (before 2015)."""
    return next((m for m in MILLESIMES.values() if m.in_force_on(day)), None)


# --- Look-up --------------------------------------------------------------------------------------------------


class QpvStatus(StrEnum):
    INSIDE = "inside"
    OUTSIDE = "outside"
    NO_LIST = "no_list"


@dataclass(frozen=True)
class QpvLookup:
    status: QpvStatus
    millesime: int | None = None
    code: str = ""
    name: str = ""
    message: str = ""

    @property
    def inside(self) -> bool:
        return self.status == QpvStatus.INSIDE


class QpvIndex:
    """The perimeters of one millésime in an STRtree; points on a boundary count as inside."""

    def __init__(self, millesime: int, rows: list[tuple[str, str, dict]]):
        self.millesime = millesime
        rows = sorted(rows)  # by code: a point in two perimeters (should not happen) gets the first code
        self.codes = [code for code, _, _ in rows]
        self.names = [name for _, name, _ in rows]
        self.geometries = [shape(geometry) for _, _, geometry in rows]
        for geometry in self.geometries:
            shapely.prepare(geometry)
        self.tree = shapely.STRtree(self.geometries)

    def __len__(self):
        return len(self.codes)

    def find(self, lon: float, lat: float) -> int | None:
        """Index of the perimeter holding the point, or None."""
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return int(min(hits)) if len(hits) else None

    def find_many(self, points: list[tuple[float, float]]) -> list[int | None]:
        """Vectorised look-up: one index (or None) per (lon, lat)."""
        if not points:
            return []
        geometries = shapely.points(points)
        found: list[int | None] = [None] * len(points)
        point_idx, tree_idx = self.tree.query(geometries, predicate="intersects")
        for p, t in zip(point_idx.tolist(), tree_idx.tolist(), strict=True):
            if found[p] is None or t < found[p]:
                found[p] = t
        return found

    def lookup(self, index: int | None) -> QpvLookup:
        if index is None:
            return QpvLookup(QpvStatus.OUTSIDE, millesime=self.millesime)
        return QpvLookup(
            QpvStatus.INSIDE, millesime=self.millesime, code=self.codes[index], name=self.names[index]
        )


_cache: dict[int, tuple[tuple, float, QpvIndex]] = {}  # millésime → (table version, checked at, index)
_cache_lock = threading.Lock()


def _version(millesime: int) -> tuple:
    stats = Qpv.objects.filter(millesime=millesime).aggregate(n=Count("id"), last=Max("imported_at"))
    return stats["n"], stats["last"]


def invalidate_index(millesime: int | None = None) -> None:
    with _cache_lock:
        if millesime is None:
            _cache.clear()
        else:
            _cache.pop(millesime, None)


def index_for(millesime: int) -> QpvIndex:
    """The spatial index of a millésime, built on first use and kept while the table does not change."""
    check_every = getattr(settings, "QPV_INDEX_CHECK_SECONDS", 60)
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(millesime)
    if cached is not None and not connection.in_atomic_block and now - cached[1] < check_every:
        return cached[2]
    version = _version(millesime)
    if cached is not None and cached[0] == version:
        with _cache_lock:
            _cache[millesime] = (version, now, cached[2])
        return cached[2]
    rows = list(Qpv.objects.filter(millesime=millesime).values_list("code", "name", "geometry"))
    index = QpvIndex(millesime, rows)
    with _cache_lock:
        _cache[millesime] = (version, now, index)
    return index


def _no_list(day: datetime.date) -> QpvLookup:
    return QpvLookup(QpvStatus.NO_LIST, message=f"{NO_LIST_MESSAGE} ({day:%d/%m/%Y})")


def _not_imported(millesime: Millesime) -> QpvLookup:
    return QpvLookup(
        QpvStatus.NO_LIST,
        millesime=millesime.year,
        message=f"la liste QPV {millesime.year} en vigueur à cette date n'a pas été importée",
    )


def qpv_at(lon: float, lat: float, day: datetime.date) -> QpvLookup:
    """Is the point (WGS84) in a QPV of the list in force on `day`?"""
    millesime = millesime_on(day)
    if millesime is None:
        return _no_list(day)
    index = index_for(millesime.year)
    if not len(index):
        return _not_imported(millesime)
    return index.lookup(index.find(lon, lat))


def qpv_at_many(points: list[tuple[float, float]], day: datetime.date) -> list[QpvLookup]:
    """`qpv_at` for many points of one date, vectorised."""
    millesime = millesime_on(day)
    if millesime is None:
        return [_no_list(day)] * len(points)
    index = index_for(millesime.year)
    if not len(index):
        return [_not_imported(millesime)] * len(points)
    return [index.lookup(i) for i in index.find_many(points)]


# --- Import ---------------------------------------------------------------------------------------------------

# Property names: the 2015 files (CGET, as in clausier/reference/official/) and the 2024 ANCT file.
CODE_KEYS = ("code_qp",)
NAME_KEYS = ("lib_qp", "nom_qp")
COMMUNE_KEYS = ("insee_com", "code_commune")
WGS84_NAMES = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "CRS84"}
# 2015: QP + 6 digits (QP031007). 2024: QN + département on 3 characters + order on 2 digits + a letter
# (QN03101M, QN97414I; Corsica 02A/02B); QN + 6 digits is accepted too.
CODE_PATTERN = re.compile(r"^(QP\d{6}|QN\d{2}[\dAB]\d{2}[\dA-Z])$")


class QpvFileError(Exception):
    """A QPV file that cannot be imported; nothing was written. The message is in French."""


@dataclass
class QpvImportReport:
    file_name: str
    millesime: int
    read: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    repaired: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.file_name} (QPV {self.millesime}) : {self.read} périmètre(s) lu(s), "
            f"{len(self.created)} créé(s), {len(self.updated)} mis à jour, {self.unchanged} inchangé(s)"
        )
        if self.repaired:
            text += f", {len(self.repaired)} géométrie(s) corrigée(s) ({', '.join(self.repaired)})"
        return text + "."


def import_qpv(path: Path | str, millesime: int) -> QpvImportReport:
    """Upsert the perimeters of an ANCT GeoJSON file for `millesime` (2015 or 2024), all or nothing."""
    path = Path(path)
    if millesime not in MILLESIMES:
        raise QpvFileError(f"Millésime {millesime} inconnu : 2015 ou 2024 attendu.")
    spec = MILLESIMES[millesime]
    report = QpvImportReport(file_name=plain_name(path), millesime=millesime)
    features = _read_features(path)
    perimeters = _perimeters(path, spec, features, report)
    report.read = len(perimeters)

    existing = {
        row["code"]: row
        for row in Qpv.objects.filter(millesime=millesime).values(
            "code", "name", "commune_codes", "geometry", "valid_from", "valid_until"
        )
    }
    now = datetime.datetime.now(tz=datetime.UTC)
    to_write = []
    for qpv in perimeters:
        before = existing.get(qpv.code)
        if before is None:
            report.created.append(qpv.code)
        elif any(
            before[name] != getattr(qpv, name)
            for name in ("name", "commune_codes", "geometry", "valid_from", "valid_until")
        ):
            report.updated.append(qpv.code)
        else:
            report.unchanged += 1
            continue
        qpv.imported_at = now
        to_write.append(qpv)
    if to_write:
        with transaction.atomic():
            Qpv.objects.bulk_create(
                to_write,
                batch_size=200,
                update_conflicts=True,
                unique_fields=["millesime", "code"],
                update_fields=[
                    "name",
                    "valid_from",
                    "valid_until",
                    "commune_codes",
                    "geometry",
                    "min_lon",
                    "min_lat",
                    "max_lon",
                    "max_lat",
                    "imported_at",
                ],
            )
        invalidate_index(millesime)
    return report


def _read_features(path: Path) -> list:
    try:
        data = json.loads(read_bytes(path))
    except FileNotFoundError as exc:
        raise QpvFileError(f"Fichier {path} introuvable.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, *DECOMPRESSION_ERRORS) as exc:
        raise QpvFileError(
            f"Fichier {path.name} : ce n'est pas un fichier GeoJSON lisible ({exc}). Aucun QPV n'a été importé."
        ) from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise QpvFileError(
            f"Fichier {path.name} : une FeatureCollection GeoJSON est attendue. Aucun QPV n'a été importé."
        )
    crs = ((data.get("crs") or {}).get("properties") or {}).get("name")
    if crs and crs not in WGS84_NAMES:
        raise QpvFileError(
            f"Fichier {path.name} : système de coordonnées {crs} non pris en charge ; utilisez la version "
            "WGS84 (longitude, latitude) du fichier de l'ANCT. Aucun QPV n'a été importé."
        )
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise QpvFileError(f"Fichier {path.name} : aucun périmètre trouvé. Aucun QPV n'a été importé.")
    return features


def _first(properties: dict, keys: tuple[str, ...]) -> str:
    for key in keys:
        value = properties.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _perimeters(path: Path, spec: Millesime, features: list, report: QpvImportReport) -> list[Qpv]:
    by_code: dict[str, Qpv] = {}
    shapes: dict[str, list] = {}
    for number, feature in enumerate(features, start=1):
        where = f"Fichier {path.name}, périmètre n° {number}"
        properties = (feature or {}).get("properties") or {}
        code = _first(properties, CODE_KEYS).upper()
        name = _first(properties, NAME_KEYS)
        missing = [label for label, value in (("code_qp", code), ("lib_qp ou nom_qp", name)) if not value]
        if missing:
            raise QpvFileError(
                f"{where} : propriété(s) manquante(s) {', '.join(missing)} "
                f"(propriétés présentes : {', '.join(sorted(properties)) or 'aucune'}). Aucun QPV n'a été importé."
            )
        if not CODE_PATTERN.match(code):
            raise QpvFileError(
                f"{where} : code « {code} » invalide (QP031007 pour la liste 2015, QN03101M pour 2024). "
                "Aucun QPV n'a été importé."
            )
        where = f"Fichier {path.name}, QPV {code}"
        if not code.startswith(spec.code_prefix):
            raise QpvFileError(
                f"{where} : les codes du millésime {spec.year} commencent par {spec.code_prefix} ; "
                "vérifiez le fichier et l'option --millesime. Aucun QPV n'a été importé."
            )
        geometry = _geometry(where, feature.get("geometry"), report, code)
        commune = _first(properties, COMMUNE_KEYS)
        if code in by_code:  # one QPV in several features: one multipolygon
            shapes[code].append(geometry)
            communes = by_code[code].commune_codes.split()
            by_code[code].commune_codes = " ".join(
                dict.fromkeys([*communes, *commune.replace(",", " ").split()])
            )
            continue
        shapes[code] = [geometry]
        by_code[code] = Qpv(
            code=code,
            name=name[: Qpv._meta.get_field("name").max_length],
            millesime=spec.year,
            valid_from=spec.valid_from,
            valid_until=spec.valid_until,
            commune_codes=" ".join(commune.replace(",", " ").split())[:200],
        )
    for code, qpv in by_code.items():
        geometry = shapes[code][0] if len(shapes[code]) == 1 else shapely.union_all(shapes[code])
        qpv.geometry = _as_geojson(geometry)
        qpv.min_lon, qpv.min_lat, qpv.max_lon, qpv.max_lat = geometry.bounds
    return list(by_code.values())


def _geometry(where: str, raw, report: QpvImportReport, code: str):
    if not isinstance(raw, dict) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        kind = raw.get("type") if isinstance(raw, dict) else "aucune"
        raise QpvFileError(
            f"{where} : géométrie {kind} ; Polygon ou MultiPolygon attendu. Aucun QPV n'a été importé."
        )
    try:
        geometry = shape(raw)
    except (ValueError, TypeError, IndexError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise QpvFileError(f"{where} : géométrie illisible ({exc}). Aucun QPV n'a été importé.") from exc
    if geometry.is_empty:
        raise QpvFileError(f"{where} : géométrie vide. Aucun QPV n'a été importé.")
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise QpvFileError(
            f"{where} : coordonnées hors longitude/latitude (fichier en Lambert 93 ?). "
            "Utilisez la version WGS84 du fichier. Aucun QPV n'a été importé."
        )
    if not geometry.is_valid:
        # Official perimeters have the odd self-intersection: repair it when the surface is kept.
        repaired = shapely.make_valid(geometry)
        if repaired.geom_type == "GeometryCollection":
            repaired = shapely.union_all(
                [g for g in repaired.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            )
        if repaired.geom_type not in ("Polygon", "MultiPolygon") or abs(repaired.area - geometry.area) > max(
            1e-9, 0.01 * geometry.area
        ):
            raise QpvFileError(
                f"{where} : géométrie invalide ({shapely.is_valid_reason(geometry)}). Aucun QPV n'a été importé."
            )
        report.repaired.append(code)
        geometry = repaired
    return geometry


def _as_geojson(geometry) -> dict:
    """Plain JSON (lists, not tuples), so that re-importing the same file compares equal."""
    return json.loads(json.dumps(mapping(geometry)))
