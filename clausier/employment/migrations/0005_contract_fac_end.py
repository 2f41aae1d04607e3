from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("employment", "0004_contract_eligibility_override_by_and_more"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contract",
            index=models.Index(fields=["facilitator", "end_date"], name="contract_fac_end"),
        ),
    ]
