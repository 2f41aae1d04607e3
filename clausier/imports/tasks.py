"""Big files in the background: above `IMPORT_BACKGROUND_ROWS` data rows (default 2 000), the validation and
then the commit of an uploaded file run in a task of Django's task framework (backend `django_tasks_db`: the
worker `clausier db_worker` must be running), not in the request.

    queue_validation(run, options={})          # the views (POST): state "queued", then a task validates
    queue_commit(run, by=user, options={})     # only from "ready" with no problem: a task commits
    queue_commit(run, by=user, options={}, skip_invalid=True, left_out=12)
                                               # or with problems, the user having chosen to leave the 12
                                               # rows in error out (`pipeline.keep_valid_rows`)

Lifecycle (`ImportRun.state`): queued → validating → ready (the preview reads `run.result`) → queued →
committing → done; "refused" (the file or the domain refused it) and "failed" (the task crashed) leave the
database as it was: the commit is one transaction, all or nothing (with the rows in error left out, all the
rows kept or none; those left out are kept in `run.left_out_file`). The task writes `progress_done` /
`progress_total` through the pipeline's progress callback, at most about once a second.

Each queued job carries a token (`run.job`): a newer job (the user changed the mapping) supersedes an older
one, whose task then stops without writing anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.employment.actions import Refused

from .limits import ImportRefused
from .models import ImportRun, ImportState, ImportStatus
from .pipeline import (
    UNCHANGED,
    Problem,
    Validation,
    commit,
    error_file,
    get_kind,
    keep_valid_rows,
    read,
    skip_preview,
    validate,
)
from .readers import Column
from .workers import Heartbeat, identity

logger = logging.getLogger(__name__)

DEFAULT_BACKGROUND_ROWS = 2000
# Then the page says the worker may be stopped, and offers to verify the file again.
QUEUED_TOO_LONG = dt.timedelta(minutes=1)
SILENT_TOO_LONG = dt.timedelta(hours=1)  # no news of a running task (writing is silent: all or nothing)
FAILED_MESSAGE = (
    "Le traitement du fichier s'est interrompu sur une erreur inattendue : rien n'a été enregistré. "
    "Relancez la vérification ; si l'erreur se reproduit, signalez-la à l'administrateur de Clausier "
    "(import {uuid})."
)
CHANGED_MESSAGE = (
    "Les données ont changé depuis l'aperçu et le fichier ne passe plus la vérification : rien n'a été "
    "enregistré. Voici les problèmes à corriger."
)
LEFT_OUT_CHANGED_MESSAGE = (
    "Les données ont changé depuis l'aperçu : {now} ligne(s) seraient maintenant écartées au lieu de "
    "{before}. Rien n'a été enregistré : vérifiez l'aperçu à nouveau avant d'importer."
)


def background_rows() -> int:
    return getattr(settings, "IMPORT_BACKGROUND_ROWS", DEFAULT_BACKGROUND_ROWS)


def in_background(row_count: int) -> bool:
    """Whether a file of `row_count` data rows is validated and committed by a task."""
    return row_count > background_rows()


class Superseded(Exception):  # noqa: N818 - a control-flow signal
    """The run was given a newer job (or was imported, or deleted): the task stops and writes nothing."""


# --- Actions (the views call them, on POST) -----------------------------------------------------------------


def queue_validation(run: ImportRun, *, options: dict | None = None) -> bool:
    """Validate the file in a task (the preview shows its progress); False while it is being committed (unless
    that task gave no news for `SILENT_TOO_LONG`: if it ever ends, it finds itself superseded and rolls back)."""
    return _queue(run, validate_import, options=dict(options or {}))


def queue_commit(
    run: ImportRun,
    *,
    by,
    options: dict | None = None,
    skip_invalid: bool = False,
    left_out: int | None = None,
) -> bool:
    """Commit the file in a task; only a run "ready" with no problem, or whose rows in error may be left out
    when `skip_invalid` (False otherwise: already committing, changed in between). `left_out`: the number of
    rows the user agreed to leave out (the preview's); the task commits nothing if it finds another number."""
    result = run.result
    if not (result.get("ok") or (skip_invalid and result.get("skip", {}).get("possible"))):
        return False
    return _queue(
        run,
        commit_import,
        expected=ImportState.READY,
        by_id=getattr(by, "pk", None),
        options=dict(options or {}),
        skip_invalid=skip_invalid,
        left_out=left_out,
    )


def _queue(run: ImportRun, task_function, *, expected: str | None = None, **kwargs) -> bool:
    job = uuid.uuid4().hex
    runs = ImportRun.objects.filter(pk=run.pk, status=ImportStatus.UPLOADED).exclude(
        state=ImportState.COMMITTING, updated_at__gt=timezone.now() - SILENT_TOO_LONG
    )
    if expected is not None:
        runs = runs.filter(state=expected)
    with transaction.atomic():  # the state and the queued task, or neither
        fields = {"progress_step": "", "progress_done": 0, "progress_total": run.row_count, "message": ""}
        if not runs.update(state=ImportState.QUEUED, job=job, updated_at=timezone.now(), **fields):
            return False
        result = task_function.enqueue(str(run.uuid), job, **kwargs)
        ImportRun.objects.filter(pk=run.pk, job=job).update(task_id=str(result.id)[:64])
    run.refresh_from_db()
    return True


def stalled(run: ImportRun) -> bool:
    """Queued for more than a minute, or running with no news for an hour: the worker may be stopped."""
    limit = QUEUED_TOO_LONG if run.state == ImportState.QUEUED else SILENT_TOO_LONG
    return run.running and timezone.now() - run.last_news > limit


# --- Tasks --------------------------------------------------------------------------------------------------


@task
def validate_import(run_uuid: str, job: str, options: dict) -> str:
    """Read the run's file again and validate it: "ready" with the result for the preview, or "refused"."""
    with _guard(run_uuid, job):
        run = _claim(run_uuid, job, ImportState.VALIDATING)
        try:
            kind, records = _read(run)
        except ImportRefused as refusal:
            _save(run, job, state=ImportState.REFUSED, message=refusal.message)
            return ImportState.REFUSED.value
        validation = validate(
            records,
            kind,
            run.mapping,
            facilitator=run.facilitator,
            options=options,
            progress=_reporter(run, job),
        )
        result = validation_result(run, validation, kind=kind)
        _save(run, job, state=ImportState.READY, result=result)
        return ImportState.READY.value
    return ""  # superseded


@task
def commit_import(
    run_uuid: str,
    job: str,
    by_id: int | None,
    options: dict,
    skip_invalid: bool = False,
    left_out: int | None = None,
) -> str:
    """Validate the file again (the database may have changed since the preview), then commit it in one
    transaction: "done", or "ready" again with the new problems, or "refused" (nothing written).

    With `skip_invalid`, the rows in error are left out (`keep_valid_rows`) and the others committed in one
    transaction, if as many rows are left out as the preview said (`left_out`); the rows left out, with their
    errors, are kept in `run.left_out_file`."""
    with _guard(run_uuid, job):
        run = _claim(run_uuid, job, ImportState.COMMITTING)
        try:
            kind, records = _read(run)
        except ImportRefused as refusal:
            _save(run, job, state=ImportState.REFUSED, message=refusal.message)
            return ImportState.REFUSED.value
        report = _reporter(run, job)
        validation = validate(
            records, kind, run.mapping, facilitator=run.facilitator, options=options, progress=report
        )
        if not validation.ok:
            kept, message = None, CHANGED_MESSAGE
            if skip_invalid:
                try:
                    kept = keep_valid_rows(validation, kind, facilitator=run.facilitator)
                except Refused as refusal:
                    message = "\n".join([*refusal.messages, CHANGED_MESSAGE])
                if kept is not None and left_out is not None and len(kept.left_out) != left_out:
                    message = LEFT_OUT_CHANGED_MESSAGE.format(now=len(kept.left_out), before=left_out)
                    kept = None
            if kept is None:
                result = validation_result(run, validation, kind=kind)
                _save(run, job, state=ImportState.READY, result=result, message=message)
                return ImportState.READY.value
            validation = kept
        by = _user(by_id, run)
        written = sum(1 for item in validation.items if item.action != UNCHANGED)
        left_out_fields = {}
        if validation.left_out:
            errors = error_file(
                bytes(run.content), validation.records, validation.left_out_problems, only=validation.left_out
            )
            left_out_fields = {"left_out_file": errors.content, "left_out_type": errors.content_type}
        try:
            with transaction.atomic():
                counts = commit(validation, kind, facilitator=run.facilitator, by=by, progress=report)
                if validation.left_out:
                    counts["left_out"] = len(validation.left_out)
                _save(
                    run,
                    job,
                    status=ImportStatus.COMMITTED,
                    state=ImportState.DONE,
                    summary=counts,
                    committed_at=timezone.now(),
                    content=b"",  # the figures are in the database now: do not keep the personal data twice
                    progress_step="commit",
                    progress_done=written,
                    progress_total=written,
                    **left_out_fields,
                )
                record(action=Action.CREATE, obj=run, by=by, changes={"bilan": [None, counts]})
        except Refused as refusal:
            _save(run, job, state=ImportState.REFUSED, message="\n".join(refusal.messages))
            return ImportState.REFUSED.value
        return ImportState.DONE.value
    return ""  # superseded


class _guard:
    """Around a task's body: a superseded job stops quietly; any crash marks the run "failed" with a French
    message (the commit's transaction has rolled back: nothing was written) and is raised again, so that the
    task framework records it too. Meanwhile the task beats (`workers.Heartbeat`): a worker killed outright
    (SIGKILL, out of memory, power cut) leaves the run "validating" or "committing" with nothing written, and
    the import pages find it dead and mark it failed (`workers.reap`)."""

    def __init__(self, run_uuid: str, job: str):
        self.run_uuid, self.job = run_uuid, job
        self.heartbeat = Heartbeat(run_uuid, job)

    def __enter__(self):
        self.heartbeat.__enter__()
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        self.heartbeat.__exit__(exc_type, exc, traceback)
        if exc_type is None:
            return False
        if issubclass(exc_type, Superseded):
            logger.info("Import %s : traitement %s remplacé par un plus récent.", self.run_uuid, self.job)
            return True
        # Any exception, and the worker stopped in the middle of a task (SystemExit on its second signal).
        logger.error("Import %s : échec du traitement %s.", self.run_uuid, self.job, exc_info=exc)
        ImportRun.objects.filter(uuid=self.run_uuid, job=self.job).exclude(
            status=ImportStatus.COMMITTED
        ).update(
            state=ImportState.FAILED,
            message=FAILED_MESSAGE.format(uuid=self.run_uuid),
            updated_at=timezone.now(),
        )
        return False


def _claim(run_uuid: str, job: str, state: str) -> ImportRun:
    claimed = ImportRun.objects.filter(
        uuid=run_uuid, job=job, state=ImportState.QUEUED, status=ImportStatus.UPLOADED
    ).update(state=state, progress_done=0, updated_at=timezone.now(), worker=identity(), beat_at=None)
    if not claimed:
        raise Superseded
    return ImportRun.objects.select_related("facilitator").get(uuid=run_uuid)


def _save(run: ImportRun, job: str, **fields) -> None:
    """Write `fields` on the run if this job is still its job (else `Superseded`)."""
    fields.setdefault("updated_at", timezone.now())
    if not ImportRun.objects.filter(pk=run.pk, job=job).update(**fields):
        raise Superseded
    for name, value in fields.items():
        setattr(run, name, value)


def _reporter(run: ImportRun, job: str):
    def report(step: str, done: int, total: int) -> None:
        if step == "commit" and done:
            # Inside the all-or-nothing transaction: nobody would see it before the end (the final save
            # writes the total).
            return
        _save(run, job, progress_step=step, progress_done=done, progress_total=total)

    return report


def _read(run: ImportRun):
    kind = get_kind(run.kind)
    records = read(
        bytes(run.content), filename=run.filename, kind=kind, sheet=run.sheet or None, mapping=run.mapping
    )
    return kind, records


def _user(by_id: int | None, run: ImportRun):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=by_id, is_active=True).first() if by_id else None
    if user is not None:
        user.current_organization = run.facilitator  # as the middleware does for a request
    return user


# --- The validation, kept for the preview ----------------------------------------------------------------


def validation_result(run: ImportRun, validation: Validation, *, kind=None) -> dict:
    """What the preview and the error file need, JSON-ready (problems as listed by the validation: at most
    `pipeline.MAX_PROBLEMS`, the count stays exact); for a file with problems and its `kind`, what ignoring the
    rows in error would import (`skip`: `pipeline.skip_preview`)."""
    records = validation.records
    skip = {}
    if kind is not None and not validation.ok:
        skip = skip_preview(validation, kind, facilitator=run.facilitator)
    return {
        "ok": validation.ok,
        "counts": validation.counts,
        "rows": len(records.rows),
        "skipped": len(records.skipped),
        "problem_count": validation.problem_count,
        "problems": [
            {
                "row": p.row,
                "index": p.column.index if p.column else None,
                "label": p.column.label if p.column else None,
                "message": p.message,
            }
            for p in validation.problems
        ],
        "notes": list(validation.notes),
        "duplicate_count": validation.duplicate_count,
        "options": dict(validation.options),
        "mapping": dict(run.mapping),
        "skip": skip,
    }


def stored_problems(result: dict) -> list[Problem]:
    return [
        Problem(
            p["row"], Column(p["index"], p["label"]) if p.get("index") is not None else None, p["message"]
        )
        for p in result.get("problems", [])
    ]
