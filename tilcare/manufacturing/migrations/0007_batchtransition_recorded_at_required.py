"""Every batch status change has its entry time (filled in by 0006). On SQLite the table is
rebuilt to make the column required, which drops its triggers: they are created again."""

from django.db import migrations, models


def restore_triggers(apps, schema_editor):
    from tilcare.audit import triggers

    triggers.install(schema_editor.connection)


def lift_triggers(apps, schema_editor):
    from tilcare.audit import triggers

    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("manufacturing", "0006_batchtransition_recorded_at")]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, lift_triggers),
        migrations.AlterField(
            model_name="batchtransition",
            name="recorded_at",
            field=models.DateTimeField(),
        ),
        migrations.RunPython(restore_triggers, migrations.RunPython.noop),
    ]
