"""Bounces and their blocks: whether mail still goes to a contact's address."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact, Deliverability

Reason = Deliverability.Reason


def _locked(contact_id: int) -> Deliverability:
    # Locked: two bounce reports of one address at once must count twice, not once.
    Deliverability.objects.get_or_create(contact_id=contact_id)
    return Deliverability.objects.select_for_update().get(contact_id=contact_id)


@transaction.atomic
def bounce_record(*, contacts: list[Contact], hard: bool, evidence: str) -> int:
    """Count a bounce for each contact of the bounced address; block on a hard bounce or at the
    soft-bounce limit. Returns how many contacts became blocked. `evidence`: the provider's event
    id, kept as the history's change reason."""
    blocked = 0
    for contact in contacts:
        state = _locked(contact.pk)
        if state.blocked_since is not None:
            continue
        state.soft_bounces += 0 if hard else 1
        if hard or state.soft_bounces >= settings.MAIL_SOFT_BOUNCE_LIMIT:
            state.blocked_since = timezone.now()
            state.block_reason = Reason.HARD_BOUNCE if hard else Reason.SOFT_BOUNCES
            blocked += 1
        state._change_reason = evidence[:100]
        state.save()
    return blocked


@transaction.atomic
def block_lift(*, contact: Contact, actor, reason: str) -> Deliverability:
    """An officer's decision that mail may go to the address again (e.g. the person fixed their
    mailbox); the reason stays in the history."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why mail may go to this address again.")})
    state = _locked(contact.pk)
    if state.blocked_since is None:
        raise ValidationError(_("Mail to this contact is not blocked."))
    state.blocked_since, state.block_reason, state.soft_bounces = None, "", 0
    state._history_user, state._change_reason = actor, reason.strip()[:100]
    state.save()
    return state
