"""What contacts tell the layers above without importing them."""

from django.dispatch import Signal

# Sent by contacts.services.contact_update inside its transaction, after the save, with
# contact= and changes={field: (old, new)} (guardian as its id). Receivers write in the same
# transaction, so their rows commit or roll back with the change.
profile_changed = Signal()
