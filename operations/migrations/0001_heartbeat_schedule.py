from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task(
            "Beat heartbeat for the readiness check (every minute)",
            "operations.beat_heartbeat",
            every=1,
            period="minutes",
            expire_seconds=60,
        )
    ]
