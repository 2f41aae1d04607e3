"""Every child row now has its facilitator (filled in the previous migration): make it required."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("matching", "0003_fill_children_facilitator")]

    operations = [
        migrations.AlterField(
            model_name="candidacycriterion",
            name="facilitator",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="organizations.organization",
                verbose_name="facilitateur",
            ),
        ),
        migrations.AlterField(
            model_name="candidacytransition",
            name="facilitator",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="organizations.organization",
                verbose_name="facilitateur",
            ),
        ),
        migrations.AlterField(
            model_name="proposaltransition",
            name="facilitator",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="organizations.organization",
                verbose_name="facilitateur",
            ),
        ),
    ]
