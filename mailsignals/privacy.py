from core.registry import Erasure, register
from mailsignals.models import MailSignal

# Which provider reported what about a person, and when: deleted with them.
register(MailSignal, fields=["event_id", "received_at"], contact_path="contact", erasure=Erasure.DELETE)
