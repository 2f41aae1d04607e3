"""What refreshes the public figures: any change of the rows they are computed from.

Two hooks, both ending in `figures.data_changed` (one bump per facilitator and transaction):
- `post_save` of contracts, hours records, statements, markets, lots, clauses and participants (forms, the
  admin, scripts);
- the audit entry every action writes, whatever it changed, which also covers the actions that write in
  bulk (the monthly hours grid, merges, deletions) where no `post_save` is sent, and everything else the
  cached dashboard reads (outcomes, awards, pools, partners, settings).

No `post_delete` receiver: it would stop Django from deleting these large tables in bulk; deletions go
through actions, whose audit entries bump the version.
"""

from django.db.models.signals import post_save

from clausier.audit.models import Action, AuditEntry
from clausier.publicsite.figures import data_changed

WATCHED = (
    "employment.contract",
    "employment.hoursrecord",
    "employment.monthlystatement",
    "procurement.market",
    "procurement.lot",
    "procurement.clause",
    "participants.participant",
)
READS = {Action.VIEW, Action.EXPORT}


def row_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        data_changed(getattr(instance, "facilitator_id", None))


def audit_entry_written(sender, instance, created=False, raw=False, **kwargs):
    if created and not raw and instance.action not in READS:
        data_changed(instance.facilitator_id)


def connect():
    from django.apps import apps

    for label in WATCHED:
        post_save.connect(row_saved, sender=apps.get_model(label), dispatch_uid=f"publicsite:{label}")
    post_save.connect(audit_entry_written, sender=AuditEntry, dispatch_uid="publicsite:audit")
