from dsr.models import DataSubjectRequest
from dsr.registry import Erasure, register
from dsr.services import dsr_requests_pseudonymise

register(
    DataSubjectRequest,
    fields=["requester_email", "requester_name", "details", "notes", "verification"],
    contact_path="contacts",
    erasure=Erasure.KEEP,
    legal_hold="Accountability (GDPR Art. 5(2), 12): proof that the request was answered in time; kept pseudonymised.",
    kept_until="the end of the limitation period for complaints about the answer (3 years)",
    anonymise=dsr_requests_pseudonymise,
)
