"""What the subscription center's form posts for a contact, as it stands, with some choices changed."""


def center_form(contact, **overrides) -> dict:
    data = {
        "consent_given": str(contact.consent_given),
        "tracking": "allow" if contact.tracking_allowed else "deny",
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "language": contact.language,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
