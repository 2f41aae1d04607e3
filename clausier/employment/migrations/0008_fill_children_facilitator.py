"""Fill the new facilitator of existing child rows from their parent (Citus distribution, issue 18)."""

from django.db import migrations
from django.db.models import OuterRef, Subquery

# (child model, its parent model, the foreign key to the parent)
CHILDREN = [
    ("statementtransition", "employment.MonthlyStatement", "statement"),
]


def fill(apps, schema_editor):
    for child, parent, fk in CHILDREN:
        Child, Parent = apps.get_model("employment", child), apps.get_model(*parent.split("."))
        owner = Parent.objects.filter(pk=OuterRef(fk)).values("facilitator")[:1]
        Child.objects.filter(facilitator__isnull=True).update(facilitator=Subquery(owner))


class Migration(migrations.Migration):
    dependencies = [("employment", "0007_facilitator_on_children")]

    # Going back drops the column in the previous migration: nothing to undo here.
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
