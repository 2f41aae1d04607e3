"""Limits every imported file must respect, and the checks run BEFORE a spreadsheet library touches the file.

Every refusal is an `ImportRefused` carrying a French message meant for the user as is.

Settings (all optional, read at call time so `override_settings` works in tests):
- `IMPORT_MAX_BYTES` (default 20 Mo): size of the uploaded file;
- `IMPORT_MAX_ROWS` (default 200 000): non-blank rows of the sheet read;
- `IMPORT_MAX_UNCOMPRESSED_BYTES` (default 256 Mo): total expanded size of an XLSX/ODS archive;
- `IMPORT_MAX_COMPRESSION_RATIO` (default 200): expanded/compressed ratio of any archive member above 1 Mo;
- `IMPORT_MAX_SHEET_ROWS` (default 1 048 576), `IMPORT_MAX_COLUMNS` (default 1 000) and `IMPORT_MAX_CELLS`
  (default 35 000 000, about 1 GB once loaded): the area a sheet claims, checked before it is loaded
  (`claims.py`); a real file of 1 048 576 rows × 30 columns passes, one far-away cell does not.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, replace

MB = 1024 * 1024

DEFAULT_MAX_BYTES = 20 * MB
DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_UNCOMPRESSED_BYTES = 256 * MB
DEFAULT_MAX_COMPRESSION_RATIO = 200
DEFAULT_MAX_SHEET_ROWS = 1_048_576
DEFAULT_MAX_COLUMNS = 1_000
DEFAULT_MAX_CELLS = 35_000_000
# Small members (styles, shared strings of a few rows) may legitimately compress very well.
RATIO_CHECK_FROM_BYTES = 1 * MB
MAX_ARCHIVE_MEMBERS = 10_000

NOT_A_SPREADSHEET = "Ce fichier n'est pas un tableur lisible (XLSX, XLS, ODS ou CSV)."
PASSWORD_PROTECTED = "Ce fichier est protégé par un mot de passe : enregistrez-le sans mot de passe puis importez-le à nouveau."
DAMAGED = "Ce fichier est endommagé et ne peut pas être lu ; ouvrez-le dans votre tableur et enregistrez-le à nouveau."


class ImportRefused(Exception):
    """The file as a whole cannot be imported; `message` is shown to the user as is (French)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def format_megabytes(size: int) -> str:
    """`20971520` → `"20 Mo"`, `1572864` → `"1,5 Mo"` (French decimal comma), `2048` → `"2 Ko"`."""
    if size < 1024:
        return f"{size} octets"
    if size < MB:
        return f"{size // 1024} Ko"
    value = round(size / MB, 1)
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} Mo"


def format_count(value: int) -> str:
    """`200000` → `"200 000"` with a narrow no-break space, as French typography wants."""
    return f"{value:,}".replace(",", "\u202f")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES
    max_compression_ratio: float = DEFAULT_MAX_COMPRESSION_RATIO
    max_sheet_rows: int = DEFAULT_MAX_SHEET_ROWS
    max_columns: int = DEFAULT_MAX_COLUMNS
    max_cells: int = DEFAULT_MAX_CELLS

    @classmethod
    def from_settings(cls, **overrides) -> Limits:
        """Defaults, overridden by the Django settings when Django is configured, then by `overrides`."""
        limits = cls()
        try:
            from django.conf import settings

            if settings.configured:
                limits = cls(
                    max_bytes=getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES),
                    max_rows=getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS),
                    max_uncompressed_bytes=getattr(
                        settings, "IMPORT_MAX_UNCOMPRESSED_BYTES", DEFAULT_MAX_UNCOMPRESSED_BYTES
                    ),
                    max_compression_ratio=getattr(
                        settings, "IMPORT_MAX_COMPRESSION_RATIO", DEFAULT_MAX_COMPRESSION_RATIO
                    ),
                    max_sheet_rows=getattr(settings, "IMPORT_MAX_SHEET_ROWS", DEFAULT_MAX_SHEET_ROWS),
                    max_columns=getattr(settings, "IMPORT_MAX_COLUMNS", DEFAULT_MAX_COLUMNS),
                    max_cells=getattr(settings, "IMPORT_MAX_CELLS", DEFAULT_MAX_CELLS),
                )
        except ImportError:  # pragma: no cover - Django is a dependency
            pass
        return replace(limits, **overrides) if overrides else limits

    # --- checks -------------------------------------------------------------------------------------------

    def check_size(self, size: int) -> None:
        if size == 0:
            raise ImportRefused("Le fichier est vide.")
        if size > self.max_bytes:
            raise ImportRefused(
                f"Le fichier dépasse la taille maximale de {format_megabytes(self.max_bytes)}."
            )

    def too_many_rows(self) -> ImportRefused:
        return ImportRefused(
            f"Le fichier contient plus de {format_count(self.max_rows)} lignes, le maximum accepté ; "
            "découpez-le en plusieurs fichiers."
        )

    def too_many_columns(self, line: int, columns: int) -> ImportRefused:
        return ImportRefused(
            f"La ligne {line} compte {format_count(columns)} colonnes, au-delà des "
            f"{format_count(self.max_columns)} que Clausier accepte : le séparateur des colonnes n'est sans "
            "doute pas le bon, ou le fichier n'est pas un tableau."
        )

    def check_archive(self, archive: zipfile.ZipFile) -> None:
        """Refuse a zip bomb or an encrypted archive, from the central directory and then by really inflating
        every member in chunks (a member lying about its size fails its CRC check in `zipfile`)."""
        members = archive.infolist()
        if len(members) > MAX_ARCHIVE_MEMBERS:
            raise ImportRefused(NOT_A_SPREADSHEET)
        total = 0
        for member in members:
            if member.flag_bits & 0x1:
                raise ImportRefused(PASSWORD_PROTECTED)
            total += member.file_size
            if total > self.max_uncompressed_bytes:
                raise self._bomb()
            if member.file_size > RATIO_CHECK_FROM_BYTES and (
                member.file_size > self.max_compression_ratio * max(member.compress_size, 1)
            ):
                raise self._bomb()
        inflated = 0
        for member in members:
            try:
                with archive.open(member) as stream:
                    while chunk := stream.read(MB):
                        inflated += len(chunk)
                        if inflated > self.max_uncompressed_bytes:
                            raise self._bomb()
            except ImportRefused:
                raise
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                NotImplementedError,
                ValueError,
            ) as exc:
                # NotImplementedError: exotic compression method; RuntimeError (encrypted) is caught above.
                raise ImportRefused(DAMAGED) from exc

    def _bomb(self) -> ImportRefused:
        return ImportRefused(
            "Ce fichier se décompresse en plus de "
            f"{format_megabytes(self.max_uncompressed_bytes)} ou avec un taux de compression anormal : "
            "il est refusé par sécurité."
        )
