"""Keep when a batch was opened (its tissue received) apart from when its row was written.

Every existing batch was opened as its row was written, so its `opened_at` is its `created_at`.
The column is made required in 0009 (on PostgreSQL a table cannot be altered in the transaction
that updated its rows).
"""

from django.db import migrations, models
from django.db.models import F


def opened_as_created(apps, schema_editor):
    Batch = apps.get_model("manufacturing", "Batch")
    Batch.objects.using(schema_editor.connection.alias).update(opened_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("manufacturing", "0007_batchtransition_recorded_at_required")]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="opened_at",
            field=models.DateTimeField(null=True, verbose_name="Opened (tissue received)"),
        ),
        migrations.RunPython(opened_as_created, migrations.RunPython.noop),
    ]
