"""N territories of the size of Toulouse Métropole Emploi, with the demo generator (no demo users).

Territory i is `bench-000i` ("Territoire de test 000i"), seeded with i: the data differ from one territory
to the next, the figures of each are exactly those of the demo (42 buyers, 1,824,868 hours, 2,725 contracts,
1,983 participants).
"""

import time

from django.db import connection

from clausier.demo.builder import build_territory, delete_territory
from clausier.demo.calibration import TerritorySpec
from clausier.demo.reference import ensure_reference
from clausier.organizations.models import Facilitator
from clausier.reporting.indicators import participants_per_year, territory_figures

PREFIX = "bench-"


def spec(i: int) -> TerritorySpec:
    return TerritorySpec(
        name=f"Territoire de test {i:04d}",
        slug=f"{PREFIX}{i:04d}",
        seed=i,
        territory_label=f"Territoire de test n° {i}",
        partner_suffix=f" · T{i:04d}",
    )


def generate(n: int, *, first: int = 1, reset: bool = False) -> int:
    ensure_reference()
    if reset:
        for fac in Facilitator.objects.filter(slug__startswith=PREFIX):
            delete_territory(fac)
    existing = set(Facilitator.objects.filter(slug__startswith=PREFIX).values_list("slug", flat=True))
    print(f"Base : {connection.vendor} {connection.settings_dict.get('NAME')}")
    started = time.monotonic()
    built = 0
    totals: dict[str, int] = {}
    for i in range(first, first + n):
        s = spec(i)
        if s.slug in existing:
            print(f"{s.slug} : déjà présent, ignoré")
            continue
        t0 = time.monotonic()
        builder = build_territory(s)
        built += 1
        for key, value in builder.stats.items():
            totals[key] = totals.get(key, 0) + value
        elapsed = time.monotonic() - started
        print(
            f"{s.slug} : {time.monotonic() - t0:.1f} s "
            f"({builder.stats['hours_records']} relevés) — cumul {built} territoires en {elapsed:.0f} s",
            flush=True,
        )
    elapsed = time.monotonic() - started
    print(f"\n{built} territoires en {elapsed:.1f} s ({elapsed / max(built, 1):.2f} s par territoire)")
    for key in ("participants", "contracts", "hours_records", "assessments", "markets", "lots", "outcomes"):
        print(f"  {key:<15} {totals.get(key, 0):>12,}".replace(",", " "))
    if built and connection.vendor == "postgresql":
        # Fresh bulk rows have no planner statistics until autovacuum comes by: measured right after a
        # generation, the dashboard took 4.8 s instead of 0.15 s. Gather them now.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print("Statistiques du planificateur recalculées (ANALYZE).")
    return 0


def measure() -> int:
    facilitators = list(Facilitator.objects.filter(slug__startswith=PREFIX).order_by("slug"))
    if not facilitators:
        print("Aucun territoire bench-* : lancez d'abord « python -m bench generate --facilitators N ».")
        return 1
    fac = facilitators[0]
    for label, call in (
        ("territory_figures (tout)", lambda: territory_figures(fac)),
        ("territory_figures (année)", lambda: territory_figures(fac, year=2024)),
        ("participants_per_year", lambda: participants_per_year(fac)),
    ):
        call()  # warm the cache
        t0 = time.monotonic()
        for _ in range(5):
            result = call()
        print(
            f"{label:<28} {(time.monotonic() - t0) / 5 * 1000:8.1f} ms  ({len(facilitators)} territoires en base)"
        )
    print(result[-1] if isinstance(result, list) else result)
    return 0


FIRST = "bench-0001"


def first_territory(territories: int):
    """`bench-0001` (the territory the benches measure), built with `territories - 1` others when the database
    holds none yet."""
    from clausier.organizations.models import Organization

    if not Organization.objects.filter(slug=FIRST).exists():
        print(f"Aucun territoire {FIRST} : construction de {territories} territoires…", flush=True)
        generate(territories)
    return Organization.objects.get(slug=FIRST)
