"""Fields the back office and the API both show, named once for the admin and the serializer so
that a field added to one screen is not forgotten on the other."""

# The contact (ContactAdmin's fieldsets, ContactSerializer): who they are. The admin's form adds
# the country, which the API does not carry. Child, guardian and restriction are
# contacts.selectors' SENSITIVE_CONTACT_FIELDS: both screens show those only to the roles that
# may see them.
CONTACT_IDENTITY_FIELDS = ("first_name", "last_name", "email", "phone")

# A consent change record (ConsentChangeAdmin, ConsentChangeSerializer): evidence, read-only on
# both. The admin adds the seal (chain_hash), the API the record's id.
CONSENT_CHANGE_FIELDS = (
    "contact",
    "field",
    "purpose",
    "old_value",
    "new_value",
    "source",
    "channel",
    "actor",
    "justification",
    "evidence",
    "effective_at",
    "recorded_at",
)
