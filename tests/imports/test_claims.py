"""A sheet that claims an enormous area is refused in French before python-calamine loads it (issue 13).

Without `clausier/imports/claims.py`, the first test aborts the whole test process: calamine asks for 512 GB
for the 5 KB `sparse_corner_xlsx()` and the failed allocation is a Rust abort (SIGABRT), not an exception. The
subprocess test shows the same read from the outside, as the web server or the worker would live it.
"""

import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from clausier.imports.claims import check_xlsb
from clausier.imports.limits import ImportRefused, Limits
from clausier.imports.models import ImportRun
from clausier.imports.readers import read_table
from tests.imports.hostile import (
    biff12,
    huge_dimension_xlsx,
    lying_dimension_xlsx,
    repeated_columns_ods,
    repeated_rows_ods,
    sparse_corner_xlsx,
    trailing_empty_repeat_ods,
    xlsb_sheet,
)

CLAIM = "annonce une zone de"


@pytest.mark.parametrize(
    ("build", "name", "claimed"),
    [
        (sparse_corner_xlsx, "coin.xlsx", "1\u202f048\u202f576 lignes sur 16\u202f384 colonnes"),
        (lying_dimension_xlsx, "dimension.xlsx", "1\u202f048\u202f576 lignes sur 16\u202f384 colonnes"),
        (huge_dimension_xlsx, "dimension.xlsx", "1\u202f048\u202f576 lignes sur 16\u202f384 colonnes"),
        (repeated_columns_ods, "colonnes.ods", "1\u202f001 lignes sur 16\u202f000\u202f000 colonnes"),
        (repeated_rows_ods, "lignes.ods", "1\u202f000\u202f000 lignes sur 100 colonnes"),
    ],
)
def test_a_sheet_claiming_too_much_is_refused_before_it_is_loaded(build, name, claimed):
    data = build()
    assert len(data) < 10_000  # a few kilobytes

    with pytest.raises(ImportRefused) as refusal:
        read_table(data, filename=name)

    message = str(refusal.value)
    assert f"La feuille « Heures » {CLAIM} {claimed}" in message
    assert "Copiez le tableau seul dans un nouveau classeur" in message


def test_the_process_survives_the_sparse_corner_file(tmp_path):
    path = tmp_path / "coin.xlsx"
    path.write_bytes(sparse_corner_xlsx())
    script = (
        "import sys; from clausier.imports.readers import read_table; from clausier.imports.limits import "
        "ImportRefused\ntry:\n    read_table(sys.argv[1], filename='coin.xlsx')\nexcept ImportRefused as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert CLAIM in result.stdout


def test_real_shapes_pass():
    """Trailing empty cells and rows repeated to the end of the sheet are what LibreOffice writes."""
    table = read_table(trailing_empty_repeat_ods(), filename="heures.ods")
    assert [row.filled() for row in table.rows] == [["Nom", "Heures"], ["Dupont", 35]]
    table = read_table(sparse_corner_xlsx(row=999, column=29), filename="heures.xlsx")
    assert table.rows[-1].number == 1000 and len(table.rows[-1].cells) == 30


def test_a_csv_of_one_enormous_line_is_refused():
    """The file size limit (20 Mo) bounds a CSV; within it, one line of a million fields is no table."""
    with pytest.raises(ImportRefused, match="La ligne 2 compte 1\u202f000\u202f000 colonnes"):
        read_table(b"Nom;Heures\n" + b"x;" * 999_999 + b"x\n", filename="heures.csv")
    with pytest.raises(ImportRefused, match="mal formé"):
        read_table(b"Nom;Heures\n" + b"x" * 5_000_000 + b"\n", filename="heures.csv")  # one 5 MB field


def test_the_limits_are_settings():
    with override_settings(IMPORT_MAX_CELLS=100):
        with pytest.raises(ImportRefused, match="100 cellules"):
            read_table(sparse_corner_xlsx(row=20, column=9), filename="heures.xlsx")  # 21 × 10 = 210
        assert read_table(sparse_corner_xlsx(row=9, column=9), filename="heures.xlsx").rows  # 10 × 10
    limits = Limits.from_settings()
    assert (limits.max_sheet_rows, limits.max_columns, limits.max_cells) == (1_048_576, 1_000, 35_000_000)


def test_xlsb_sheets_are_measured_from_their_records():
    limits = Limits()
    import zipfile
    from io import BytesIO

    def check(records):
        with zipfile.ZipFile(BytesIO(xlsb_sheet(records))) as archive:
            check_xlsb(archive, limits)

    small = biff12(0, (3).to_bytes(4, "little") + bytes(8)) + biff12(7, (2).to_bytes(4, "little") + bytes(8))
    check(small)  # row 4, column C
    far_cell = biff12(0, (1).to_bytes(4, "little") + bytes(8)) + biff12(
        2, (16_383).to_bytes(4, "little") + bytes(8)
    )
    far_row = biff12(0, (1_048_575).to_bytes(4, "little") + bytes(8)) + biff12(1, bytes(8))
    dimension = biff12(148, b"".join(v.to_bytes(4, "little") for v in (0, 1_048_575, 0, 16_383)))
    with pytest.raises(ImportRefused, match="16\u202f384 colonnes"):
        check(far_cell)
    check(far_row)  # 1,048,576 rows of one column: a real shape
    with pytest.raises(ImportRefused, match="1\u202f048\u202f576 lignes sur 16\u202f384 colonnes"):
        check(dimension)
    with pytest.raises(ImportRefused, match="endommagé"):
        check(b"\x80")


@pytest.mark.django_db
def test_the_cli_refuses_it_in_french_with_exit_status_1(world_a, tmp_path, capsys):
    path = tmp_path / "coin.xlsx"
    path.write_bytes(sparse_corner_xlsx())

    with pytest.raises(SystemExit) as exit_info:
        call_command("import", "heures", str(path), "--facilitator", world_a.facilitator.slug)

    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert CLAIM in captured.out + captured.err
    assert not ImportRun.objects.filter(facilitator=world_a.facilitator, status="committed").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("build", "name"), [(sparse_corner_xlsx, "coin.xlsx"), (repeated_columns_ods, "c.ods")]
)
def test_the_upload_page_refuses_it_and_the_server_answers_the_next_request(
    world_a, facilitator_member_client, build, name
):
    response = facilitator_member_client.post(
        reverse("www:import_start"), {"kind": "heures", "file": SimpleUploadedFile(name, build())}
    )

    assert response.status_code == 200
    assert CLAIM in response.content.decode()
    assert not ImportRun.objects.exists()
    assert facilitator_member_client.get(reverse("www:import_start")).status_code == 200
