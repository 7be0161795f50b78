from dsr.registry import Erasure, register
from imports.models import ImportedConsent

# What a source last said for a person's rows (no address is stored, only the link and a digest).
# Erasure deletes it; the suppression list then refuses the person's rows in later imports.
register(
    ImportedConsent,
    fields=["source_key", "digest", "contacts", "purpose", "granted", "level", "effective_at"],
    contact_path="contacts",
    erasure=Erasure.DELETE,
)
