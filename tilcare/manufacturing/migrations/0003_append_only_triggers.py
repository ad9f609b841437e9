from django.db import migrations


def install(apps, schema_editor):
    from tilcare.audit import triggers

    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("manufacturing", "0002_batch_record"), ("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
