"""The import pages: upload → mapping → preview → commit (POST), error file, statement template; staff only."""

import datetime
import io

import pytest
import python_calamine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import HoursRecord
from clausier.imports.models import ImportRun, ImportStatus, MappingTemplate
from tests.imports.corpus import csv_bytes

MAY = datetime.date(2024, 5, 1)


def statement_csv(w, hours="120") -> bytes:
    """A May 2024 statement for world `w`'s direct-hire contract (no hours yet), with unusual titles."""
    person = w.direct_contract.participant
    return csv_bytes(
        [
            ["Salarié", "Naissance", "Lot", "Période", "Qté"],
            [person.last_name, f"{person.birth_date:%d/%m/%Y}", w.lot.number, "05/2024", hours],
        ]
    )


def import_run_for(w) -> ImportRun:
    """An uploaded, valid, mapped run of world `w` (access probe target)."""
    return ImportRun.objects.create(
        facilitator=w.facilitator,
        kind="heures",
        filename="releve.csv",
        content=statement_csv(w),
        mapping={
            "last_name": "Salarié",
            "birth_date": "Naissance",
            "lot": "Lot",
            "month": "Période",
            "hours": "Qté",
        },
    )


def mapping_payload(w):
    return {
        "col_last_name": "Salarié",
        "col_birth_date": "Naissance",
        "col_lot": "Lot",
        "col_month": "Période",
        "col_hours": "Qté",
    }


def upload(client, data, name="releve.csv", **extra):
    return client.post(
        reverse("www:import_start"), {"kind": "heures", "file": SimpleUploadedFile(name, data), **extra}
    )


def test_the_whole_walk(world_a, facilitator_member_client):
    w, client = world_a, facilitator_member_client
    assert client.get(reverse("www:import_start")).status_code == 200
    response = upload(client, statement_csv(w))
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "www:import_mapping", kwargs={"uuid": run.uuid}
    )
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Salarié" in page.content.decode()
    response = client.post(response["Location"], {**mapping_payload(w), "save_as": "Bâtiments Réunis"})
    assert response["Location"] == reverse("www:import_preview", kwargs={"uuid": run.uuid})
    assert MappingTemplate.objects.get(name="Bâtiments Réunis").mapping["hours"] == "Qté"
    preview = client.get(response["Location"])
    assert preview.context["counts"] == {"create": 1, "update": 0, "unchanged": 0}
    assert not HoursRecord.objects.filter(month=MAY).exists()  # GET never writes
    response = client.post(reverse("www:import_commit", kwargs={"uuid": run.uuid}))
    assert response.status_code == 302
    assert HoursRecord.objects.get(contract=w.direct_contract, month=MAY).hours == 120
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED and run.content == b"" and run.summary["create"] == 1
    assert AuditEntry.objects.filter(object_type="imports.importrun", action=Action.CREATE).exists()
    # Committing twice does nothing more.
    client.post(reverse("www:import_commit", kwargs={"uuid": run.uuid}))
    assert HoursRecord.objects.filter(contract=w.direct_contract).count() == 1


def test_a_saved_mapping_skips_the_mapping_step(world_a, facilitator_member_client):
    w = world_a
    template = MappingTemplate.objects.create(
        facilitator=w.facilitator, kind="heures", name="BR", mapping=import_run_for(w).mapping
    )
    response = upload(facilitator_member_client, statement_csv(w), template=template.pk)
    run = ImportRun.objects.latest("created_at")
    assert response["Location"] == reverse("www:import_preview", kwargs={"uuid": run.uuid})


def test_a_bad_mapping_is_explained(world_a, facilitator_member_client):
    w = world_a
    run = import_run_for(w)
    url = reverse("www:import_mapping", kwargs={"uuid": run.uuid})
    response = facilitator_member_client.post(url, {**mapping_payload(w), "col_month": "Qté"})
    assert response.status_code == 200
    assert "est choisie deux fois" in response.content.decode()


def test_errors_are_listed_and_downloadable(world_a, facilitator_member_client):
    w = world_a
    run = import_run_for(w)
    run.content = statement_csv(w, hours="beaucoup")
    run.save()
    page = facilitator_member_client.get(reverse("www:import_preview", kwargs={"uuid": run.uuid}))
    assert (
        "Ligne 2, colonne « Qté » (E) : « beaucoup » n&#x27;est pas un nombre d&#x27;heures."
        in page.content.decode()
    )
    response = facilitator_member_client.post(reverse("www:import_commit", kwargs={"uuid": run.uuid}))
    assert response.status_code == 302 and not HoursRecord.objects.filter(month=MAY).exists()
    response = facilitator_member_client.get(reverse("www:import_errors", kwargs={"uuid": run.uuid}))
    rows = (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert rows[0][-1] == "erreurs" and "beaucoup" in rows[1][-1]


def test_unreadable_and_oversized_files_are_refused_at_upload(world_a, facilitator_member_client):
    response = upload(facilitator_member_client, b"\x00\x01garbage" * 40)
    assert "n&#x27;est pas un tableur lisible" in response.content.decode()
    with override_settings(IMPORT_MAX_BYTES=50):
        response = upload(facilitator_member_client, statement_csv(world_a))
    assert "dépasse la taille maximale de 50 octets" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_the_statement_template_round_trip(world_a, facilitator_member_client):
    w, client = world_a, facilitator_member_client
    url = reverse("www:statement_template", kwargs={"uuid": w.company.uuid}) + "?mois=2024-05"
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Disposition"].endswith('-2024-05.xlsx"')
    assert AuditEntry.objects.filter(action=Action.EXPORT, object_id=str(w.company.uuid)).exists()
    rows = (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        .get_sheet_by_index(0)
        .to_python()
    )
    line = next(i for i, row in enumerate(rows) if row[0] == str(w.direct_contract.uuid))
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    for index, row in enumerate(rows):
        for col, value in enumerate(row):
            if value not in ("", None):
                sheet.write(index, col, value)
    sheet.write_number(line, 7, 77.5)
    workbook.close()
    response = upload(client, buffer.getvalue(), name="modele.xlsx")
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("www:import_preview", kwargs={"uuid": run.uuid})  # no mapping step
    client.post(reverse("www:import_commit", kwargs={"uuid": run.uuid}))
    assert str(HoursRecord.objects.get(contract=w.direct_contract, month=MAY).hours) == "77.50"


@pytest.mark.parametrize("role", ["company", "structure", "buyer", "prescriber"])
def test_partners_get_404(world_a, client_for, role):
    client = client_for(world_a.users[role])
    assert client.get(reverse("www:import_start")).status_code == 404
    assert upload(client, statement_csv(world_a)).status_code == 404
    assert not ImportRun.objects.exists()
