"""The lots of a convention de globalisation: the many-to-many table becomes the GlobalisationLot model and
carries the convention's facilitator (Citus distribution, issue 18); the table and its rows stay."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    Link, Parent = (
        apps.get_model("procurement", "globalisationlot"),
        apps.get_model("procurement", "globalisationagreement"),
    )
    owner = Parent.objects.filter(pk=OuterRef("globalisationagreement")).values("facilitator")[:1]
    Link.objects.filter(facilitator__isnull=True).update(facilitator=Subquery(owner))


def facilitator(*, null):
    return models.ForeignKey(
        null=null,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="organizations.organization",
        verbose_name="facilitateur",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0010_tenant_uuid"),
        ("procurement", "0007_tenant_uuid"),
    ]

    operations = [
        # The model of the table Django created for the many-to-many: same table, columns, indexes and
        # unique pair, so the state changes and the database does not.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="GlobalisationLot",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "globalisationagreement",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="procurement.globalisationagreement",
                            ),
                        ),
                        (
                            "lot",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="procurement.lot",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "lot d'une convention de globalisation",
                        "verbose_name_plural": "lots des conventions de globalisation",
                        "db_table": "procurement_globalisationagreement_lots",
                        "unique_together": {("globalisationagreement", "lot")},
                    },
                ),
                migrations.AlterField(
                    model_name="globalisationagreement",
                    name="lots",
                    field=models.ManyToManyField(
                        related_name="globalisations",
                        through="procurement.GlobalisationLot",
                        to="procurement.lot",
                        verbose_name="lots mutualisés",
                    ),
                ),
            ],
            database_operations=[],
        ),
        # The parent's facilitator on every existing row, then required.
        migrations.AddField(model_name="globalisationlot", name="facilitator", field=facilitator(null=True)),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="globalisationlot", name="facilitator", field=facilitator(null=False)
        ),
        # The unique pair becomes (facilitator, parent, target): Citus only enforces a unique constraint that
        # holds the distribution column.
        migrations.AddConstraint(
            model_name="globalisationlot",
            constraint=models.UniqueConstraint(
                fields=("facilitator", "globalisationagreement", "lot"), name="globalisation_lot_unique"
            ),
        ),
        migrations.AlterUniqueTogether(name="globalisationlot", unique_together=set()),
    ]
