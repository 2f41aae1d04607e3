"""Fuzz the spreadsheet readers longer than the suite does (issue 13).

    .venv/bin/python -m bench.fuzz_readers [--examples 2000]

Runs `tests/imports/test_reader_fuzz.py` with that many Hypothesis examples per strategy (the suite runs 40):
malformed XLSX/ODS/CSV files must only ever give the readers' own French refusals, never another exception
nor a crash of the process.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_readers", description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="exemples par stratégie (2000)")
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "CLAUSIER_FUZZ_EXAMPLES": str(args.examples),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "insecure-bench-only-key"),
        "SECURE_SSL_REDIRECT": "0",
        "DEBUG": "0",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/imports/test_reader_fuzz.py", "-p", "no:randomly"],
        cwd=ROOT,
        env=env,
        check=False,
    )
    print(
        f"{args.examples} exemples par stratégie, {time.monotonic() - started:.0f} s, code {result.returncode}"
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
