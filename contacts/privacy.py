from contacts.models import Contact
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
    ],
    contact_path="",
    erasure=Erasure.DELETE,
)
