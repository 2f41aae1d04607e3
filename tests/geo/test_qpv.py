"""QPV perimeters: the real 2015 Occitanie file, look-ups by date, `clausier geo import-qpv` and `qpv-at`."""

import csv
import datetime
import json
from pathlib import Path

import pytest
import shapely
from django.core.management import CommandError, call_command
from shapely.geometry import shape

from clausier.geo.models import Qpv
from clausier.geo.qpv import (
    QpvFileError,
    QpvStatus,
    import_qpv,
    index_for,
    invalidate_index,
    millesime_on,
    qpv_at,
    qpv_at_many,
)
from clausier.utils.compressed import read_bytes
from tests.official_data import QPV_2015, TOULOUSE_METROPOLE

pytestmark = pytest.mark.django_db


IN_2015_LIST = datetime.date(2020, 6, 1)


@pytest.fixture(autouse=True)
def _fresh_index():
    invalidate_index()
    yield
    invalidate_index()


@pytest.fixture
def qpv2015():
    return import_qpv(QPV_2015, 2015)


def toulouse_metropole_features() -> list[dict]:
    with TOULOUSE_METROPOLE.open(encoding="utf-8") as handle:
        communes = {row["code_insee"] for row in csv.DictReader(handle)}
    features = json.loads(read_bytes(QPV_2015))["features"]
    return [f for f in features if f["properties"]["code_commune"] in communes]


def test_millesimes_in_force():
    assert millesime_on(datetime.date(2014, 12, 31)) is None
    assert millesime_on(datetime.date(2015, 1, 1)).year == 2015
    assert millesime_on(datetime.date(2023, 12, 31)).year == 2015
    assert millesime_on(datetime.date(2024, 1, 1)).year == 2024
    assert millesime_on(datetime.date(2031, 5, 5)).year == 2024


def test_import_of_the_real_2015_file(qpv2015):
    assert (qpv2015.read, len(qpv2015.created), len(qpv2015.updated), qpv2015.unchanged) == (105, 105, 0, 0)
    # One perimeter of the official file crosses itself (Lunel): repaired, same surface.
    assert qpv2015.repaired == ["QP034021"]
    grand_mirail = Qpv.objects.get(millesime=2015, code="QP031007")
    assert grand_mirail.name == "Grand Mirail"
    assert grand_mirail.commune_codes == "31555"
    assert (grand_mirail.valid_from, grand_mirail.valid_until) == (
        datetime.date(2015, 1, 1),
        datetime.date(2023, 12, 31),
    )
    assert grand_mirail.geometry["type"] == "Polygon"
    assert grand_mirail.min_lon == pytest.approx(1.3909268403)
    assert grand_mirail.max_lat == pytest.approx(43.5864518517)
    assert Qpv.objects.filter(code__startswith="QP031").count() == 19


def test_a_point_inside_each_toulouse_metropole_qpv_resolves_to_its_code(qpv2015):
    features = toulouse_metropole_features()
    assert len(features) == 16
    for feature in features:
        point = shape(feature["geometry"]).representative_point()
        result = qpv_at(point.x, point.y, IN_2015_LIST)
        assert result.status == QpvStatus.INSIDE, feature["properties"]["code_qp"]
        assert (result.code, result.millesime) == (feature["properties"]["code_qp"], 2015)
        assert result.name == feature["properties"]["nom_qp"]


def _ring_points(geometry, metres: float, count: int = 8) -> list[shapely.Point]:
    """Points on the outline of the perimeter grown by `metres` (degrees scaled at the perimeter's latitude)."""
    import math

    centre = geometry.centroid
    metre_lat = 1 / 111_320
    metre_lon = 1 / (111_320 * math.cos(math.radians(centre.y)))
    # Grow in a local metric frame so that "a few metres" is the same in both directions.
    local = shapely.affinity.scale(geometry, 1 / metre_lon, 1 / metre_lat, origin=centre)
    ring = local.buffer(metres).exterior
    points = [ring.interpolate(i / count, normalized=True) for i in range(count)]
    return [shapely.affinity.scale(p, metre_lon, metre_lat, origin=centre) for p in points]


def test_points_just_outside_do_not_resolve(qpv2015):
    for feature in toulouse_metropole_features():
        geometry = shape(feature["geometry"])
        for point in _ring_points(geometry, metres=5):
            assert not geometry.intersects(point)
            result = qpv_at(point.x, point.y, IN_2015_LIST)
            assert result.status == QpvStatus.OUTSIDE, (feature["properties"]["code_qp"], point.wkt)
            assert result.code == ""


def test_an_entry_before_2015_has_no_list_in_force_not_outside(qpv2015):
    point = shape(toulouse_metropole_features()[0]["geometry"]).representative_point()

    result = qpv_at(point.x, point.y, datetime.date(2013, 9, 2))

    assert result.status == QpvStatus.NO_LIST
    assert result.status != QpvStatus.OUTSIDE
    assert not result.inside
    assert "aucune liste QPV en vigueur à cette date" in result.message


def test_the_2024_list_in_force_but_not_imported_is_not_outside(qpv2015):
    point = shape(toulouse_metropole_features()[0]["geometry"]).representative_point()

    result = qpv_at(point.x, point.y, datetime.date(2024, 3, 1))

    assert result.status == QpvStatus.NO_LIST
    assert result.millesime == 2024
    assert "n'a pas été importée" in result.message


def test_vectorised_lookup_agrees_with_single_lookups(qpv2015):
    points = []
    for feature in toulouse_metropole_features():
        geometry = shape(feature["geometry"])
        inside = geometry.representative_point()
        points.append((inside.x, inside.y))
        outside = _ring_points(geometry, metres=50, count=1)[0]
        points.append((outside.x, outside.y))
    many = qpv_at_many(points, IN_2015_LIST)
    assert many == [qpv_at(lon, lat, IN_2015_LIST) for lon, lat in points]
    assert [r.status for r in many].count(QpvStatus.INSIDE) == 16
    assert qpv_at_many(points, datetime.date(2013, 1, 1))[0].status == QpvStatus.NO_LIST
    assert qpv_at_many([], IN_2015_LIST) == []


def test_importing_twice_changes_nothing(qpv2015):
    before = list(Qpv.objects.order_by("code").values())

    again = import_qpv(QPV_2015, 2015)

    assert (again.read, again.created, again.updated, again.unchanged) == (105, [], [], 105)
    assert list(Qpv.objects.order_by("code").values()) == before


def test_index_built_once_and_rebuilt_after_an_import(tmp_path, qpv2015):
    first = index_for(2015)
    assert index_for(2015) is first
    assert len(first) == 105

    # Move one perimeter: the next look-up sees it.
    data = json.loads(read_bytes(QPV_2015))
    data["features"] = [f for f in data["features"] if f["properties"]["code_qp"] == "QP031007"]
    data["features"][0]["geometry"] = _square(10.0, 45.0)
    moved = tmp_path / "moved.geojson"
    moved.write_text(json.dumps(data), encoding="utf-8")
    report = import_qpv(moved, 2015)

    assert report.updated == ["QP031007"]
    assert index_for(2015) is not first
    assert qpv_at(10.005, 45.005, IN_2015_LIST).code == "QP031007"


# --- 2024 property names, MultiPolygon, errors -----------------------------------------------------------------


def _square(lon: float, lat: float, size: float = 0.01) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _feature(properties: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _write(tmp_path, features, name="qpv.geojson", **extra) -> Path:
    path = tmp_path / name
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features, **extra}), encoding="utf-8"
    )
    return path


def anct_2024(tmp_path) -> Path:
    multipolygon = {
        "type": "MultiPolygon",
        "coordinates": [_square(1.40, 43.57)["coordinates"], _square(1.45, 43.57)["coordinates"]],
    }
    return _write(
        tmp_path,
        [
            _feature(
                {
                    "code_qp": "QN031001",
                    "lib_qp": "Quartier en deux morceaux",
                    "insee_com": "31555",
                    "lib_com": "Toulouse",
                    "insee_dep": "31",
                    "insee_reg": "76",
                },
                multipolygon,
            ),
            _feature(
                {
                    "code_qp": "QN031002",
                    "lib_qp": "Autre quartier",
                    "insee_com": "31149",
                    "lib_com": "Colomiers",
                },
                _square(1.30, 43.60),
            ),
        ],
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
    )


def test_2024_anct_property_names_and_multipolygons(tmp_path, qpv2015, capsys):
    call_command("geo", "import-qpv", str(anct_2024(tmp_path)), "--millesime", "2024")
    assert "2 périmètre(s) lu(s), 2 créé(s)" in capsys.readouterr().out

    qpv = Qpv.objects.get(millesime=2024, code="QN031001")
    assert (qpv.name, qpv.commune_codes, qpv.valid_from, qpv.valid_until) == (
        "Quartier en deux morceaux",
        "31555",
        datetime.date(2024, 1, 1),
        None,
    )
    assert qpv.geometry["type"] == "MultiPolygon"
    assert (qpv.min_lon, qpv.max_lon) == pytest.approx((1.40, 1.46))
    # Both parts of the multipolygon, at a 2024 date; the 2015 list still answers for 2020.
    assert qpv_at(1.405, 43.575, datetime.date(2024, 3, 1)).code == "QN031001"
    assert qpv_at(1.455, 43.575, datetime.date(2025, 3, 1)).code == "QN031001"
    assert qpv_at(1.43, 43.575, datetime.date(2025, 3, 1)).status == QpvStatus.OUTSIDE
    assert qpv_at(1.305, 43.605, datetime.date(2024, 1, 1)).code == "QN031002"
    assert qpv_at(1.305, 43.605, datetime.date(2023, 12, 31)).status == QpvStatus.OUTSIDE


def test_a_point_on_the_boundary_counts_as_inside(tmp_path):
    import_qpv(anct_2024(tmp_path), 2024)
    assert qpv_at(1.30, 43.605, datetime.date(2024, 6, 1)).code == "QN031002"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("pas du json", "ce n'est pas un fichier GeoJSON lisible"),
        (json.dumps({"type": "Feature"}), "une FeatureCollection GeoJSON est attendue"),
        (json.dumps({"type": "FeatureCollection", "features": []}), "aucun périmètre trouvé"),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
                    "features": [_feature({"code_qp": "QN031001", "lib_qp": "X"}, _square(1, 43))],
                }
            ),
            "système de coordonnées urn:ogc:def:crs:EPSG::2154 non pris en charge",
        ),
    ],
)
def test_unreadable_files_are_refused(tmp_path, content, message):
    path = tmp_path / "qpv.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QpvFileError, match=message):
        import_qpv(path, 2024)
    assert not Qpv.objects.exists()


GOOD = _feature({"code_qp": "QN031001", "lib_qp": "Bon"}, _square(1.4, 43.6))
BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            _feature({"code": "QN031002", "nom": "Sans les bonnes propriétés"}, _square(1.3, 43.6)),
            "propriété\\(s\\) manquante\\(s\\) code_qp, lib_qp ou nom_qp",
        ),
        (
            _feature(
                {"code_qp": "QN031002", "lib_qp": "Un point"}, {"type": "Point", "coordinates": [1.3, 43.6]}
            ),
            "géométrie Point ; Polygon ou MultiPolygon attendu",
        ),
        (_feature({"code_qp": "QN031002", "lib_qp": "Sans géométrie"}, None), "géométrie aucune"),
        (
            _feature({"code_qp": "QN031002", "lib_qp": "Lambert 93"}, _square(574000, 6278000, 500)),
            "coordonnées hors longitude/latitude",
        ),
        (
            _feature({"code_qp": "QN031002", "lib_qp": "Papillon"}, BOWTIE),
            "géométrie invalide",
        ),
        (
            _feature(
                {"code_qp": "QN031002", "lib_qp": "Coordonnées"}, {"type": "Polygon", "coordinates": "x"}
            ),
            "géométrie illisible",
        ),
        (
            _feature({"code_qp": "QP031002", "nom_qp": "Millésime 2015"}, _square(1.3, 43.6)),
            "commencent par QN",
        ),
        (_feature({"code_qp": "31-2", "lib_qp": "Code"}, _square(1.3, 43.6)), "code « 31-2 » invalide"),
    ],
)
def test_bad_features_are_refused_and_nothing_is_written(tmp_path, capsys, bad, message):
    path = _write(tmp_path, [GOOD, bad])
    with pytest.raises(CommandError, match=message) as error:
        call_command("geo", "import-qpv", str(path), "--millesime", "2024")
    assert "031002" in str(error.value) or "n° 2" in str(error.value)  # says which perimeter
    assert str(error.value).endswith("Aucun QPV n'a été importé.")
    assert not Qpv.objects.exists()


def test_the_2015_file_as_2024_is_refused():
    with pytest.raises(CommandError, match="les codes du millésime 2024 commencent par QN"):
        call_command("geo", "import-qpv", str(QPV_2015), "--millesime", "2024")
    assert not Qpv.objects.exists()


def test_missing_file_and_unknown_millesime(tmp_path):
    with pytest.raises(CommandError, match="introuvable"):
        call_command("geo", "import-qpv", str(tmp_path / "absent.geojson"), "--millesime", "2015")
    with pytest.raises(CommandError):
        call_command("geo", "import-qpv", str(QPV_2015), "--millesime", "2019")
    with pytest.raises(QpvFileError, match="Millésime 2019 inconnu"):
        import_qpv(QPV_2015, 2019)


# --- clausier geo qpv-at --------------------------------------------------------------------------------------


def test_qpv_at_command(qpv2015, capsys):
    feature = next(f for f in toulouse_metropole_features() if f["properties"]["code_qp"] == "QP031007")
    point = shape(feature["geometry"]).representative_point()

    call_command("geo", "qpv-at", str(point.x), str(point.y), "--date", "2019-05-01")
    assert capsys.readouterr().out.strip() == "QP031007"

    call_command("geo", "qpv-at", "1.4442", "43.6045", "--date", "01/05/2019")  # Capitole: not a QPV
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")

    call_command("geo", "qpv-at", str(point.x), str(point.y), "--date", "2013-05-01")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "aucune liste QPV en vigueur à cette date" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["abc", "43.6"], "Coordonnée « abc » invalide"),
        (["1.4", "43.6", "--date", "2019-13-01"], "Date « 2019-13-01 » invalide"),
        (["574000", "6278000"], "Coordonnées hors limites"),
    ],
)
def test_qpv_at_command_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("geo", "qpv-at", *args)
