import re

from django.db import migrations, models
from unidecode import unidecode


def fill_search(apps, schema_editor):
    """The appellations already loaded (`load_reference` skips a file it has loaded): their words, as
    `clausier.utils.names.searchable` writes them (copied here: a migration keeps the rule of its day)."""
    RomeAppellation = apps.get_model("reference", "RomeAppellation")
    titles = list(RomeAppellation.objects.only("pk", "label"))
    for title in titles:
        title.search = "".join(f" {word}" for word in re.findall(r"[a-z0-9]+", unidecode(title.label).lower()))
    RomeAppellation.objects.bulk_update(titles, ["search"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("reference", "0003_official_dataset"),
    ]

    operations = [
        migrations.AddField(
            model_name="romeappellation",
            name="search",
            field=models.CharField(
                blank=True, editable=False, max_length=300, verbose_name="mots de l'appellation"
            ),
        ),
        migrations.RunPython(fill_search, migrations.RunPython.noop),
    ]
