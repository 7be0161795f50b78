from django.utils.translation import gettext_noop

from core.registry import Erasure, register, register_files
from imports.files import import_reports_scrub, import_uploads_naming, import_uploads_redact
from imports.models import ImportedConsent
from imports.rectification_files import rectification_uploads_erase, rectification_uploads_naming

# What a source last said for a person's rows (no address is stored, only the link and a digest).
# Erasure deletes it; the suppression list then refuses the person's rows in later imports.
register(
    ImportedConsent,
    fields=["source_key", "digest", "contacts", "purpose", "granted", "level", "effective_at"],
    contact_path="contacts",
    erasure=Erasure.DELETE,
)

# Uploads name many people: the person's rows are blanked in place (imports.files explains why).
register_files(
    gettext_noop("Import uploads"),
    how=gettext_noop(
        "the person's rows are blanked in every stored upload once the erasure is committed; keys "
        "of refused rows that are the person's address become “(erased)” in the import reports"
    ),
    find=import_uploads_naming,
    revoke=import_reports_scrub,
    erase=import_uploads_redact,
)

# Workbooks uploaded for bulk rectification name every selected contact: an erasure deletes those
# naming the person (imports.rectification_files).
register_files(
    gettext_noop("Bulk rectification uploads"),
    how=gettext_noop("every stored upload naming the person is deleted once the erasure is committed"),
    find=rectification_uploads_naming,
    erase=rectification_uploads_erase,
)
