from contacts.models import Contact, Deliverability, LegalHold
from core.registry import Erasure, register

register(
    Contact,
    fields=[
        "first_name",
        "last_name",
        "email",
        "phone",
        "country",
        "language",
        "date_of_birth",
        "is_child",
        "guardian",
        "consent_given",
        "tracking_allowed",
        "processing_restricted",
        "last_action_at",
    ],
    contact_path="",
    erasure=Erasure.DELETE,
)

register(
    Deliverability,
    fields=["soft_bounces", "blocked_since", "block_reason"],
    contact_path="contact",
    erasure=Erasure.DELETE,
)

register(LegalHold, fields=["reason", "until"], contact_path="contact", erasure=Erasure.DELETE)
