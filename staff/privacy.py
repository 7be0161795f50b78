from dsr.registry import Erasure, register
from staff.models import AccessedContact

register(
    AccessedContact,
    fields=["contact"],
    contact_path="contact",
    erasure=Erasure.KEEP,
    legal_hold="Accountability (GDPR Art. 5(2)): the record that staff accessed someone; it holds only an id.",
    kept_until="the access log's retention period (compliance settings; 2 years by default)",
)
