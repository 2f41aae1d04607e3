"""`clausier reap_imports`: one round of the workers' reaper (`workers.reap_all`), for operators who prefer a
timer: the imports of every territory whose processing process died are marked failed, with their task."""

from django.core.management.base import BaseCommand

from clausier.imports.workers import REAP_SECONDS, reap_all


def summary(reaped: int) -> str:
    if not reaped:
        return "Aucun import interrompu : rien à marquer en échec."
    if reaped == 1:
        return "1 import interrompu (processus de traitement disparu) marqué en échec."
    return f"{reaped} imports interrompus (processus de traitement disparu) marqués en échec."


class Command(BaseCommand):
    help = (
        "Marque en échec les imports dont le processus de traitement a disparu (worker tué), sur tous les "
        f"territoires ; chaque `clausier db_worker` le fait déjà toutes les {REAP_SECONDS} s."
    )

    def handle(self, *args, **options):
        self.stdout.write(summary(reap_all()))
