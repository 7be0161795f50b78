"""The contact's fields as the back office shows them, named once for the admin (ContactAdmin's
fieldsets) and the API (ContactSerializer), so a field added to one screen is not forgotten on
the other. Child, guardian and restriction are contacts.selectors' SENSITIVE_CONTACT_FIELDS: both
screens show those only to the roles that may see them."""

# Who the contact is (the admin's form adds the country, which the API does not carry).
CONTACT_IDENTITY_FIELDS = ("first_name", "last_name", "email", "phone")
