from core.registry import Erasure, register
from webhooks.models import Event

# An event about a person carries what changed (an address after a rectification, the lists they
# chose). Erasure deletes them with their deliveries: the erasure event that follows tells every
# downstream system to delete its copy, and carries no personal data itself.
register(Event, fields=["payload"], contact_path="contact", erasure=Erasure.DELETE)
