"""Benchmark: QPV look-up of 10,000 points (target: under 2 s).

    DEBUG=1 .venv/bin/python -m bench.qpv [--points 10000] [--database-url URL]

Same base as `bench.duplicates` (DATABASE_URL if PostgreSQL, else `clausier_bench_dup`). The real 2015
perimeters of Occitanie (shipped in clausier/reference/official/) are imported (idempotent), then random points are drawn over
Toulouse Métropole's area (a few percent fall in a QPV) and looked up:

- `qpv_at_many(points, date)`: the batch path (one version check, one vectorised STRtree query);
- `qpv_at(lon, lat, date)` 10,000 times: the one-by-one path (the table's version is checked at most once a minute);
- the first build of the spatial index (read the perimeters from the base, STRtree).
"""

import argparse
import datetime
import random
import sys
import time
from pathlib import Path

TARGET_S = 2.0
DAY = datetime.date(2020, 6, 1)
QPV_FILE = (
    Path(__file__).resolve().parent.parent
    / "clausier"
    / "reference"
    / "official"
    / "qpv2015_occitanie.geojson.xz"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.qpv", description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=10_000, help="points à situer (10 000)")
    parser.add_argument(
        "--database-url", help="base PostgreSQL (défaut : DATABASE_URL, sinon clausier_bench_dup)"
    )
    args = parser.parse_args(argv)

    from bench.duplicates import setup_django

    setup_django(args.database_url)
    from django.db import connection

    from clausier.geo.qpv import QpvStatus, import_qpv, index_for, invalidate_index, qpv_at, qpv_at_many

    report = import_qpv(QPV_FILE, 2015)
    print(f"Base : {connection.vendor} {connection.settings_dict['NAME']} — {report.summary()}")

    rng = random.Random(2015)
    points = [(rng.uniform(1.33, 1.50), rng.uniform(43.54, 43.68)) for _ in range(args.points)]

    invalidate_index()
    t0 = time.perf_counter()
    index = index_for(2015)
    build = time.perf_counter() - t0

    t0 = time.perf_counter()
    batch = qpv_at_many(points, DAY)
    batch_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    single = [qpv_at(lon, lat, DAY) for lon, lat in points]
    single_s = time.perf_counter() - t0

    assert batch == single, "qpv_at_many et qpv_at ne donnent pas le même résultat"
    inside = sum(1 for r in batch if r.status == QpvStatus.INSIDE)
    print(f"Index spatial : {len(index)} périmètres, construit en {build * 1000:.0f} ms")
    print(f"{len(points)} points, dont {inside} en QPV :")
    print(f"  qpv_at_many (lot)       {batch_s * 1000:8.1f} ms")
    print(f"  qpv_at (un par un)      {single_s * 1000:8.1f} ms")

    # National scale (about 1,600 perimeters in the 2024 list): the Occitanie ones copied 16 times, side by side.
    from clausier.geo.qpv import Qpv, QpvIndex

    rows = list(Qpv.objects.filter(millesime=2015).values_list("code", "name", "geometry"))
    copies = [
        (f"{code}-{k}", name, _shifted(geometry, k * 6.0)) for k in range(16) for code, name, geometry in rows
    ]
    t0 = time.perf_counter()
    national = QpvIndex(2015, copies)
    national_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = national.find_many(points)
    national_s = time.perf_counter() - t0
    assert sum(1 for f in found if f is not None) == inside
    print(
        f"  avec {len(national)} périmètres (échelle nationale) : index {national_build * 1000:.0f} ms, "
        f"{len(points)} points en {national_s * 1000:.1f} ms"
    )
    worst = max(batch_s, single_s, national_s)
    print(f"Objectif < {TARGET_S:.0f} s : {'OK' if worst < TARGET_S else 'TROP LENT'}")
    return 0 if worst < TARGET_S else 1


def _shifted(geometry: dict, dlon: float) -> dict:
    import shapely
    from shapely.geometry import mapping, shape

    return mapping(shapely.affinity.translate(shape(geometry), xoff=dlon))


if __name__ == "__main__":
    sys.exit(main())
