"""Benchmark: duplicate check with 500,000 participants on PostgreSQL (target: under 50 ms).

    DEBUG=1 .venv/bin/python -m bench.duplicates [--participants 500000] [--checks 300]

Database: `DATABASE_URL` if it is PostgreSQL (e.g. the national base built by `python -m bench generate`),
else the dedicated base `clausier_bench_dup` on 127.0.0.1 (created and migrated if missing). When the base
holds fewer participants than asked, the missing ones are added to one facilitator `bench-doublons` (the worst
case: every record in one tenant), with French names, compound names, particles and birth names, birth dates
spread over 1950-2007.

Measured: `find_duplicates` for existing people typed differently (accents, case, hyphens, order) and for new
people, in the facilitator holding the most records; median, 95th percentile and maximum.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
import uuid

from clausier.demo.data import FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES

FIRST_NAMES = FEMALE_FIRST_NAMES + MALE_FIRST_NAMES
LAST_NAMES = SURNAMES

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clausier_bench_dup"
TARGET_MS = 50.0
FACILITATOR_SLUG = "bench-doublons"

COMPOUND_FIRST = [
    "Jean-Pierre",
    "Marie-Claire",
    "Anne-Sophie",
    "Jean-Baptiste",
    "Marie-Hélène",
    "Pierre-Yves",
]
PARTICLES = ["de", "de La", "Le", "d'", "du"]


def setup_django(database_url: str | None) -> None:
    url = database_url or os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = DEFAULT_URL
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    _create_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Base {name} créée.")


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _person(rng: random.Random) -> tuple[str, str, str]:
    first = rng.choice(COMPOUND_FIRST) if rng.random() < 0.08 else rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    roll = rng.random()
    if roll < 0.10:
        last = f"{last}-{rng.choice(LAST_NAMES)}"
    elif roll < 0.13:
        particle = rng.choice(PARTICLES)
        last = f"{particle}{last}" if particle.endswith("'") else f"{particle} {last}"
    birth_name = rng.choice(LAST_NAMES) if rng.random() < 0.15 else ""
    return first, last, birth_name


def _birth_date(rng: random.Random) -> datetime.date:
    return datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 57))


def seed(target: int) -> None:
    """Top the base up to `target` participants, in facilitator `bench-doublons`, with COPY."""
    from django.db import connection
    from django.utils import timezone

    from clausier.organizations.models import Facilitator
    from clausier.participants.models import Participant
    from clausier.utils.names import normalize_name

    existing = Participant.objects.count()
    missing = target - existing
    if missing <= 0:
        return
    facilitator = Facilitator.objects.filter(slug=FACILITATOR_SLUG).first() or Facilitator.objects.create(
        name="Banc d'essai des doublons", slug=FACILITATOR_SLUG
    )
    print(f"Ajout de {_n(missing)} participants à {FACILITATOR_SLUG}…", flush=True)
    rng = random.Random(existing)
    now = timezone.now()
    columns = [
        "uuid",
        "facilitator_id",
        "created_at",
        "updated_at",
        "first_name",
        "last_name",
        "birth_name",
        "birth_date",
        "sex",
        "email",
        "phone",
        "address",
        "postal_code",
        "situation_at_entry",
        "referent",
        "normalized_name",
        "qpv_status",
        "qpv_code",
        "qpv_method",
        "qpv_reason",
        "version",
    ]
    started = time.monotonic()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY participants_participant ({', '.join(columns)}) FROM STDIN") as copy:
            for _ in range(missing):
                first, last, birth_name = _person(rng)
                copy.write_row(
                    [
                        uuid.uuid4(),
                        facilitator.pk,
                        now,
                        now,
                        first,
                        last,
                        birth_name,
                        _birth_date(rng),
                        rng.choice("FM"),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        normalize_name(first, last),
                        "",
                        "",
                        "",
                        "",
                        1,
                    ]
                )
        cursor.execute("ANALYZE participants_participant")
    print(f"  {_n(missing)} lignes en {time.monotonic() - started:.1f} s", flush=True)


def _typed_differently(rng: random.Random, first: str, last: str) -> tuple[str, str]:
    """The same name as someone else would type it."""
    from unidecode import unidecode

    variants = [
        lambda f, n: (f.upper(), n.upper()),
        lambda f, n: (unidecode(f).lower(), unidecode(n).lower()),
        lambda f, n: (f, n.replace("-", " ")),
        lambda f, n: (f.replace("-", " "), " ".join(reversed(n.split("-"))) if "-" in n else n.upper()),
    ]
    return rng.choice(variants)(first, last)


def measure(checks: int) -> int:
    from django.db import connection
    from django.db.models import Count

    from clausier.participants.duplicates import find_duplicates
    from clausier.participants.models import Participant

    total = Participant.objects.count()
    top = Participant.objects.values("facilitator_id").annotate(n=Count("id")).order_by("-n").first()
    facilitator_id, in_tenant = top["facilitator_id"], top["n"]
    print(
        f"Base : {connection.vendor} {connection.settings_dict['NAME']} — {_n(total)} participants, "
        f"{_n(in_tenant)} chez le facilitateur mesuré"
    )
    rng = random.Random(42)
    ids = list(
        Participant.objects.filter(facilitator_id=facilitator_id, merged_into__isnull=True)
        .order_by("?")
        .values_list("pk", "first_name", "last_name", "birth_name", "birth_date")[:checks]
    )
    # Warm-up (connection, plans).
    for _, first, last, birth_name, born in ids[:10]:
        find_duplicates(facilitator_id, first, last, born, birth_name)

    timings_hit, timings_miss, found, candidates = [], [], 0, 0
    for pk, first, last, birth_name, born in ids:
        typed_first, typed_last = _typed_differently(rng, first, last)
        t0 = time.perf_counter()
        result = find_duplicates(facilitator_id, typed_first, typed_last, born, birth_name)
        timings_hit.append((time.perf_counter() - t0) * 1000)
        found += any(c.participant.pk == pk for c in result)
        candidates += len(result)
    for _ in range(checks):
        first, last, _ = _person(rng)
        t0 = time.perf_counter()
        find_duplicates(facilitator_id, first, f"{last}x", _birth_date(rng))
        timings_miss.append((time.perf_counter() - t0) * 1000)

    with connection.cursor() as cursor:
        born = ids[0][4]
        cursor.execute(
            "EXPLAIN ANALYZE SELECT id, first_name, last_name, birth_name, birth_date FROM participants_participant "
            "WHERE facilitator_id = %s AND birth_date IN (%s, %s) AND merged_into_id IS NULL",
            [facilitator_id, born, born],
        )
        plan = [row[0] for row in cursor.fetchall()]
    print("Plan :", *plan[:4], sep="\n  ")

    def line(label, timings):
        q = statistics.quantiles(timings, n=20)
        return (
            f"{label:<28} médiane {statistics.median(timings):6.2f} ms   p95 {q[18]:6.2f} ms   "
            f"max {max(timings):6.2f} ms   ({len(timings)} recherches)"
        )

    print(line("personne existante :", timings_hit))
    print(line("personne nouvelle :", timings_miss))
    print(
        f"Retrouvées : {found}/{len(ids)} ; {candidates / len(ids):.2f} candidat(s) par recherche en moyenne"
    )
    p95 = statistics.quantiles(timings_hit + timings_miss, n=20)[18]
    verdict = "OK" if p95 < TARGET_MS else "TROP LENT"
    print(f"Objectif < {TARGET_MS:.0f} ms (p95) : {verdict}")
    return 0 if p95 < TARGET_MS and found == len(ids) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.duplicates", description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=500_000, help="participants en base (500 000)")
    parser.add_argument("--checks", type=int, default=300, help="recherches mesurées (300)")
    parser.add_argument(
        "--database-url", help=f"base PostgreSQL (défaut : DATABASE_URL, sinon {DEFAULT_URL})"
    )
    args = parser.parse_args(argv)
    setup_django(args.database_url)
    seed(args.participants)
    return measure(args.checks)


if __name__ == "__main__":
    sys.exit(main())
