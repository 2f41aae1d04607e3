"""The demo's directory of insertion structures: the real SIAE of Haute-Garonne, imported as a facilitator does.

The file that ships in `clausier/reference/official/` (ASP directory of late 2020, see its PROVENANCE.md)
goes through the structures import (`clausier.imports.pipeline.run`, kind "structures", the rows in error
left out as with `clausier import … --skip-invalid`), written on behalf of the facilitator. Rows are matched
by SIRET: importing again finds every structure unchanged and writes nothing.

The structures are placed in their communes: without the official communes (COG, `clausier load_reference`)
nothing is imported, and the message says so.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from clausier.imports.pipeline import CREATE, UNCHANGED, UPDATE, Report, run
from clausier.reference.models import OfficialDataset
from clausier.reference.official import OfficialDataError, extract

SIAE_FILE = "siae_haute_garonne_2020.csv.xz"
KIND = "structures"


@dataclass
class DirectoryImport:
    message: str  # in French, for the `demo` command
    report: Report | None = None  # None: not attempted (official data missing)

    @property
    def imported(self) -> bool:
        return self.report is not None and self.report.ok


def import_demo_siae(facilitator) -> DirectoryImport:
    """Import the Haute-Garonne SIAE file into `facilitator`'s directory (see the module's docstring)."""
    if not OfficialDataset.objects.filter(key="communes").exists():
        return DirectoryImport(
            "Annuaire des SIAE de la Haute-Garonne non importé : les communes officielles (COG) ne sont pas "
            "chargées (clausier load_reference)."
        )
    with tempfile.TemporaryDirectory(prefix="clausier-demo-") as folder:
        try:
            path = extract(SIAE_FILE, Path(folder))
        except (OfficialDataError, OSError) as exc:
            return DirectoryImport(f"Annuaire des SIAE de la Haute-Garonne non importé : {exc}")
        report, _ = run(KIND, path, filename=path.name, facilitator=facilitator, skip_invalid=True)
    if not report.ok:
        return DirectoryImport(
            f"Annuaire des SIAE de la Haute-Garonne refusé : {' '.join(report.lines())}", report
        )
    counts = report.counts
    message = (
        f"Annuaire des SIAE de la Haute-Garonne ({path.name}) : {report.rows} ligne(s) lue(s), "
        f"{counts[CREATE]} structure(s) ajoutée(s), {counts[UPDATE]} mise(s) à jour, "
        f"{counts[UNCHANGED]} déjà présente(s), {len(report.left_out)} ligne(s) en erreur écartée(s)"
    )
    if report.left_out:
        message += " : " + " ; ".join(str(problem) for problem in report.problems)
    return DirectoryImport(message + ".", report)
