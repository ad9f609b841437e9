"""On SQLite, `INSERT OR REPLACE` (and `REPLACE INTO`) deletes the row it collides with and
writes a new one; the DELETE triggers see that only when `recursive_triggers` is on. A trigger
before every insert into an append-only table now refuses a row whose key is already there, so
an existing row cannot be rewritten whatever the connection's settings. PostgreSQL has no
REPLACE, and its upsert fires the UPDATE trigger that already refuses it."""

from django.db import migrations


def install(apps, schema_editor):
    from tilcare.audit import triggers

    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_auditevent_recorded_at_required")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
