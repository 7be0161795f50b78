"""The journeys task follows the naming rule of config/celery.py: journeys.run_journeys."""

from django.db import migrations

from core.beat import task_renamed


class Migration(migrations.Migration):
    dependencies = [("journeys", "0005_steprun_sending"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [task_renamed("journeys.run", "journeys.run_journeys")]
