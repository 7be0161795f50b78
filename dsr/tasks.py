from celery import shared_task

from dsr.reminders import deadline_reminders


@shared_task(name="dsr.deadline_reminders")
def remind_deadlines() -> int:
    """Daily: mark overdue requests and remind assignees. Idempotent within a day."""
    return deadline_reminders()
