"""Files read as they ship: plain, or compressed with xz or gzip, chosen by the file's suffix.

The official open data lives in the repository compressed (`clausier/reference/official/*.xz`) and is read
in place, never unpacked beside itself.
"""

import gzip
import io
import lzma
import zlib
from pathlib import Path

SUFFIXES = (".xz", ".gz")
# What a damaged compressed file raises while it is read.
DECOMPRESSION_ERRORS = (lzma.LZMAError, gzip.BadGzipFile, EOFError, zlib.error)


def plain_name(path: Path | str) -> str:
    """The file's name without its compression suffix: `rome.csv.xz` → `rome.csv`."""
    name = Path(path).name
    return next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name)


def read_bytes(path: Path | str) -> bytes:
    """The file's content, decompressed."""
    path = Path(path)
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    return data


def open_text(path: Path | str, encoding: str = "utf-8-sig") -> io.TextIOBase:
    """A text stream over the file's decompressed content (CSV-ready: universal newlines left to csv)."""
    path = Path(path)
    if path.name.endswith(".xz"):
        return lzma.open(path, "rt", encoding=encoding, newline="")
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return path.open(encoding=encoding, newline="")
