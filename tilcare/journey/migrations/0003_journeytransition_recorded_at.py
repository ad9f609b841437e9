"""Keep when a stage move happened apart from when it was entered.

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
    JourneyTransition = apps.get_model("journey", "JourneyTransition")
    JourneyTransition.objects.using(schema_editor.connection.alias).update(
        recorded_at=F("occurred_at")
    )


class Migration(migrations.Migration):
    dependencies = [("journey", "0002_append_only_transition_log")]

    operations = [
        migrations.RunPython(lift_triggers, restore_triggers),
        migrations.AddField(
            model_name="journeytransition",
            name="recorded_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(recorded_as_it_happened, migrations.RunPython.noop),
        migrations.RunPython(restore_triggers, lift_triggers),
    ]
