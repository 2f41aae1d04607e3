"""`python -m bench.consolidation`: the national consolidation at scale — every territory's yearly file, then the merge.

Runs against the database of `DATABASE_URL` (the national database of `python -m bench generate`, e.g.
`clausier_bench`); when it holds no `bench-*` territory, it builds `--territories` of them first (3 by default).
For the year `--year` (by default the last complete year), it measures:

- the export of every `bench-*` territory (`clausier.reporting.consolidation.export`, what
  `clausier consolidation export` does), each file written to a temporary directory (`--keep DIR` to keep them),
  in `--jobs` processes (each territory exports its own file: in real life they run side by side; 1 = one
  after the other; default: up to 4, one per CPU);
- the merge of all the files (`merge_paths`: reading, validation, national counts);

and prints the times (total, per territory), the national counts, and the target: exports + merge under 10 s.
Profiles at entry missing in a territory are computed first, outside the measure (`--no-profiles` to skip).

`CONSOLIDATION_KEY` is read from the environment; when it is not set, a key for the bench only is used.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/clausier_bench python -m bench.consolidation --year 2025
"""

import argparse
import datetime
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TARGET_SECONDS = 10
BENCH_KEY = "banc-de-mesure-uniquement-jamais-en-production-0123456789"


def export_one(facilitator_id: int, year: int, folder: str) -> tuple[str, str, float]:
    """Export one territory's file (in a worker process or not): (slug, path, seconds)."""
    from clausier.organizations.models import Facilitator
    from clausier.reporting.consolidation import dumps, export

    started = time.perf_counter()
    facilitator = Facilitator.objects.get(pk=facilitator_id)
    path = Path(folder) / f"{facilitator.slug}-{year}.json"
    path.write_text(dumps(export(facilitator, year)), encoding="utf-8")
    return facilitator.slug, str(path), time.perf_counter() - started


def _worker_setup():
    import django

    django.setup()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.consolidation", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--year", type=int, default=datetime.date.today().year - 1, help="année (défaut : l'année dernière)"
    )
    parser.add_argument(
        "--territories", type=int, default=3, help="territoires à construire s'il n'y en a aucun"
    )
    parser.add_argument("--keep", metavar="DIR", help="garder les fichiers des territoires dans ce dossier")
    parser.add_argument(
        "--jobs", type=int, default=min(4, os.cpu_count() or 1), help="processus d'export en parallèle"
    )
    parser.add_argument(
        "--no-profiles", action="store_true", help="ne pas calculer les profils à l'entrée manquants"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    bench_key = not os.environ.get("CONSOLIDATION_KEY")
    if bench_key:
        os.environ["CONSOLIDATION_KEY"] = BENCH_KEY
    import django

    django.setup()
    from django.db import connection, connections

    from bench.generate import PREFIX, generate
    from clausier.organizations.models import Facilitator
    from clausier.participants.models import Participant
    from clausier.participants.profiles import refresh_profiles
    from clausier.reporting.consolidation import merge_paths

    if not Facilitator.objects.filter(slug__startswith=PREFIX).exists():
        print(f"Aucun territoire {PREFIX}* : construction de {args.territories} territoires…", flush=True)
        generate(args.territories)
    territories = list(Facilitator.objects.filter(slug__startswith=PREFIX).order_by("slug"))
    if not args.no_profiles:
        missing = Participant.objects.filter(facilitator__in=territories, profile__isnull=True)
        if missing.exists():
            print("Calcul des profils à l'entrée manquants…", flush=True)
            refresh_profiles(missing)

    print(
        f"Base : {connection.vendor} {connection.settings_dict['NAME']}, {len(territories)} territoires ; "
        f"année {args.year} ; {args.jobs} processus{' ; clé de test du banc' if bench_key else ''}."
    )
    ids = [t.pk for t in territories]
    with tempfile.TemporaryDirectory(prefix="consolidation-") as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        if args.jobs > 1:
            connections.close_all()  # each worker opens its own connection
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            with ProcessPoolExecutor(args.jobs, mp_context=context, initializer=_worker_setup) as pool:
                results = list(pool.map(export_one, ids, [args.year] * len(ids), [str(folder)] * len(ids)))
        else:
            results = [export_one(pk, args.year, str(folder)) for pk in ids]
        exports = time.perf_counter() - started
        paths = [path for _, path, _ in results]
        slowest = max(((seconds, slug) for slug, _, seconds in results), default=(0.0, ""))
        t0 = time.perf_counter()
        counts = merge_paths(paths)
        merging = time.perf_counter() - t0
        size = sum(Path(p).stat().st_size for p in paths)

    total = exports + merging
    print(
        f"  exports ({len(paths)} fichiers, {size / 1e6:.1f} Mo)      {exports:8.2f} s "
        f"({exports / max(len(paths), 1) * 1000:.0f} ms par territoire en temps écoulé, le plus lent {slowest[1]} "
        f"{slowest[0] * 1000:.0f} ms)"
    )
    print(f"  fusion et vérification                  {merging:8.2f} s")
    print(f"  total                                   {total:8.2f} s (objectif < {TARGET_SECONDS} s)")
    print(
        f"  national {counts.year} : {len(counts.territories)} territoires, {counts.buyers} donneurs d'ordre, "
        f"{counts.hours} h, {counts.contracts} contrats, {counts.participants} bénéficiaires sans double "
        f"compte (somme {counts.participants_sum}), {counts.in_several_territories} dans plusieurs territoires"
    )
    return 0 if total < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
