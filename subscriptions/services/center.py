"""The subscription center's writing: a visitor's choices, applied or turned into a request.

Rule: what narrows processing (lower level, "no", unsubscribe, refusing tracking) applies at once;
what widens it (higher level, new "yes", new subscription, allowing tracking, a new email address)
waits in a ConsentRequest until the contact confirms it from their inbox. Consent itself is
written only by consent.services.consent_change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Source
from consent.services import consent_change
from contacts.activity import last_actions_record
from contacts.models import Contact
from contacts.services import contact_language_set, contact_update
from core.levels import ConsentLevel
from core.normalize import normalize_email
from subscriptions.models import ConsentRequest, SubscriptionList
from subscriptions.services.center_read import (
    CenterPage,
    Waiting,
    center_page,
    current_state,
    waiting_of,
)
from subscriptions.services.double_opt_in import consent_request_create
from subscriptions.services.opt_out import opt_out_siblings
from subscriptions.services.records import RequestMeta, Status, subscription_set, wording_current


@dataclass
class CenterOutcome:
    """What a saved center form did: the lines saying what applied now, the lists left (each can
    be undone), and the request (if any) holding what waits for confirmation."""

    applied: list[str] = field(default_factory=list)
    left: list[SubscriptionList] = field(default_factory=list)
    request: ConsentRequest | None = None
    # A new language for pages and emails: not consent, so never one of the `applied` lines.
    language_changed: bool = False

    @property
    def waiting(self) -> Waiting | None:
        return waiting_of(self.request) if self.request else None


def center_show(*, contact: Contact, meta: RequestMeta, gpc: bool) -> CenterPage:
    """A visit to the center (GET): a Global Privacy Control signal is honoured first."""
    gpc_applied = gpc and gpc_honour(contact=contact, meta=meta)
    if gpc_applied:
        contact.refresh_from_db()
    return center_page(contact, gpc=gpc, gpc_applied=gpc_applied)


def center_submit(*, contact: Contact, data, meta: RequestMeta, gpc: bool) -> CenterPage:
    """The center's form posted: apply it if it is valid and the rules allow it (page.saved says
    what happened); otherwise the page carries the form with its errors and nothing changed."""
    page = center_page(contact, gpc=gpc, data=data)
    if page.form.is_valid():
        try:
            with transaction.atomic():
                page.saved = preferences_update(contact=contact, **page.form.choices(), meta=meta, gpc=gpc)
                # The person sent their own form: a real action, whatever it changed.
                last_actions_record(moments={contact.pk: timezone.now()})
                # Only a form that offered the choice changes it (an older page posts none).
                if "language" in data:
                    page.saved.language_changed = contact_language_set(
                        contact=contact,
                        language=page.form.cleaned_data["language"],
                        reason="subscription center",
                    )
        except ValidationError as error:
            page.saved = None
            page.form.add_error(None, error)
    return page


def preferences_update(
    *,
    contact: Contact,
    level: int,
    purposes: dict[str, bool],
    lists: set[int],
    tracking: bool,
    profile: dict,
    meta: RequestMeta,
    gpc: bool = False,
) -> CenterOutcome:
    """Apply narrowing choices now and turn widening ones into one double opt-in request.

    With a Global Privacy Control signal (`gpc`), tracking and profiling are refused and cannot be
    asked for in the same visit. Opt-outs reach every contact sharing the email address when the
    compliance setting says so.
    """
    outcome = CenterOutcome()
    if gpc:
        tracking = False
        level = min(level, ConsentLevel.MARKETING)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        state = current_state(contact)
        evidence = {**meta.evidence(), "page": "subscription center", "wording": wording_current().digest}
        if gpc:
            evidence["gpc"] = True
        narrow, widen = _consent_split(state, level=level, purposes=purposes, tracking=tracking)
        if narrow:
            consent_change(contact=contact, source=Source.SUBSCRIPTION_CENTER, evidence=evidence, **narrow)
            outcome.applied.append(_("Your consent was narrowed as you asked."))
        joining = _lists_leave(
            contact, state=state, narrow=narrow, kept=lists, evidence=evidence, outcome=outcome
        )
        if joining:
            widen["lists"] = joining
        _profile_update(contact, profile=profile, widen=widen, outcome=outcome)
        if widen:
            outcome.request = consent_request_create(
                contact=contact, changes=widen, origin="center", meta=meta
            )
    return outcome


def _consent_split(
    state: dict, *, level: int, purposes: dict[str, bool], tracking: bool
) -> tuple[dict, dict]:
    """The consent choices that narrow (consent_change arguments) and those that widen (a request)."""
    narrow: dict = {}
    widen: dict = {}
    if level < state["level"]:
        narrow["level"] = level
    elif level > state["level"]:
        widen["level"] = level
    for slug, granted in purposes.items():
        held = state["purposes"].get(slug)
        if granted and held is not True:
            widen.setdefault("purposes", {})[slug] = True
        elif not granted and held is not False:
            narrow.setdefault("purposes", {})[slug] = False
    if not tracking and state["tracking"]:
        narrow["tracking_allowed"] = False
    elif tracking and not state["tracking"]:
        widen["tracking"] = True
    return narrow, widen


def _lists_leave(
    contact: Contact, *, state: dict, narrow: dict, kept: set[int], evidence: dict, outcome: CenterOutcome
) -> list[int]:
    """Leave the lists not kept, now; return the lists to join, which wait for confirmation."""
    new_level = narrow.get("level", state["level"])
    active = {lst.pk: lst for lst in SubscriptionList.objects.filter(active=True)}
    held = (state["lists"] | state["pending_lists"]) & set(active)
    # The form offers public lists only: an unticked box leaves one of those, never a list the
    # page did not show. A lower level also ends the subscriptions that need more than it allows.
    unticked = [pk for pk in held if active[pk].public and pk not in kept]
    too_low = [pk for pk in held if "level" in narrow and active[pk].min_level > new_level]
    for list_id in sorted(set(unticked) | set(too_low), key=lambda pk: active[pk].shown_name):
        subscription_set(
            contact=contact,
            subscription_list=active[list_id],
            status=Status.UNSUBSCRIBED,
            source=Source.SUBSCRIPTION_CENTER,
        )
        outcome.applied.append(_("You left “%(list)s”.") % {"list": active[list_id].shown_name})
        if active[list_id].public:  # the center can offer these back (subscriptions.services.rejoin)
            outcome.left.append(active[list_id])
    opt_out_siblings(contact, narrow=narrow, left=unticked, evidence=evidence)
    return sorted((set(kept) & {pk for pk, lst in active.items() if lst.public}) - state["lists"])


def _profile_update(contact: Contact, *, profile: dict, widen: dict, outcome: CenterOutcome) -> None:
    """Update the changed details now; a new email address waits for confirmation (in `widen`)."""
    profile = {key: value for key, value in profile.items() if getattr(contact, key) != value}
    new_email = profile.pop("email", None)
    if new_email is not None:
        new_email = normalize_email(new_email)
        if new_email != contact.email:
            widen["email"] = new_email
    if profile:
        contact_update(contact=contact, reason="subscription center", **profile)
        outcome.applied.append(_("Your details were updated."))


def gpc_honour(*, contact: Contact, meta: RequestMeta) -> bool:
    """Global Privacy Control (Sec-GPC: 1) is a refusal of tracking and profiling, recorded as such."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        changes = {}
        if contact.tracking_allowed:
            changes["tracking_allowed"] = False
        if contact.consent_given > ConsentLevel.MARKETING:
            changes["level"] = ConsentLevel.MARKETING
        if not changes:
            return False
        evidence = {**meta.evidence(), "gpc": True, "page": "subscription center"}
        consent_change(contact=contact, source=Source.SUBSCRIPTION_CENTER, evidence=evidence, **changes)
        opt_out_siblings(contact, narrow=changes, left=[], evidence=evidence)
    return True
