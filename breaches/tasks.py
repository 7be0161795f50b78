from celery import shared_task

from breaches.reminders import breach_reminders
from breaches.services import breach_notices_send
from dsr.tasks import MAIL_RETRY


@shared_task(name="breaches.remind_deadlines")
def remind_deadlines() -> int:
    """Hourly: remind the officers of breaches near or past the 72 hours. Idempotent."""
    return breach_reminders()


@shared_task(name="breaches.send_breach_notices", **MAIL_RETRY)
def send_breach_notices(breach_id: int) -> int:
    """The notices of one breach to the people it affected; each sent at most once."""
    return breach_notices_send(breach_id=breach_id)
