from django.db import migrations, models


def install_triggers(apps, schema_editor):
    # SQLite adds the column by rebuilding the table, which drops its append-only triggers:
    # they are created again (idempotent on both databases).
    from tilcare.audit import triggers

    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0003_shipment_transitions"),
    ]

    operations = [
        migrations.AddField(
            model_name="custodyevent",
            name="late_entry_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.RunPython(install_triggers, migrations.RunPython.noop),
    ]
