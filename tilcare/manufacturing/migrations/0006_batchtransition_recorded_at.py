"""Keep when a batch status change happened apart from when it was entered.

Every existing move was entered as it happened, so its `recorded_at` is its `occurred_at`. The
append-only triggers are lifted only while the new column is filled in, within this migration.
"""

from django.db import migrations, models
from django.db.models import F


def lift_triggers(apps, schema_editor):
    from tilcare.audit import triggers

    triggers.remove(schema_editor.connection)


def restore_triggers(apps, schema_editor):
    from tilcare.audit import triggers

    triggers.install(schema_editor.connection)


def recorded_as_it_happened(apps, schema_editor):
    BatchTransition = apps.get_model("manufacturing", "BatchTransition")
    BatchTransition.objects.using(schema_editor.connection.alias).update(
        recorded_at=F("occurred_at")
    )


class Migration(migrations.Migration):
    dependencies = [("manufacturing", "0005_batch_stopped")]

    operations = [
        migrations.RunPython(lift_triggers, restore_triggers),
        migrations.AddField(
            model_name="batchtransition",
            name="recorded_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(recorded_as_it_happened, migrations.RunPython.noop),
        migrations.RunPython(restore_triggers, lift_triggers),
    ]
