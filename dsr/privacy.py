from django.utils.translation import gettext_noop

from core.registry import Erasure, register, register_files
from dsr.bundles import bundles_files_erase, bundles_of, bundles_revoke
from dsr.models import DataSubjectRequest, RequestStatusLink
from dsr.services import dsr_requests_pseudonymise

register(
    DataSubjectRequest,
    fields=["requester_email", "requester_phone", "requester_name", "details", "notes", "verification"],
    contact_path="contacts",
    erasure=Erasure.KEEP,
    legal_hold=gettext_noop(
        "Accountability (GDPR Art. 5(2), 12): proof that the request was answered in time; kept pseudonymised."
    ),
    kept_until=gettext_noop("the end of the limitation period for complaints about the answer (3 years)"),
    anonymise=dsr_requests_pseudonymise,
)

# The requester's status link opens their request: it holds no personal data itself, but is a key
# to it, so it goes with the person (those of requests reached by address only are revoked by
# dsr_requests_pseudonymise).
register(
    RequestStatusLink,
    fields=["nonce", "digest"],
    contact_path="request__contacts",
    erasure=Erasure.DELETE,
)

register_files(
    gettext_noop("Export bundle files (snapshot and ZIP)"),
    how=gettext_noop(
        "download links revoked (they answer “gone”), files deleted once the erasure is committed"
    ),
    find=bundles_of,
    revoke=bundles_revoke,
    erase=bundles_files_erase,
)
