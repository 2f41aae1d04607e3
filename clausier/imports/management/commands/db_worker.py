"""`clausier db_worker`: django-tasks' database worker, with the imports' reaper (`workers.Reaper`).

The worker's loop has no hook of its own (no signal while it waits for a task): the reaper is a thread of the
worker's process, started with it and stopped when it ends (`--batch`, `--max-tasks`, SIGTERM). Under
`--reload`, only in the process that runs the tasks, not in the one that watches the files.
"""

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from clausier.imports.workers import Reaper


class Command(db_worker.Command):
    help = (
        "Lance un worker des tâches en arrière-plan (gros imports) ; il marque aussi en échec, régulièrement, "
        "les imports dont le traitement s'est arrêté brutalement (processus tué)."
    )

    def handle(self, *args, **options):
        watcher = (
            options["reload"] and not options["batch"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        )
        if watcher:  # it only restarts the worker process, which has its own reaper
            return super().handle(*args, **options)
        with Reaper():
            return super().handle(*args, **options)
