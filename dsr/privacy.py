from django.utils.translation import gettext_noop

from core.registry import Erasure, register, register_files
from dsr.agents import agent_proofs_erase, agent_proofs_of
from dsr.bundles import bundles_files_erase, bundles_of, bundles_revoke
from dsr.models import AgentAuthority, DataSubjectRequest, RequestStatusLink
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

# An authorised agent's details and the proof they uploaded (CCPA Regulations § 7063): they concern
# the person the request is about and go with them; the request itself is kept pseudonymised.
register(
    AgentAuthority,
    fields=["agent_name", "agent_email", "proof", "proof_name"],
    contact_path="request__contacts",
    erasure=Erasure.DELETE,
)

register_files(
    gettext_noop("Proofs of an authorised agent's authority"),
    how=gettext_noop("files deleted once the erasure is committed"),
    find=agent_proofs_of,
    erase=agent_proofs_erase,
)
