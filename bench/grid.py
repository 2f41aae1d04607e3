"""Benchmark of the monthly hours grid: one POST saving a full month for a lot with 200 contracts.

    python -m bench.grid [--runs 7] [--contracts 200] [--database-url postgres://…/clausier_bench_grid]

Runs on its own PostgreSQL database (created and migrated if needed; default
`postgres://postgres@127.0.0.1:5432/clausier_bench_grid`), through the Django test client (the whole
stack: middleware, session, access layer, view, `declare_month`, the re-rendered grid partial as htmx asks).
Two timings, median of `--runs` each: a month saved for the first time (200 records created), and the same
month saved again with other values (200 records updated). Target: under 1 s.
"""

import argparse
import os
import statistics
import sys
import time

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clausier_bench_grid"
SLUG = "bench-grid"
TARGET_SECONDS = 1.0


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Base {name} créée.")


def build(n_contracts: int):
    """The facilitator, a staff user and a lot with `n_contracts` contracts (reused when present)."""
    import datetime

    from clausier.employment.models import Contract, HoursRecord, MonthlyStatement
    from clausier.organizations.models import Organization
    from tests.factories import (
        ClauseFactory,
        CompanyFactory,
        ContractFactory,
        FacilitatorFactory,
        LotFactory,
        MarketFactory,
        UserFactory,
    )

    facilitator = Organization.objects.filter(slug=SLUG).first()
    if facilitator is None:
        facilitator = FacilitatorFactory(name="Banc d'essai de la grille", slug=SLUG)
        UserFactory(email="grille@bench.example", member_of=facilitator)
    user = facilitator.memberships.select_related("user").first().user
    lot = Contract.objects.filter(facilitator=facilitator).values_list("lot", flat=True).first()
    from clausier.procurement.models import Lot

    lot = Lot.objects.filter(pk=lot).first() if lot else None
    if lot is None or lot.contracts.count() != n_contracts:
        market = MarketFactory(
            facilitator=facilitator,
            start_date=datetime.date(2024, 1, 1),
            end_date=datetime.date(2026, 12, 31),
        )
        lot = LotFactory(market=market)
        ClauseFactory(lot=lot)
        company = CompanyFactory(partner_of=facilitator)
        for _ in range(n_contracts):
            ContractFactory(
                lot=lot,
                company=company,
                start_date=datetime.date(2024, 1, 1),
                end_date=datetime.date(2026, 12, 31),
            )
        print(f"Lot de {n_contracts} contrats créé.")
    # Start from a clean slate: no hours, no statements for this lot's employers.
    HoursRecord.objects.filter(contract__lot=lot).delete()
    MonthlyStatement.objects.filter(facilitator=facilitator).delete()
    return facilitator, user, lot


def measure(runs: int, n_contracts: int) -> int:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from clausier.employment.models import HoursRecord

    setup_test_environment()  # the test client's host, in-memory e-mail
    call_command("migrate", verbosity=0)
    call_command("load_reference", verbosity=0)
    facilitator, user, lot = build(n_contracts)
    contracts = list(lot.contracts.order_by("pk"))
    client = Client()
    client.force_login(user)
    url = reverse("www:lot_hours", kwargs={"uuid": lot.uuid})
    client.get(url)  # warm up: session, templates, caches

    def post(month: str, value: str) -> float:
        payload = {"mois": month, **{f"h-{c.uuid}": value for c in contracts}}
        payload.update({f"f-{c.uuid}": "7" for c in contracts})
        started = time.perf_counter()
        response = client.post(url, payload, HTTP_HX_REQUEST="true")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and b"grid-refused" not in response.content, response.content[:500]
        return elapsed

    creations, updates = [], []
    for i in range(runs):
        month = f"{2024 + i // 12}-{i % 12 + 1:02d}"
        creations.append(post(month, "151,67"))
        updates.append(post(month, f"{140 + i},5"))
        assert HoursRecord.objects.filter(contract__lot=lot, month=f"{month}-01").count() == n_contracts
    create_median, update_median = statistics.median(creations), statistics.median(updates)
    print(f"Base : {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"Grille d'un lot de {n_contracts} contrats, un POST pour tout le mois, {runs} essais :")
    print(
        f"  première saisie (création)  : médiane {create_median:.3f} s  ({', '.join(f'{t:.3f}' for t in creations)})"
    )
    print(
        f"  nouvelle saisie (mise à jour): médiane {update_median:.3f} s  ({', '.join(f'{t:.3f}' for t in updates)})"
    )
    ok = max(create_median, update_median) < TARGET_SECONDS
    print(f"Objectif < {TARGET_SECONDS:.0f} s : {'atteint' if ok else 'NON atteint'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grid", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--contracts", type=int, default=200)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_GRID_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgres"):
        parser.error("le banc d'essai tourne sur PostgreSQL")
    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "bench-grid-insecure-key")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    return measure(args.runs, args.contracts)


if __name__ == "__main__":
    sys.exit(main())
