"""Checks of the input every consent write takes besides the consent itself: justification,
evidence, the moment it takes effect. The consent rules themselves live in consent.rules."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.audit_chain import storable_problem
from consent.models import Source

RELAY_PERMISSION = "consent.relay_consent"


def justification_required(*, source: str, actor=None) -> bool:
    """Whether a consent change must say why: one made by hand by staff must, in every door.

    Every change in the admin; through the API, every change by a staff account (each key has
    one) except one trusted to relay the person's own answers with its evidence (RELAY_PERMISSION,
    a privacy officer's key for the web shop): a Marketer's key is a person changing consent by
    hand, and the API must not be the way around the admin's rule (GDPR Art. 7(1)).
    """
    if source == Source.ADMIN:
        return True
    if source == Source.API:
        return actor is not None and not actor.has_perm(RELAY_PERMISSION)
    return False


def check_evidence(evidence) -> None:
    """Evidence is sealed as the database gives it back; refuse what no database gives back."""
    problem = storable_problem(evidence)
    if problem or not isinstance(evidence, dict):
        raise ValidationError(
            {
                "evidence": _("The evidence cannot be kept as it is (%(problem)s).")
                % {"problem": problem or "not a JSON object"}
            }
        )


def check_justification(*, justification: str, needs_reason: bool) -> str:
    """The justification as it is kept (stripped); refused when it is needed and missing."""
    justification = (justification or "").strip()
    if storable_problem(justification):
        raise ValidationError(
            {"justification": _("The justification contains characters that cannot be kept.")}
        )
    if needs_reason and not justification:
        raise ValidationError(
            {"justification": _("Say why you change this consent by hand, e.g. “phone call on 12 May”.")}
        )
    return justification


def check_effective(effective_at: datetime | None, now: datetime | None = None) -> datetime:
    """When the change takes effect: now unless given, never in the future."""
    now = now or timezone.now()
    if effective_at is not None and effective_at > now:
        raise ValidationError(_("A consent change cannot take effect in the future."))
    return effective_at or now
