"""The import pages: upload → mapping → preview → commit (POST), error file, statement template; staff only."""

import csv
import datetime
import io

import pytest
import python_calamine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import HoursRecord
from clausier.imports.models import ImportRun, ImportState, ImportStatus, MappingTemplate
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
    assert response["Content-Disposition"] == 'attachment; filename="releve-erreurs.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode()), delimiter=";"))
    assert rows[0][-1] == "erreurs" and "beaucoup" in rows[1][-1]
    # The file leaves the application: logged as an export of personal data.
    entry = AuditEntry.objects.get(action=Action.EXPORT, object_id=str(run.uuid))
    assert entry.detail == "fichier des erreurs (CSV, 1 problème(s))"


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


# --- Error file: the user's own format ---------------------------------------------------------------------


def test_a_cp1252_csv_gives_back_a_cp1252_csv(world_a, facilitator_member_client):
    w, client = world_a, facilitator_member_client
    person = w.direct_contract.participant
    lines = [
        ["Relevé de mai — Bâtiments Réunis", "", "", "", ""],
        ["Salarié", "Naissance", "Lot", "Période", "Qté"],
        [person.last_name, f"{person.birth_date:%d/%m/%Y}", w.lot.number, "05/2024", "=1+2"],
    ]
    upload(client, csv_bytes(lines, encoding="cp1252"))
    run = ImportRun.objects.get()
    client.post(reverse("www:import_mapping", kwargs={"uuid": run.uuid}), mapping_payload(w))
    response = client.get(reverse("www:import_errors", kwargs={"uuid": run.uuid}))
    assert response["Content-Type"] == "text/csv; charset=cp1252"
    assert response["Content-Disposition"].endswith('-erreurs.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("cp1252"), newline=""), delimiter=";"))
    assert rows[0] == lines[0] and rows[1] == [*lines[1], "erreurs"]
    assert rows[2][:4] == lines[2][:4] and rows[2][4] == "'=1+2"  # never evaluated by a spreadsheet
    assert "« =1+2 » n'est pas un nombre d'heures" in rows[2][5]
    assert AuditEntry.objects.filter(action=Action.EXPORT, object_id=str(run.uuid)).count() == 1


def test_an_xlsx_gives_back_an_xlsx_with_the_same_sheet(world_a, facilitator_member_client):
    w, client = world_a, facilitator_member_client
    person = w.direct_contract.participant
    buffer = io.BytesIO()
    import xlsxwriter

    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Mai 2024")
    sheet.write_string(0, 0, "Relevé de mai")
    sheet.write_row(2, 0, ["Salarié", "Naissance", "Lot", "Période", "Qté"])
    sheet.write_row(3, 0, [person.last_name, f"{person.birth_date:%d/%m/%Y}", w.lot.number, "05/2024"])
    sheet.write_string(3, 4, "beaucoup")
    workbook.close()
    upload(client, buffer.getvalue(), name="releve.xlsx")
    run = ImportRun.objects.get()
    client.post(reverse("www:import_mapping", kwargs={"uuid": run.uuid}), mapping_payload(w))
    response = client.get(reverse("www:import_errors", kwargs={"uuid": run.uuid}))
    assert response["Content-Disposition"].endswith('-erreurs.xlsx"')
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names == ["Mai 2024"]
    rows = book.get_sheet_by_name("Mai 2024").to_python(skip_empty_area=False)
    assert rows[0][0] == "Relevé de mai" and rows[2][5] == "erreurs" and "beaucoup" in rows[3][5]


# --- Big files: a task validates, then commits ---------------------------------------------------------------

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def big_files(settings):
    """Every file is "big" (more than 0 rows): processed by a task."""
    settings.IMPORT_BACKGROUND_ROWS = 0


@pytest.fixture
def immediate_tasks(settings, big_files):
    """The task runs at once, within the request (Django's ImmediateBackend)."""
    settings.TASKS = IMMEDIATE


def background_run_for(w, **fields) -> ImportRun:
    """A big run of world `w`, mapped, not verified yet (access probe target)."""
    run = import_run_for(w)
    for name, value in {"background": True, "row_count": 1, **fields}.items():
        setattr(run, name, value)
    run.save()
    return run


def test_a_big_file_is_verified_then_imported_by_a_task(
    world_a, facilitator_member_client, immediate_tasks, monkeypatch
):
    from clausier.imports import pipeline, tasks

    w, client = world_a, facilitator_member_client
    monkeypatch.setattr(pipeline, "PROGRESS_SECONDS", 0)
    written = []
    real_save = tasks._save

    def spy(run, job, **fields):
        if "progress_done" in fields:
            written.append(
                (fields.get("progress_step"), fields["progress_done"], fields.get("progress_total"))
            )
        real_save(run, job, **fields)

    monkeypatch.setattr(tasks, "_save", spy)
    upload(client, statement_csv(w))
    run = ImportRun.objects.get()
    assert run.background and run.row_count == 1 and run.state == ""
    response = client.post(reverse("www:import_mapping", kwargs={"uuid": run.uuid}), mapping_payload(w))
    run.refresh_from_db()
    assert run.state == ImportState.READY and run.result["counts"] == {
        "create": 1,
        "update": 0,
        "unchanged": 0,
    }
    assert written == [("validate", 0, 1), ("validate", 1, 1)]  # from 0 to the total
    assert not HoursRecord.objects.filter(month=MAY).exists()
    preview = client.get(response["Location"])
    page = preview.content.decode()
    assert 'data-testid="count-create">1 ligne(s) à créer' in page and "import-progress" not in page
    written.clear()
    response = client.post(reverse("www:import_commit", kwargs={"uuid": run.uuid}))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == ImportState.DONE and run.status == ImportStatus.COMMITTED and run.content == b""
    assert (run.progress_done, run.progress_total) == (1, 1)
    assert written[0] == ("validate", 0, 1) and written[-1] == ("commit", 1, 1)
    assert HoursRecord.objects.get(contract=w.direct_contract, month=MAY).hours == 120
    entry = AuditEntry.objects.get(object_type="imports.importrun", action=Action.CREATE)
    assert entry.actor == w.users["facilitator_member"] and entry.facilitator_id == w.facilitator.pk
    done = client.get(response["Location"]).content.decode()
    assert "import-done" in done
    assert f'href="{reverse("www:statement_list")}" data-testid="import-filled-list"' in done


def test_the_queued_path_runs_in_the_database_worker(
    world_a, facilitator_member_client, big_files, monkeypatch
):
    """The real backend (django_tasks_db): the request only queues; `db_worker --batch` does the work."""
    import signal

    # Between tasks the worker drops connections that are not in autocommit: the test's own transaction,
    # on PostgreSQL (a long-running worker needs that hygiene, a test inside one transaction must not).
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)

    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    w, client = world_a, facilitator_member_client
    upload(client, statement_csv(w))
    run = ImportRun.objects.get()
    client.post(reverse("www:import_mapping", kwargs={"uuid": run.uuid}), mapping_payload(w))
    run.refresh_from_db()
    assert run.state == ImportState.QUEUED and (run.progress_done, run.progress_total) == (0, 1)
    task = DBTaskResult.objects.get()
    assert task.status == "READY" and str(task.id) == run.task_id
    page = client.get(reverse("www:import_preview", kwargs={"uuid": run.uuid})).content.decode()
    assert 'hx-trigger="every 2s"' in page and "En attente de traitement" in page

    def work():
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
        try:
            call_command(
                "db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval=0", verbosity=0
            )
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    work()
    run.refresh_from_db()
    assert run.state == ImportState.READY and run.result["ok"]
    client.post(reverse("www:import_commit", kwargs={"uuid": run.uuid}))
    run.refresh_from_db()
    assert run.state == ImportState.QUEUED and not HoursRecord.objects.filter(month=MAY).exists()
    work()
    run.refresh_from_db()
    assert run.state == ImportState.DONE and HoursRecord.objects.filter(month=MAY).count() == 1
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_a_crashing_task_fails_the_run_and_writes_nothing(
    world_a, facilitator_member_client, immediate_tasks, monkeypatch
):
    from clausier.imports.kinds.hours import HoursKind

    w, client = world_a, facilitator_member_client
    run = background_run_for(w)
    client.post(reverse("www:import_verify", kwargs={"uuid": run.uuid}))
    real_commit = HoursKind.commit

    def crash(self, items, *, facilitator, by):
        real_commit(self, items, facilitator=facilitator, by=by)  # the rows are written…
        raise RuntimeError("panne du disque")  # …then the task crashes

    monkeypatch.setattr(HoursKind, "commit", crash)
    audit = AuditEntry.objects.count()
    client.post(reverse("www:import_commit", kwargs={"uuid": run.uuid}))
    run.refresh_from_db()
    assert run.state == ImportState.FAILED and run.status == ImportStatus.UPLOADED
    assert run.message.startswith("Le traitement du fichier s'est interrompu sur une erreur inattendue")
    assert not HoursRecord.objects.filter(month=MAY).exists()  # all or nothing
    assert AuditEntry.objects.count() == audit and run.content  # the file is kept, to try again
    page = client.get(reverse("www:import_preview", kwargs={"uuid": run.uuid})).content.decode()
    assert 'data-testid="import-failed"' in page and "rien n&#x27;a été enregistré" in page
    assert "hx-trigger" not in page  # no more polling
    # A crash while verifying too.
    monkeypatch.setattr(HoursKind, "check_rows", lambda self, validation, *, facilitator: 1 / 0)
    client.post(reverse("www:import_verify", kwargs={"uuid": run.uuid}))
    run.refresh_from_db()
    assert run.state == ImportState.FAILED and "erreur inattendue" in run.message


def test_a_newer_job_supersedes_a_queued_one(world_a, facilitator_member_client, big_files):
    from clausier.imports.tasks import validate_import

    w = world_a
    run = background_run_for(w)
    facilitator_member_client.post(reverse("www:import_verify", kwargs={"uuid": run.uuid}))
    run.refresh_from_db()
    old_job = run.job
    facilitator_member_client.post(reverse("www:import_verify", kwargs={"uuid": run.uuid}))
    run.refresh_from_db()
    assert run.job != old_job and run.state == ImportState.QUEUED
    assert validate_import.call(str(run.uuid), old_job, {}) == ""  # the old task stops, writes nothing
    run.refresh_from_db()
    assert run.state == ImportState.QUEUED
    assert validate_import.call(str(run.uuid), run.job, {}) == "ready"


def test_the_progress_partial_and_the_page_agree(world_a, facilitator_member_client):
    w, client = world_a, facilitator_member_client
    run = background_run_for(w, state=ImportState.VALIDATING, progress_done=1200, progress_total=4800)
    url = reverse("www:import_progress", kwargs={"uuid": run.uuid})
    partial = client.get(url, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "HX-Refresh" not in partial
    html = partial.content.decode()
    assert f'hx-get="{url}" hx-trigger="every 2s"' in html
    assert '<progress class="cl-progress" max="4800" value="1200"' in html and "(25 %)" in html
    assert "1 200 ligne(s) vérifiée(s) sur 4 800" in html
    page = client.get(reverse("www:import_preview", kwargs={"uuid": run.uuid})).content.decode()
    assert html.strip() in page  # the page includes the very same partial
    # Writing: no figure to show inside the transaction, an indeterminate bar.
    ImportRun.objects.filter(pk=run.pk).update(state=ImportState.COMMITTING, progress_step="commit")
    html = client.get(url).content.decode()
    assert (
        "tout ou rien" in html
        and '<progress class="cl-progress" aria-label="Enregistrement en cours">' in html
    )
    # Finished: htmx reloads the page, which shows the preview.
    ImportRun.objects.filter(pk=run.pk).update(state=ImportState.READY, result={})
    assert client.get(url)["HX-Refresh"] == "true"


def test_a_stalled_task_is_explained_and_can_be_superseded(world_a, facilitator_member_client, big_files):
    import datetime as dt

    from django.utils import timezone

    run = background_run_for(world_a, state=ImportState.QUEUED)
    url = reverse("www:import_progress", kwargs={"uuid": run.uuid})
    assert "import-stalled" not in facilitator_member_client.get(url).content.decode()
    ImportRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=5))
    assert "service de traitement en arrière-plan" in facilitator_member_client.get(url).content.decode()
    # A commit with no news for over an hour may be superseded: if it ever ends, it rolls back.
    verify = reverse("www:import_verify", kwargs={"uuid": run.uuid})
    ImportRun.objects.filter(pk=run.pk).update(state=ImportState.COMMITTING, job="ancien")
    facilitator_member_client.post(verify)
    run.refresh_from_db()
    assert run.state == ImportState.COMMITTING and run.job == "ancien"  # recent news: left alone
    ImportRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - dt.timedelta(hours=2))
    assert "plus de nouvelles depuis plus d'une heure" in facilitator_member_client.get(url).content.decode()
    facilitator_member_client.post(verify)
    run.refresh_from_db()
    assert run.state == ImportState.QUEUED and run.job != "ancien"


def test_another_facilitator_gets_404_on_a_big_run(worlds, client_for, big_files):
    a, b = worlds
    run = background_run_for(a, state=ImportState.VALIDATING)
    for user in (b.users["facilitator_admin"], b.users["facilitator_member"], a.users["company"]):
        client = client_for(user)
        for name in ("import_progress", "import_preview", "import_errors", "import_verify"):
            assert client.get(reverse(f"www:{name}", kwargs={"uuid": run.uuid})).status_code == 404, name
        assert client.post(reverse("www:import_verify", kwargs={"uuid": run.uuid})).status_code == 404
    run.refresh_from_db()
    assert run.state == ImportState.VALIDATING and run.job == ""


def test_a_big_file_with_problems_shows_them_and_gives_its_error_file(
    world_a, facilitator_member_client, immediate_tasks
):
    w, client = world_a, facilitator_member_client
    run = background_run_for(w, content=statement_csv(w, hours="beaucoup"))
    client.post(reverse("www:import_verify", kwargs={"uuid": run.uuid}))
    run.refresh_from_db()
    assert run.state == ImportState.READY and run.result["problem_count"] == 1
    page = client.get(reverse("www:import_preview", kwargs={"uuid": run.uuid})).content.decode()
    assert "Ligne 2, colonne « Qté » (E) : « beaucoup » n&#x27;est pas un nombre d&#x27;heures." in page
    assert 'data-testid="error-file"' in page and "Importer</button>" not in page
    assert client.post(reverse("www:import_commit", kwargs={"uuid": run.uuid})).status_code == 302
    run.refresh_from_db()
    assert run.state == ImportState.READY  # nothing queued: the file has a problem
    response = client.get(reverse("www:import_errors", kwargs={"uuid": run.uuid}))
    rows = list(csv.reader(io.StringIO(response.content.decode()), delimiter=";"))
    assert rows[0][-1] == "erreurs" and "beaucoup" in rows[1][-1]
    assert AuditEntry.objects.filter(action=Action.EXPORT, object_id=str(run.uuid)).exists()


# --- Ignoring the rows in error: an explicit choice on the preview ------------------------------------------


def two_rows_csv(w) -> bytes:
    """A May 2024 statement: world `w`'s direct-hire contract (row 2), then a person with no contract (row 3)."""
    person = w.direct_contract.participant
    return csv_bytes(
        [
            ["Salarié", "Naissance", "Lot", "Période", "Qté"],
            [person.last_name, f"{person.birth_date:%d/%m/%Y}", w.lot.number, "05/2024", "120"],
            ["Inconnu", "01/01/1980", w.lot.number, "05/2024", "10"],
        ]
    )


def test_the_rows_in_error_can_be_left_out_on_an_explicit_choice(world_a, facilitator_member_client):
    w, client = world_a, facilitator_member_client
    run = import_run_for(w)
    run.content = two_rows_csv(w)
    run.save()
    preview_url = reverse("www:import_preview", kwargs={"uuid": run.uuid})
    commit_url = reverse("www:import_commit", kwargs={"uuid": run.uuid})
    page = client.get(preview_url).content.decode()
    assert 'data-testid="skip-invalid-form"' in page
    assert 'name="ignorer_erreurs" value="1" required' in page and "Ignorer les lignes en erreur" in page
    assert (
        "Les 1 ligne(s) sans erreur seront importées (1 à créer, 0 à mettre à jour, 0 inchangée(s)), en une "
        "seule fois. Les 1 ligne(s) en erreur seront écartées : rien ne sera enregistré pour elles, et elles "
        "vous seront rendues dans un fichier à votre format, avec une colonne « erreurs »"
    ) in page.replace("&#x27;", "'")
    assert '<input type="hidden" name="lignes_ecartees" value="1">' in page

    # All or nothing stays the default: without the box ticked, nothing is written.
    client.post(commit_url)
    assert not HoursRecord.objects.filter(month=MAY).exists()
    # The number of rows left out changed since the preview (here: announced wrong): nothing is written.
    response = client.post(commit_url, {"ignorer_erreurs": "1", "lignes_ecartees": "0"})
    assert response.status_code == 302 and not HoursRecord.objects.filter(month=MAY).exists()
    assert "au lieu de 0" in client.get(preview_url).content.decode()

    response = client.post(commit_url, {"ignorer_erreurs": "1", "lignes_ecartees": "1"})
    assert response.status_code == 302
    assert HoursRecord.objects.get(contract=w.direct_contract, month=MAY).hours == 120
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED and run.content == b""
    assert run.summary == {"create": 1, "update": 0, "unchanged": 0, "left_out": 1}
    entry = AuditEntry.objects.get(object_type="imports.importrun", action=Action.CREATE)
    assert entry.changes == {"bilan": [None, run.summary]}
    page = client.get(preview_url).content.decode()
    assert "1 ligne(s) en erreur écartée(s) : rien n'a été enregistré pour elles." in page
    assert 'data-testid="left-out-file"' in page

    # The rows left out, alone, in the user's format, with their errors; the download is logged.
    response = client.get(reverse("www:import_errors", kwargs={"uuid": run.uuid}))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="releve-erreurs.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode()), delimiter=";"))
    assert rows[0] == ["Salarié", "Naissance", "Lot", "Période", "Qté", "erreurs"]
    assert len(rows) == 2 and rows[1][0] == "Inconnu" and "aucun contrat trouvé pour Inconnu" in rows[1][5]
    export = AuditEntry.objects.get(action=Action.EXPORT, object_id=str(run.uuid))
    assert export.detail == "fichier des lignes écartées (CSV, 1 ligne(s))"


def test_a_file_level_error_offers_no_choice(world_a, facilitator_member_client):
    w, client = world_a, facilitator_member_client
    run = import_run_for(w)
    run.content = two_rows_csv(w)
    run.mapping = {key: label for key, label in run.mapping.items() if key != "hours"}  # a required column
    run.save()
    page = client.get(reverse("www:import_preview", kwargs={"uuid": run.uuid})).content.decode()
    assert 'data-testid="skip-invalid-form"' not in page
    assert "Impossible d'ignorer les lignes en erreur. Une erreur concerne le fichier entier" in page
    response = client.post(
        reverse("www:import_commit", kwargs={"uuid": run.uuid}),
        {"ignorer_erreurs": "1", "lignes_ecartees": "1"},
    )
    assert response.status_code == 422 and 'data-testid="import-refused"' in response.content.decode()
    assert not HoursRecord.objects.filter(month=MAY).exists()
    run.refresh_from_db()
    assert run.status == ImportStatus.UPLOADED


def test_a_big_siae_file_with_errors_is_imported_without_them_by_a_task(
    world_a, facilitator_member_client, immediate_tasks, tmp_path
):
    """The real SIAE file of Haute-Garonne (shipped, decompressed here), two lines spoilt, in the background."""
    import lzma
    from pathlib import Path

    from django.conf import settings

    from clausier.geo.communes import import_communes
    from clausier.organizations.models import Organization, OrganizationKind

    official = Path(settings.BASE_DIR) / "clausier" / "reference" / "official"
    cog = tmp_path / "cog.csv"
    cog.write_bytes(lzma.decompress((official / "cog_communes_2026.csv.xz").read_bytes()))
    import_communes(cog, departments=["31"])
    text = lzma.decompress((official / "siae_haute_garonne_2020.csv.xz").read_bytes()).decode()
    lines = list(csv.reader(io.StringIO(text, newline="")))
    header, data = lines[0], lines[1:]
    data[9][header.index("kind")] = "SIAE-X"  # line 11
    data[19][header.index("siret")] = "12345678901234"  # line 21: a wrong key
    output = io.StringIO(newline="")
    csv.writer(output, lineterminator="\n").writerows([header, *data])
    client = facilitator_member_client

    response = client.post(
        reverse("www:import_start"),
        {"kind": "structures", "file": SimpleUploadedFile("siae31.csv", output.getvalue().encode())},
    )
    run = ImportRun.objects.get()
    assert run.background and run.row_count == len(data)
    client.post(response["Location"], {f"col_{key}": label for key, label in run.mapping.items()})
    run.refresh_from_db()
    assert run.state == ImportState.READY and run.result["problem_count"] == 2
    assert run.result["skip"] == {
        "possible": True,
        "counts": {"create": len(data) - 2, "update": 0, "unchanged": 0},
        "kept": len(data) - 2,
        "left_out": 2,
    }
    page = client.get(reverse("www:import_preview", kwargs={"uuid": run.uuid})).content.decode()
    assert 'data-testid="skip-invalid-form"' in page and f"Les {len(data) - 2} ligne(s) sans erreur" in page
    before = Organization.objects.filter(kind=OrganizationKind.INSERTION_STRUCTURE).count()

    client.post(reverse("www:import_commit", kwargs={"uuid": run.uuid}))  # the box not ticked
    run.refresh_from_db()
    assert run.state == ImportState.READY  # nothing queued, nothing written
    client.post(
        reverse("www:import_commit", kwargs={"uuid": run.uuid}),
        {"ignorer_erreurs": "1", "lignes_ecartees": "2"},
    )
    run.refresh_from_db()
    assert run.state == ImportState.DONE and run.status == ImportStatus.COMMITTED and run.content == b""
    assert run.summary == {"create": len(data) - 2, "update": 0, "unchanged": 0, "left_out": 2}
    structures = Organization.objects.filter(
        kind=OrganizationKind.INSERTION_STRUCTURE, partnerships__facilitator=world_a.facilitator
    )
    assert (
        Organization.objects.filter(kind=OrganizationKind.INSERTION_STRUCTURE).count()
        == before + len(data) - 2
    )
    assert not structures.filter(siret=data[9][0]).exists() and structures.filter(siret=data[8][0]).exists()
    page = client.get(reverse("www:import_preview", kwargs={"uuid": run.uuid})).content.decode()
    assert 'data-testid="left-out-file"' in page
    response = client.get(reverse("www:import_errors", kwargs={"uuid": run.uuid}))
    rows = list(csv.reader(io.StringIO(response.content.decode()), delimiter=","))
    assert rows[0] == [*header, "erreurs"] and [row[:-1] for row in rows[1:]] == [data[9], data[19]]
    assert "« SIAE-X » n'est pas un type de structure connu" in rows[1][-1]
    assert "n'est pas un SIRET valide" in rows[2][-1]
