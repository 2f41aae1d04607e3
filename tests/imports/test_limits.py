import io
import os
import zipfile

import pytest

from clausier.imports import ImportRefused, Limits, read_table
from clausier.imports.limits import format_megabytes
from tests.imports.corpus import (
    XLS_FILE,
    csv_bytes,
    encrypted_ooxml,
    hours_statement_ods,
    hours_statement_xlsx,
    lying_zip,
    ods_bytes,
    xlsx_bytes,
    zip_bomb,
    zip_with_encrypted_member,
)

NOT_A_SPREADSHEET = "Ce fichier n'est pas un tableur lisible (XLSX, XLS, ODS ou CSV)."
PASSWORD = "Ce fichier est protégé par un mot de passe : enregistrez-le sans mot de passe puis importez-le à nouveau."
BOMB = "Ce fichier se décompresse en plus de"


def refusal(data, **kwargs) -> str:
    with pytest.raises(ImportRefused) as refused:
        read_table(data, filename=kwargs.pop("filename", "fichier.xlsx"), **kwargs)
    return refused.value.message


def test_limits_come_from_settings(settings):
    assert Limits.from_settings() == Limits(max_bytes=20 * 1024 * 1024, max_rows=200_000)
    settings.IMPORT_MAX_BYTES = 1024
    settings.IMPORT_MAX_ROWS = 10
    assert Limits.from_settings().max_bytes == 1024
    assert Limits.from_settings(max_rows=5).max_rows == 5


def test_file_size_limit(settings):
    data = csv_bytes([["Nom", "Heures"]] + [["Dupont", "7"]] * 10_000)
    assert refusal(data, limits=Limits(max_bytes=2048)) == "Le fichier dépasse la taille maximale de 2 Ko."
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    big = b"Nom;Heures\r\n" + b"Dupont;7\r\n" * 120_000
    assert refusal(big) == "Le fichier dépasse la taille maximale de 1 Mo."
    assert refusal(io.BytesIO(big)) == "Le fichier dépasse la taille maximale de 1 Mo."
    assert format_megabytes(20 * 1024 * 1024) == "20 Mo"
    assert format_megabytes(1536 * 1024) == "1,5 Mo"
    assert format_megabytes(1000) == "1000 octets"


def test_uploaded_file_size_is_checked_before_reading(settings):
    settings.IMPORT_MAX_BYTES = 100

    class Upload(io.BytesIO):
        size = 10**9

        def read(self, *args):
            raise AssertionError("read before the size check")

    assert refusal(Upload()) == "Le fichier dépasse la taille maximale de 100 octets."


def test_row_limit(settings):
    settings.IMPORT_MAX_ROWS = 100
    lines = [["Nom", "Heures"]] + [["Dupont", "7"]] * 100
    message = (
        "Le fichier contient plus de 100 lignes, le maximum accepté ; découpez-le en plusieurs fichiers."
    )
    assert refusal(csv_bytes(lines)) == message
    assert (
        len(read_table(csv_bytes(lines[:100] + [[""]] * 50), filename="x.csv").rows) == 100
    )  # blanks are free

    def build(workbook):
        sheet = workbook.add_worksheet("Heures")
        for row, cells in enumerate(lines):
            sheet.write_row(row, 0, cells)

    assert refusal(xlsx_bytes(build)) == message


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf", b";;;\r\n;;\r\n"])
def test_empty_files(data):
    assert refusal(data, filename="vide.csv") == "Le fichier est vide."


def test_empty_sheet():
    def build(workbook):
        workbook.add_worksheet("Heures")
        workbook.add_worksheet("Notes").write(0, 0, "x")

    assert refusal(xlsx_bytes(build)) == "La feuille « Heures » est vide."


@pytest.mark.parametrize(
    "data",
    [
        os.urandom(4096),
        bytes(range(256)) * 8,
        b"\x00\x01\x02garbage" * 100,
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"PK\x05\x06" + b"\0" * 18,  # empty zip
        b"PK\x03\x04" + os.urandom(500),  # truncated zip
        b"<?xml version='1.0'?><root/>",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(2000),  # OLE2 header, random body
    ],
)
def test_binary_garbage_is_refused(data):
    assert refusal(data) in {
        NOT_A_SPREADSHEET,
        "Ce fichier est endommagé et ne peut pas être lu ; ouvrez-le dans votre tableur et enregistrez-le à nouveau.",
    }


def test_other_zip_documents_are_not_spreadsheets():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    assert refusal(buffer.getvalue(), filename="lettre.docx") == NOT_A_SPREADSHEET
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    assert refusal(buffer.getvalue(), filename="lettre.odt") == NOT_A_SPREADSHEET


def test_html_saved_as_xls_gets_its_own_message():
    message = refusal(
        b"<html><body><table><tr><td>Nom</td></tr></table></body></html>", filename="export.xls"
    )
    assert message.startswith("Ce fichier est une page web (HTML)")
    message = refusal(
        b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
        filename="export.xls",
    )
    assert "XML 2003" in message


def test_content_wins_over_the_extension():
    assert read_table(hours_statement_xlsx(), filename="relevé.csv").format == "xlsx"
    assert read_table(csv_bytes([["Nom", "Heures"]]), filename="relevé.xlsx").format == "csv"
    assert read_table(XLS_FILE, filename="relevé.xlsx").format == "xls"


def test_zip_bomb_of_200_mb_of_zeros_is_refused_before_calamine():
    bomb = zip_bomb(200)
    assert len(bomb) < 1024 * 1024
    assert refusal(bomb).startswith(BOMB)
    assert refusal(zip_bomb(20, as_ods=True), filename="x.ods").startswith(BOMB)


def test_total_uncompressed_size_limit(settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 4 * 1024 * 1024
    settings.IMPORT_MAX_COMPRESSION_RATIO = 10**6
    assert refusal(zip_bomb(5)) == (
        "Ce fichier se décompresse en plus de 4 Mo ou avec un taux de compression anormal : "
        "il est refusé par sécurité."
    )
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 10 * 1024 * 1024
    assert read_table(hours_statement_xlsx(), filename="x.xlsx").sheet == "Heures"


def test_member_lying_about_its_size_is_refused():
    assert refusal(lying_zip()).startswith("Ce fichier est endommagé")


@pytest.mark.parametrize("build", [encrypted_ooxml, zip_with_encrypted_member])
def test_password_protected_files(build):
    assert refusal(build()) == PASSWORD


def test_encrypted_ods():
    data = ods_bytes({"Heures": [["Nom"]]}, manifest_extra="<manifest:encryption-data/>")
    assert refusal(data, filename="x.ods") == PASSWORD


@pytest.mark.parametrize(
    ("data", "filename"),
    [(hours_statement_xlsx(), "x.xlsx"), (hours_statement_ods(), "x.ods"), (XLS_FILE.read_bytes(), "x.xls")],
)
def test_wrong_sheet_lists_the_available_ones(data, filename):
    assert refusal(data, filename=filename, sheet="Heures avril") == (
        "La feuille « Heures avril » n'existe pas ; feuilles disponibles : « Heures », « Notes »."
    )


def test_missing_path():
    assert refusal("/nonexistent/relevé.xlsx") == "Le fichier est introuvable ou illisible."


def test_refused_message_is_the_exception_text():
    error = ImportRefused("Le fichier est vide.")
    assert str(error) == error.message == "Le fichier est vide."
