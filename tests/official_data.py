"""The official open data as the tests read it: the files that ship with Clausier, never a folder beside it.

`OFFICIAL` is `clausier/reference/official/` (compressed files, read in place by the importers). The import
pipeline reads plain spreadsheets, so `plain(name)` gives a decompressed copy, made once per test run.
"""

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from clausier.reference.official import OFFICIAL_DIR, extract

OFFICIAL = OFFICIAL_DIR
DATA = Path(__file__).resolve().parent / "data"  # small extracts only the tests need (see its PROVENANCE.md)
QPV_2015 = OFFICIAL / "qpv2015_occitanie.geojson.xz"
COG = OFFICIAL / "cog_communes_2026.csv.xz"
TOULOUSE_METROPOLE = DATA / "communes_toulouse_metropole.csv"


@cache
def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="clausier-official-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@cache
def plain(name: str) -> Path:
    """A decompressed copy of the shipped file `name` (`siae_haute_garonne_2020.csv.xz` → `….csv`)."""
    return extract(name, _folder())
