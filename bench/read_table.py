"""Micro-benchmark of the import reading layer: `python -m bench.read_table [--rows 100000]`.

Generates an hours statement XLSX (xlsxwriter, constant memory mode: a title, the header on row 3, then
`--rows` rows with a SIRET, names, a month, a start date, hours, a contract type) and times, each in a fresh
process so that the peak RSS is its own (best of `--repeat` runs):
- `calamine`: bare python-calamine, open + iterate every row (the floor);
- `read_table`: clausier.imports.read_table (size and zip-bomb checks, format sniffing, cell cleaning);
- `records`: read_table + find_records (header detection, total rows);
- `parse`: records + parse_siret / parse_month / parse_date / parse_hours on every row.
No database, no Django models: the whole-pipeline benchmark (validate + commit) belongs with the import step.
"""

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate(path: Path, rows: int) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Heures")
    date = workbook.add_format({"num_format": "dd/mm/yyyy"})
    month = workbook.add_format({"num_format": "mm/yyyy"})
    sheet.write(0, 0, "Relevé mensuel des heures d'insertion")
    sheet.write_row(2, 0, ["SIRET", "Nom", "Prénom", "Mois", "Date d'entrée", "Heures", "Contrat"])
    start = dt.datetime(2020, 1, 1)
    for index in range(rows):
        row = index + 3
        sheet.write_string(row, 0, f"{123456789 + index % 500:09d} {index % 99999:05d}")
        sheet.write_string(row, 1, f"Nom{index % 7919}")
        sheet.write_string(row, 2, f"Prénom{index % 613}")
        sheet.write_datetime(row, 3, dt.datetime(2024, 1 + index % 12, 1), month)
        sheet.write_datetime(row, 4, start + dt.timedelta(days=index % 1500), date)
        sheet.write_number(row, 5, round(7 + (index % 1500) / 10, 2))
        sheet.write_string(row, 6, ("CDDI", "CDI", "Intérim", "CDD")[index % 4])
    workbook.close()


def measure(step: str, path: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    import python_calamine

    from clausier.imports import find_records, read_table
    from clausier.imports.values import parse_date, parse_hours, parse_month, parse_siret

    began = time.perf_counter()
    if step == "calamine":
        workbook = python_calamine.CalamineWorkbook.from_path(path)
        count = sum(1 for _ in workbook.get_sheet_by_index(0).iter_rows())
    else:
        table = read_table(path, filename=Path(path).name)
        count = len(table.rows)
        if step in ("records", "parse"):
            records = find_records(table)
            count = len(records.rows)
        if step == "parse":
            for row in records.rows:
                parse_siret(row[0]), parse_month(row[3]), parse_date(row[4]), parse_hours(row[5])
    elapsed = time.perf_counter() - began
    return {"step": step, "rows": count, "seconds": round(elapsed, 3), "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # Linux: kilobytes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.read_table")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per step, the best one is kept")
    parser.add_argument("--measure", nargs=2, metavar=("STEP", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "heures.xlsx"
        began = time.perf_counter()
        generate(path, args.rows)
        print(
            f"generated {args.rows} rows in {time.perf_counter() - began:.1f} s, {path.stat().st_size / 1e6:.1f} MB"
        )
        results = {}
        for step in ("calamine", "read_table", "records", "parse"):
            runs = []
            for _ in range(args.repeat):
                output = subprocess.run(
                    [sys.executable, "-m", "bench.read_table", "--measure", step, str(path)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                runs.append(json.loads(output.strip().splitlines()[-1]))
            results[step] = min(runs, key=lambda run: run["seconds"])  # best of N: the machine may be busy
            print(json.dumps(results[step]))
        floor = results["calamine"]["seconds"]
        for step in ("read_table", "records", "parse"):
            print(f"{step}: {results[step]['seconds'] / floor:.2f}× the bare calamine read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
