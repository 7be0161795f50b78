"""The deadline reminders task follows the naming rule of config/celery.py: dsr.remind_deadlines."""

from django.db import migrations

from core.beat import task_renamed


class Migration(migrations.Migration):
    dependencies = [("dsr", "0014_submission_phone"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [task_renamed("dsr.deadline_reminders", "dsr.remind_deadlines")]
