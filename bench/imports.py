"""Benchmark of the whole import pipeline: a 100,000-row monthly hours XLSX read, validated and committed.

    DEBUG=1 .venv/bin/python -m bench.imports [--rows 100000] [--employers 50]
                                              [--database-url postgres://…/clausier_bench_imports]

On its own PostgreSQL database (created and migrated if needed). Builds once a facilitator with
rows/12 contracts (bulk inserts) spread over `--employers` companies, writes an XLSX of 12 months × contracts
(title rows, the header on row 3, people named by last name + first name + birth date + market + lot, French
hours text, a total row), then times, each in a fresh process so that the peak RSS is its own:
- `bare`: python-calamine read + a bulk insert of the same rows (contracts resolved with one dict): the floor;
- `pipeline`: clausier.imports.pipeline.run("heures", …): read, header, mapping, validation with every check,
  preview, then `declare_month` per month in one transaction (statements, counting rules, audit entries);
- `reimport`: the same file again (every row unchanged: nothing written).
Targets: pipeline ≤ 3 × bare and < 60 s, peak memory < 500 MB.
"""

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clausier_bench_imports"
SLUG = "bench-imports"
MONTHS = [dt.date(2024, m, 1) for m in range(1, 13)]


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Base {name} créée.")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def build(n_contracts: int, n_employers: int):
    """The facilitator and its contracts (reused when the count matches)."""
    from clausier.employment.models import Contract
    from clausier.organizations.models import Organization
    from clausier.participants.models import Participant
    from clausier.procurement.models import Award
    from clausier.reference.models import ContractType, Modality
    from tests.factories import CompanyFactory, FacilitatorFactory, LotFactory, MarketFactory, ref

    facilitator = Organization.objects.filter(slug=SLUG).first() or FacilitatorFactory(
        name="Banc d'essai des imports", slug=SLUG
    )
    if Contract.objects.filter(facilitator=facilitator).count() == n_contracts:
        return facilitator
    print(f"Création de {n_contracts} contrats…", flush=True)
    market = MarketFactory(
        facilitator=facilitator, start_date=dt.date(2023, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    lots = [LotFactory(market=market, number=str(n)) for n in range(1, 6)]
    companies = [CompanyFactory(partner_of=facilitator) for _ in range(n_employers)]
    for lot in lots:
        Award.objects.bulk_create(
            [
                Award(facilitator=facilitator, lot=lot, company=c, role=Award.AwardRole.HOLDER)
                for c in companies
            ]
        )
    level = ref(
        __import__("clausier.reference.models", fromlist=["QualificationLevel"]).QualificationLevel, "infra3"
    )
    people = Participant.objects.bulk_create(
        [
            Participant(
                facilitator=facilitator,
                first_name=f"Prénom{i % 997}",
                last_name=f"Nom{i}",
                birth_date=dt.date(1970, 1, 1) + dt.timedelta(days=i % 12000),
                sex="F",
                qualification_level=level,
                entry_date=dt.date(2023, 1, 1),
            )
            for i in range(n_contracts)
        ],
        batch_size=2000,
    )
    modality, contract_type = ref(Modality, "direct_hire"), ref(ContractType, "cdd")
    Contract.objects.bulk_create(
        [
            Contract(
                facilitator=facilitator,
                participant=person,
                lot=lots[i % len(lots)],
                company=companies[i % n_employers],
                employer=companies[i % n_employers],
                modality=modality,
                contract_type=contract_type,
                start_date=dt.date(2023, 6, 1),
                end_date=dt.date(2026, 6, 30),
            )
            for i, person in enumerate(people)
        ],
        batch_size=2000,
    )
    return facilitator


def write_xlsx(path: Path, facilitator) -> int:
    import xlsxwriter

    from clausier.employment.models import Contract

    contracts = list(
        Contract.objects.filter(facilitator=facilitator)
        .select_related("participant", "lot__market")
        .order_by("pk")
    )
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Heures")
    date = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write(0, 0, "Relevé mensuel des heures d'insertion — 2024")
    sheet.write_row(
        2, 0, ["Nom", "Prénom", "Né(e) le", "N° marché", "Lot", "Mois", "Nb heures", "dont formation"]
    )
    line = 3
    for month in MONTHS:
        for index, contract in enumerate(contracts):
            person = contract.participant
            sheet.write_string(line, 0, person.last_name)
            sheet.write_string(line, 1, person.first_name)
            sheet.write_datetime(line, 2, dt.datetime.combine(person.birth_date, dt.time()), date)
            sheet.write_string(line, 3, contract.lot.market.reference)
            sheet.write_string(line, 4, f"Lot {contract.lot.number}")
            sheet.write_string(line, 5, f"{month:%m/%Y}")
            sheet.write_string(line, 6, f"{100 + index % 50},{index % 100:02d}")
            sheet.write_number(line, 7, index % 8)
            line += 1
    sheet.write_row(line, 0, ["TOTAL", "", "", "", "", "", "", ""])
    workbook.close()
    return line - 3


def reset(facilitator) -> None:
    from clausier.audit.models import AuditEntry  # noqa: F401 - the audit log is kept (append-only)
    from clausier.employment.models import HoursRecord, MonthlyStatement

    HoursRecord.objects.filter(facilitator=facilitator).delete()
    MonthlyStatement.objects.filter(facilitator=facilitator).delete()


def measure_bare(path: Path, facilitator) -> None:
    from decimal import Decimal

    import python_calamine

    from clausier.employment.models import Contract, HoursRecord
    from clausier.imports.values import parse_decimal

    index = {
        (last, birth): pk
        for pk, last, birth in Contract.objects.filter(facilitator=facilitator).values_list(
            "pk", "participant__last_name", "participant__birth_date"
        )
    }
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    records = []
    for row in workbook.get_sheet_by_index(0).iter_rows():
        if not row or row[0] in ("", "Nom", "TOTAL") or not isinstance(row[2], dt.date):
            continue
        month, year = row[5].split("/")
        hours = parse_decimal(row[6])
        records.append(
            HoursRecord(
                facilitator=facilitator,
                contract_id=index[(row[0], row[2].date() if isinstance(row[2], dt.datetime) else row[2])],
                month=dt.date(int(year), int(month), 1),
                hours=hours,
                training_hours=Decimal(int(row[7])),
                counted_hours=hours,
            )
        )
    HoursRecord.objects.bulk_create(records, batch_size=5000)
    print(json.dumps({"rows": len(records)}))


def measure_pipeline(path: Path, facilitator) -> None:
    from clausier.imports.pipeline import run

    report, _ = run("heures", path, filename=path.name, facilitator=facilitator)
    if report.status != "committed":
        print("\n".join(list(report.lines())[:20]), file=sys.stderr)
        raise SystemExit(2)
    print(json.dumps({"rows": report.rows, "counts": report.counts}))


def child(args) -> int:
    setup_django(args.database_url)
    from clausier.organizations.models import Organization

    facilitator = Organization.objects.get(slug=SLUG)
    path = Path(args.file)
    if args.child in ("bare", "pipeline"):
        reset(facilitator)
    start = time.perf_counter()
    (measure_bare if args.child == "bare" else measure_pipeline)(path, facilitator)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(elapsed, 2), "peak_mb": round(peak_mb)}))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.imports")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--employers", type=int, default=50)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--child", choices=["bare", "pipeline", "reimport"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if "load_reference" in __import__("django.core.management", fromlist=["x"]).get_commands():
        call_command("load_reference", verbosity=0)
    facilitator = build(-(-args.rows // 12), args.employers)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-imports-{args.rows}.xlsx"
    rows = write_xlsx(path, facilitator)
    print(f"Fichier : {path} ({rows} lignes, {path.stat().st_size / 1e6:.1f} Mo)")
    results = {}
    for step in ("bare", "pipeline", "reimport"):
        output = subprocess.run(
            [sys.executable, "-m", "bench.imports", "--child", step, "--file", str(path),
             "--database-url", args.database_url],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if output.returncode:
            print(output.stdout, output.stderr)
            return 1
        results[step] = json.loads(output.stdout.strip().splitlines()[-1])
        print(
            f"{step:9} {results[step]['seconds']:7.2f} s   pic mémoire {results[step]['peak_mb']} Mo",
            flush=True,
        )
    ratio = results["pipeline"]["seconds"] / results["bare"]["seconds"]
    ok = ratio <= 3 and results["pipeline"]["seconds"] < 60 and results["pipeline"]["peak_mb"] < 500
    print(
        f"rapport pipeline / brut : {ratio:.2f} × (objectif ≤ 3 ×, < 60 s, < 500 Mo) → {'OK' if ok else 'HORS OBJECTIF'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
