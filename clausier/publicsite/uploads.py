"""Checking uploaded files: the extension AND the content must agree, within a size limit.

Documents: PDF (starts with %PDF-), DOCX and XLSX (ZIP with the Office Open XML parts), ODT (ZIP whose
first member is `mimetype` = application/vnd.oasis.opendocument.text). Logos: PNG or JPEG only (SVG may carry
scripts), opened and re-encoded with Pillow, so that only pixels are stored.
"""

import io
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, UnidentifiedImageError

MB = 1024 * 1024
DOCUMENT_MAX_BYTES = 10 * MB
LOGO_MAX_BYTES = 2 * MB
LOGO_MAX_PIXELS = 4000 * 4000
LOGO_MAX_SIDE = 800  # stored logos are scaled down to this

DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
OOXML_MAIN_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
LOGO_TYPES = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg")}


@dataclass(frozen=True)
class CheckedFile:
    content: ContentFile
    original_name: str
    content_type: str
    size: int


def extension_of(name: str) -> str:
    return PurePath(name or "").suffix.lower().lstrip(".")


def _read(upload, limit: int, label: str) -> bytes:
    if upload.size is not None and upload.size > limit:
        raise ValidationError(f"Le fichier dépasse la taille maximale de {limit // MB} Mo.", code="too_big")
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    if len(data) > limit:
        raise ValidationError(f"Le fichier dépasse la taille maximale de {limit // MB} Mo.", code="too_big")
    if not data:
        raise ValidationError(f"Le {label} est vide.", code="empty")
    return data


def _zip_matches(data: bytes, extension: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if extension == "odt":
                return (
                    bool(names)
                    and names[0] == "mimetype"
                    and archive.read("mimetype").strip() == DOCUMENT_TYPES["odt"].encode()
                )
            return "[Content_Types].xml" in names and OOXML_MAIN_PART[extension] in names
    except (zipfile.BadZipFile, KeyError, EOFError, ValueError):
        return False


def content_matches(data: bytes, extension: str) -> bool:
    if extension == "pdf":
        return data.startswith(b"%PDF-")
    return data.startswith(b"PK\x03\x04") and _zip_matches(data, extension)


def check_document(upload) -> CheckedFile:
    """A document's upload, checked; raises ValidationError with a French message."""
    name = PurePath(upload.name or "").name
    extension = extension_of(name)
    if extension not in DOCUMENT_TYPES:
        raise ValidationError(
            "Type de fichier refusé : seuls les fichiers PDF, DOCX, ODT et XLSX sont acceptés.",
            code="extension",
        )
    data = _read(upload, DOCUMENT_MAX_BYTES, "fichier")
    if not content_matches(data, extension):
        raise ValidationError(
            f"Le contenu du fichier ne correspond pas à un fichier {extension.upper()} : "
            "vérifiez le fichier ou enregistrez-le de nouveau au bon format.",
            code="signature",
        )
    return CheckedFile(ContentFile(data, name=name), name[:255], DOCUMENT_TYPES[extension], len(data))


def check_logo(upload) -> CheckedFile:
    """A logo's upload: PNG or JPEG, decoded and re-encoded (metadata and anything else dropped)."""
    name = PurePath(upload.name or "").name
    if extension_of(name) not in {"png", "jpg", "jpeg"}:
        raise ValidationError(
            "Type de logo refusé : seules les images PNG et JPEG sont acceptées (pas de SVG).",
            code="extension",
        )
    data = _read(upload, LOGO_MAX_BYTES, "logo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format
                width, height = probe.size
                if image_format not in LOGO_TYPES:
                    raise ValidationError("not png/jpeg")
                if width * height > LOGO_MAX_PIXELS:
                    raise ValidationError("too many pixels")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
                if image_format == "JPEG" and image.mode not in ("RGB", "L"):
                    image = image.convert("RGB")
                out = io.BytesIO()
                image.save(out, format=image_format)
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        ValidationError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise ValidationError(
            "Ce fichier n'est pas une image PNG ou JPEG valide (ou elle est trop grande : "
            f"{LOGO_MAX_PIXELS // 1_000_000} millions de pixels au plus).",
            code="signature",
        ) from error
    extension, content_type = LOGO_TYPES[image_format]
    stored = out.getvalue()
    return CheckedFile(ContentFile(stored, name=f"logo.{extension}"), name[:255], content_type, len(stored))
