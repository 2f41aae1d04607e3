"""Every child row now has its facilitator (filled in the previous migration): make it required."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("employment", "0008_fill_children_facilitator")]

    operations = [
        migrations.AlterField(
            model_name="statementtransition",
            name="facilitator",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="organizations.organization",
                verbose_name="facilitateur",
            ),
        ),
    ]
