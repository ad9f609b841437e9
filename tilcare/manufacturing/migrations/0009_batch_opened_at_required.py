"""Every batch has its opening time (filled in by 0008)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("manufacturing", "0008_batch_opened_at")]

    operations = [
        migrations.AlterField(
            model_name="batch",
            name="opened_at",
            field=models.DateTimeField(verbose_name="Opened (tissue received)"),
        ),
    ]
