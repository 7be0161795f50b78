"""Californian privacy choices: the opt-out of sale or sharing and the limit on sensitive data.

Each is an opt-out purpose (consent.opt_outs): processed until the person says no. A known contact's
"no" is written by consent.services.consent_change with its record; an unknown visitor's lives in
their browser only (a signed cookie, subscriptions.privacy_mark): no contact is ever created for
them. Opting back in is a widening, so it waits for confirmation from the inbox like every other
(the two-step opt-in of CCPA regs §7028), and it is offered only once the law's months without
asking have passed (Cal. Civ. Code §1798.135(c)(4)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from consent.models import Purpose, PurposeConsent, Source
from consent.opt_outs import OptOut, gpc_kinds, reask_allowed
from consent.services import consent_change
from contacts.models import Contact
from subscriptions.models import ConsentRequest
from subscriptions.services.double_opt_in import consent_request_create
from subscriptions.services.opt_out import opt_out_siblings
from subscriptions.services.records import RequestMeta

# The purposes behind the two links, made the first time they are needed (an officer can then
# edit their wording and link ordinary purposes to them through Purpose.stopped_by).
_DEFAULTS = {
    OptOut.SALE_SHARING: {
        "slug": "ccpa-sale-sharing",
        "name": "Sale or sharing of personal information",
        "description": "We may sell or share your personal information with third parties, "
        "including for cross-context behavioural advertising, until you opt out.",
        "translations": {
            "de": {
                "name": "Verkauf oder Weitergabe personenbezogener Daten",
                "description": "Wir dürfen Ihre personenbezogenen Daten an Dritte verkaufen oder "
                "weitergeben, auch für kontextübergreifende verhaltensbasierte Werbung, bis Sie "
                "widersprechen.",
            }
        },
    },
    OptOut.SENSITIVE: {
        "slug": "ccpa-sensitive-data",
        "name": "Use of sensitive personal information",
        "description": "We may use your sensitive personal information beyond what is necessary "
        "to provide our services, until you limit its use.",
        "translations": {
            "de": {
                "name": "Nutzung sensibler personenbezogener Daten",
                "description": "Wir dürfen Ihre sensiblen personenbezogenen Daten über das für "
                "unsere Dienste Notwendige hinaus nutzen, bis Sie die Nutzung einschränken.",
            }
        },
    },
}


def opt_out_purposes() -> list[Purpose]:
    """The active opt-out purposes in the law's order, the two Californian ones made if missing."""
    found = {p.opt_out: p for p in Purpose.objects.exclude(opt_out="")}
    for kind in OptOut:
        if kind not in found:
            with transaction.atomic():
                found[kind], _created = Purpose.objects.get_or_create(opt_out=kind, defaults=_DEFAULTS[kind])
    return [found[kind] for kind in OptOut if found[kind].active]


@dataclass(frozen=True)
class Choice:
    """One opt-out as the page shows it."""

    kind: str
    purpose: Purpose
    opted_out: bool
    since: datetime | None  # when the person (or their browser) opted out
    may_reask: bool  # the page may offer to opt back in

    @property
    def link_text(self) -> str:
        return str(OptOut(self.kind).label)


def privacy_choices(*, contact: Contact | None, browser: dict[str, datetime], gpc: bool) -> list[Choice]:
    """Each opt-out and whether this person (known contact) or browser (marks) opted out, since when,
    and whether they may be asked to opt back in (never while their browser sends GPC)."""
    purposes = opt_out_purposes()
    held = {}
    if contact is not None:
        held = {
            answer.purpose_id: answer.changed_at
            for answer in PurposeConsent.objects.filter(contact=contact, purpose__in=purposes, granted=False)
        }
    now = timezone.now()
    choices = []
    for purpose in purposes:
        moments = [m for m in (held.get(purpose.pk), browser.get(purpose.opt_out)) if m is not None]
        since = max(moments) if moments else None
        may_reask = (
            since is not None
            and not (gpc and purpose.opt_out in gpc_kinds())
            and reask_allowed(purpose.opt_out, opted_out_at=since, now=now)
        )
        choices.append(Choice(purpose.opt_out, purpose, since is not None, since, may_reask))
    return choices


def opt_outs_apply(*, contact: Contact, kinds: list[str], meta: RequestMeta, evidence: dict) -> list:
    """Record a known contact's opt-outs through the consent service (nothing for those already
    opted out); with email-level opt-out on, every contact sharing the address too."""
    purposes = [p for p in opt_out_purposes() if p.opt_out in kinds]
    with transaction.atomic():
        # Locked: a GPC page view and the form posted at once must not both write the same "no".
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        already = set(
            PurposeConsent.objects.filter(contact=contact, purpose__in=purposes, granted=False).values_list(
                "purpose_id", flat=True
            )
        )
        narrow = {"purposes": {p: False for p in purposes if p.pk not in already}}
        if not narrow["purposes"]:
            return []
        evidence = {**meta.evidence(), **evidence}
        records = consent_change(
            contact=contact, source=Source.SUBSCRIPTION_CENTER, evidence=evidence, **narrow
        )
        opt_out_siblings(contact, narrow=narrow, left=[], evidence=evidence)
    return records


def gpc_opt_out(*, contact: Contact, meta: RequestMeta, page: str) -> list:
    """A Global Privacy Control signal from a known contact: the opt-outs it stands for (CCPA regs
    §7025), recorded with its evidence: the header, the page it came with and the moment."""
    evidence = {"gpc": True, "header": "Sec-GPC: 1", "page": page, "at": timezone.now().isoformat()}
    return opt_outs_apply(contact=contact, kinds=gpc_kinds(), meta=meta, evidence=evidence)


def opt_in_request(*, contact: Contact, kind: str, meta: RequestMeta) -> ConsentRequest | None:
    """Opting back in asks for confirmation from the inbox (a two-step opt-in); refused (None) while
    the law's months without asking run, since only then does the page offer it."""
    choice = next(
        (c for c in privacy_choices(contact=contact, browser={}, gpc=False) if c.kind == kind), None
    )
    if choice is None or not choice.may_reask:
        return None
    with transaction.atomic():
        return consent_request_create(
            contact=contact, changes={"purposes": {choice.purpose.slug: True}}, origin="center", meta=meta
        )
