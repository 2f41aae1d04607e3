"""The jobs a candidate looks for: the many-to-many table becomes the CandidacyWishedJob model and carries the
candidacy's facilitator (Citus distribution, issue 18); the table and its rows stay."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    Link, Parent = apps.get_model("matching", "candidacywishedjob"), apps.get_model("matching", "candidacy")
    owner = Parent.objects.filter(pk=OuterRef("candidacy")).values("facilitator")[:1]
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
        ("matching", "0005_tenant_uuid"),
        ("organizations", "0010_tenant_uuid"),
        ("reference", "0004_romeappellation_search"),
    ]

    operations = [
        # The model of the table Django created for the many-to-many: same table, columns, indexes and
        # unique pair, so the state changes and the database does not.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CandidacyWishedJob",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "candidacy",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="matching.candidacy",
                            ),
                        ),
                        (
                            "romejob",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="reference.romejob",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "métier recherché",
                        "verbose_name_plural": "métiers recherchés",
                        "db_table": "matching_candidacy_wished_jobs",
                        "unique_together": {("candidacy", "romejob")},
                    },
                ),
                migrations.AlterField(
                    model_name="candidacy",
                    name="wished_jobs",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="+",
                        through="matching.CandidacyWishedJob",
                        to="reference.romejob",
                        verbose_name="métiers recherchés",
                    ),
                ),
            ],
            database_operations=[],
        ),
        # The parent's facilitator on every existing row, then required.
        migrations.AddField(
            model_name="candidacywishedjob", name="facilitator", field=facilitator(null=True)
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="candidacywishedjob", name="facilitator", field=facilitator(null=False)
        ),
        # The unique pair becomes (facilitator, parent, target): Citus only enforces a unique constraint that
        # holds the distribution column.
        migrations.AddConstraint(
            model_name="candidacywishedjob",
            constraint=models.UniqueConstraint(
                fields=("facilitator", "candidacy", "romejob"), name="candidacy_wished_job_unique"
            ),
        ),
        migrations.AlterUniqueTogether(name="candidacywishedjob", unique_together=set()),
    ]
