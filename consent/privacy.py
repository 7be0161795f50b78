from consent.models import ConsentChange, PurposeConsent
from consent.services import consent_changes_pseudonymise
from core.registry import Erasure, register

register(
    PurposeConsent,
    fields=["granted", "changed_at", "source"],
    contact_path="contact",
    erasure=Erasure.DELETE,
)
# GDPR Art. 7(1) and 17(3)(e): proof of consent outlives the person's identity, so erasure keeps
# the record and strips what identifies them (evidence such as IP and user agent, the free text).
register(
    ConsentChange,
    fields=["contact", "justification", "evidence"],
    contact_path="contact",
    erasure=Erasure.ANONYMISE,
    legal_hold="Proof of consent (GDPR Art. 7(1)), kept without whom it was about.",
    kept_until="as long as consent given or withdrawn must be demonstrable (limitation period)",
    anonymise=consent_changes_pseudonymise,
)
