"""Audit events vouch for the regulated rows they wrote: the digest of each row after the write.

Existing events get no digests; the hash leaves the column out when it is empty, so the existing
chain still verifies. On SQLite the table is rebuilt to add the column, which drops its
triggers: they are lifted for the change and created again after it.
"""

from django.db import migrations, models


def restore_triggers(apps, schema_editor):
    from tilcare.audit import triggers

    triggers.install(schema_editor.connection)


def lift_triggers(apps, schema_editor):
    from tilcare.audit import triggers

    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_refuse_insert_over_existing_rows")]

    operations = [
        migrations.RunPython(lift_triggers, restore_triggers),
        migrations.AddField(
            model_name="auditevent",
            name="row_digests",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(restore_triggers, lift_triggers),
    ]
