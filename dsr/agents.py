"""Requests made by an authorised agent for someone else (CCPA Regulations § 7063).

The agent uploads proof of their authority (a signed permission or power of attorney); the
request joins the queue at once, so its clock runs from receipt as the law counts it, but it stays
unverified, and therefore cannot be started, answered or erased (dsr.services refuse an
unverified request), until the person it is about confirms by the signed, expiring, single-use
link emailed to their own address that the agent acts for them (§ 7063(a)(2): the business may
require the consumer to confirm directly). Where a law lets the clock wait for the identity and
the organisation uses that, the answer period starts at that confirmation (dsr_verify).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import tokens
from core.links import nonce_link
from core.logo import image_type
from core.send_once import send_once
from dsr.models import AgentAuthority, DataSubjectRequest
from dsr.services import dsr_create, dsr_decline, dsr_verify

LINK_KIND = "dsr-agent"
LINK_LIFETIME = timedelta(days=7)
PROOF_MAX_BYTES = 5 * 1024 * 1024


def proof_check(file) -> str:
    """The proof's extension from its content (PDF, PNG or JPEG, at most 5 MB); a clear
    ValidationError for anything else (a name or a declared type says nothing)."""
    if file is None or not getattr(file, "size", 0):
        raise ValidationError(_("Upload the proof of your authority."), code="missing")
    if file.size > PROOF_MAX_BYTES:
        raise ValidationError(
            _("The proof is %(size)s MB; it may be at most %(max)s MB.")
            % {"size": -(-file.size // (1024 * 1024)), "max": PROOF_MAX_BYTES // (1024 * 1024)},
            code="too_large",
        )
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if head.startswith(b"%PDF-"):
        return ".pdf"
    found = image_type(head)
    if found is None or found[1] not in (".png", ".jpg"):
        raise ValidationError(
            _("The proof must be a PDF, PNG or JPEG file. This file is none of those."), code="wrong_type"
        )
    return found[1]


def agent_request_submit(
    *,
    kind: str,
    email: str,
    agent_name: str,
    agent_email: str,
    proof,
    phone: str = "",
    name: str = "",
    details: str = "",
    language: str = "",
    jurisdiction: str = "",
) -> DataSubjectRequest:
    """Open the request for the person at `email` with the agent and their proof, and ask the
    person to confirm (email sent after commit). Bad proof: ValidationError, nothing stored."""
    from dsr.tasks import send_agent_confirmation

    extension = proof_check(proof)
    nonce = secrets.token_hex(16)
    authority = AgentAuthority(
        agent_name=agent_name.strip()[:200],
        agent_email=agent_email,
        proof_name=(getattr(proof, "name", "") or "proof")[:255],
        proof_extension=extension,
        nonce=nonce,
        digest=tokens.digest(tokens.derive(nonce)),
        expires_at=timezone.now() + LINK_LIFETIME,
    )
    try:
        with transaction.atomic():
            request, created = dsr_create(
                kind=kind,
                email=email,
                phone=phone,
                link_by_phone=False,  # nobody proved the number
                channel=DataSubjectRequest.Channel.WEB,
                name=name,
                details=details,
                language=language,
                jurisdiction=jurisdiction,
            )
            if not created:
                # It joined an open request of the same type for the address (dsr_create): that
                # one goes on as it was opened, and the agent's proof is not kept.
                return request
            authority.request = request
            authority.proof.save("proof", proof, save=False)
            authority.full_clean()
            authority.save()
            transaction.on_commit(lambda: send_agent_confirmation.delay(authority.pk))
    except Exception:
        if authority.proof.name:  # a rolled-back row leaves no file behind
            authority.proof.storage.delete(authority.proof.name)
        raise
    return request


def agent_link(authority: AgentAuthority) -> str:
    return nonce_link("dsr:agent-confirm", kind=LINK_KIND, nonce=authority.nonce)


def agent_confirmation_send(*, authority_id: int, send) -> bool:
    """Ask the person at most once, however often the task runs (core.send_once)."""
    return send_once(
        AgentAuthority,
        authority_id,
        lambda authority: send(authority, agent_link(authority)),
        done=lambda authority: authority.state != AgentAuthority.State.PENDING,
    )


class AgentLink(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DENIED = "denied"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass
class AgentOutcome:
    status: AgentLink
    authority: AgentAuthority | None = None


def agent_find(link: str, *, for_update: bool = False) -> AgentOutcome:
    rows = AgentAuthority.objects.select_related("request")
    authority = tokens.row_for_link(rows, link, kind=LINK_KIND, for_update=for_update)
    if authority is None:
        return AgentOutcome(AgentLink.INVALID)
    if authority.state != AgentAuthority.State.PENDING:  # single use: answered once
        return AgentOutcome(AgentLink(authority.state), authority)
    if authority.expires_at < timezone.now():
        return AgentOutcome(AgentLink.EXPIRED, authority)
    return AgentOutcome(AgentLink.PENDING, authority)


@transaction.atomic
def agent_answer(*, link: str, confirmed: bool) -> AgentOutcome:
    """The person's answer: confirmed verifies the request (it may now proceed); denied declines it.
    The row lock makes a double click answer once."""
    found = agent_find(link, for_update=True)
    if found.status != AgentLink.PENDING:
        return found
    authority = found.authority
    authority.answered_at = timezone.now()
    if confirmed:
        authority.state = AgentAuthority.State.CONFIRMED
        authority.save(update_fields=["state", "answered_at"])
        if authority.request.verified_at is not None:
            return AgentOutcome(AgentLink.CONFIRMED, authority)
        dsr_verify(
            request=authority.request,
            actor=None,
            how=f"the person confirmed by the link emailed to their address that {authority.agent_name} "
            f"acts for them ({timezone.now():%Y-%m-%d %H:%M %Z})",
        )
        return AgentOutcome(AgentLink.CONFIRMED, authority)
    authority.state = AgentAuthority.State.DENIED
    authority.save(update_fields=["state", "answered_at"])
    dsr_decline(
        request=authority.request,
        actor=None,
        reason="The person it is about said they did not authorise the agent who made it.",
    )
    return AgentOutcome(AgentLink.DENIED, authority)


def agent_proofs_of(ids: list[int], identities: list) -> list[AgentAuthority]:
    """The proofs uploaded for requests about these contacts (personal-data registry)."""
    return list(AgentAuthority.objects.filter(request__contacts__in=ids).distinct())


def agent_proofs_erase(authorities: list[AgentAuthority], identities: list) -> int:
    """After the erasure committed: delete the proof files."""
    erased = 0
    for authority in authorities:
        if authority.proof.name and authority.proof.storage.exists(authority.proof.name):
            authority.proof.storage.delete(authority.proof.name)
            erased += 1
    return erased
