"""Opens and clicks of journey emails, only where the contact allows tracking (ePrivacy Art. 5(3)).

A journey email to a contact whose tracking is allowed (consent.selectors: the tracking choice,
never a child, not restricted) sends the template's own links through /t/c/<token>/ and carries a
1x1 image /t/o/<token>.gif; everybody else gets the plain links and no image. A token is signed
and names the send (StepRun) and the TrackedLink row, never the target nor the person, so a forged
or altered token is refused and the redirect cannot be pointed anywhere else. The way-out links
(unsubscribe, preferences) and the forward link are never rewritten.

Whether a click counts is decided again when it comes: a contact who withdrew tracking, was
restricted or erased is still redirected but nothing is kept. Link scanners are not people: a
HEAD, a known scanner's user agent, or a "click" within TRACKING_PREFETCH_SECONDS of the send is
redirected and not counted. Each link of each email counts once, and so does each email's open.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from consent.selectors import is_eligible
from contacts.models import Contact
from core.levels import ConsentLevel
from core.links import absolute
from journeys.models import Interaction, StepRun, TrackedLink

logger = logging.getLogger(__name__)

CLICK_SALT = "journeys.track.click"
OPEN_SALT = "journeys.track.open"

# A link in an officer's plain-text template: up to whitespace or what cannot end a URL in prose.
URL = re.compile(r"https?://[^\s<>\"'{}]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]'\""
_valid_url = URLValidator(schemes=["http", "https"])
MAX_URL = TrackedLink._meta.get_field("url").max_length  # a longer link stays as written

# User agents of mail security scanners and other machines that fetch every link of a message.
SCANNER_AGENTS = re.compile(
    r"bot\b|crawl|spider|slurp|preview|scan|barracuda|proofpoint|mimecast|urldefense|safelinks|"
    r"ironport|forcepoint|trend ?micro|fortiguard|sophos|zscaler|symantec|messagelabs|headless|"
    r"python-requests|python-urllib|go-http-client|java/|okhttp|libwww|wget|curl/|httpclient",
    re.IGNORECASE,
)

# The smallest transparent GIF (43 bytes).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def may_track(contact_id: int | None) -> bool:
    """May this contact's opens and clicks be kept? The eligibility selector's tracking rule
    (the tracking choice; never a child; never while restricted), checked in the database."""
    if contact_id is None:
        return False
    contact = Contact.objects.filter(pk=contact_id).first()
    return contact is not None and is_eligible(contact, min_level=ConsentLevel.NONE, needs_tracking=True)


def template_links(body: str) -> list[str]:
    """The links `body` (a template's text, before any placeholder is filled) writes out in full,
    in order, each once. A link with a placeholder in it is not one: it is never tracked."""
    found = []
    for match in URL.finditer(body):
        url = match.group(0).rstrip(_TRAILING)
        if body[match.end() : match.end() + 2] == "{{" or url in found or len(url) > MAX_URL:
            continue
        try:
            _valid_url(url)
        except ValidationError:
            continue
        found.append(url)
    return found


def url_spans(body: str):
    """(start, end, url) of each link template_links finds, as it stands in `body`."""
    links = set(template_links(body))
    for match in URL.finditer(body):
        url = match.group(0).rstrip(_TRAILING)
        if url in links and body[match.end() : match.end() + 2] != "{{":
            yield match.start(), match.start() + len(url), url


class Tracker:
    """The tracked links and the open image of one send (a StepRun) of one template."""

    def __init__(self, *, template, send_id: int):
        self.template, self.send_id = template, send_id

    def click_url(self, url: str) -> str:
        link, _created = TrackedLink.objects.get_or_create(template=self.template, url=url)
        token = signing.dumps([self.send_id, link.pk], salt=CLICK_SALT)
        return absolute(reverse("journeys:click", args=[token]))

    def open_url(self) -> str:
        token = signing.dumps(self.send_id, salt=OPEN_SALT)
        return absolute(reverse("journeys:open", args=[token]))


def _as_id(value) -> int | None:
    """A row id, or None for anything else (a bool, a float, a number no column holds)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < 2**63 else None


def click_find(token: str) -> tuple[int, TrackedLink] | None:
    """(send id, link) a click token names, or None when it is forged, altered or names no link of
    the send's template (a token is never an instruction to redirect anywhere)."""
    try:
        send_id, link_id = signing.loads(token, salt=CLICK_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    send_id, link_id = _as_id(send_id), _as_id(link_id)
    if send_id is None or link_id is None:
        return None
    link = TrackedLink.objects.filter(pk=link_id).first()
    if link is None:
        return None
    template_id = StepRun.objects.filter(pk=send_id).values_list("step__template", flat=True).first()
    if template_id is not None and template_id != link.template_id:
        return None  # a valid send and a valid link, but not of one email
    return send_id, link


def open_find(token: str) -> int | None:
    try:
        return _as_id(signing.loads(token, salt=OPEN_SALT))
    except (signing.BadSignature, ValueError):
        return None


def _send(send_id: int) -> StepRun | None:
    return StepRun.objects.select_related("enrolment").filter(pk=send_id).first()


def prefetch_reason(*, method: str, user_agent: str | None, sent_at: datetime | None, now: datetime) -> str:
    """Why a click looks like a machine's and is not counted ("" when it looks like a person's).
    `user_agent` None: not known (a provider's report without one), so not held against it."""
    if method != "GET":
        return "not a GET"
    if user_agent is not None and (not user_agent.strip() or SCANNER_AGENTS.search(user_agent)):
        return "scanner user agent"
    if sent_at is not None and now - sent_at < timedelta(seconds=settings.TRACKING_PREFETCH_SECONDS):
        return "too soon after sending"
    return ""


def _record(*, contact_id: int, kind: str, detail: str, at: datetime) -> Interaction | None:
    # journeys.services.scoring keeps it only with tracking allowed (the selector again, now).
    from journeys.services.scoring import interaction_record

    with transaction.atomic():
        # The contact's row lock: two clicks at once (a double click, the provider's report and
        # our redirect) must not both find no earlier one and both count.
        contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
        if contact is None:
            return None
        if Interaction.objects.filter(contact=contact, kind=kind, detail=detail[:300]).exists():
            return None  # counted once per email (and per link)
        return interaction_record(contact=contact, kind=kind, at=at, detail=detail)


def click_record(
    *, send_id: int, link: TrackedLink, method: str = "GET", user_agent: str = "", now=None
) -> Interaction | None:
    """Keep a click as an interaction (which lead scoring counts) when it is a person's and the
    contact still allows tracking; else keep nothing. The redirect happens either way."""
    now = now or timezone.now()
    send = _send(send_id)
    if send is None or send.enrolment.contact_id is None:
        return None  # the journey was deleted or the person erased
    sent_at = send.done_at or send.claimed_at
    reason = prefetch_reason(method=method, user_agent=user_agent, sent_at=sent_at, now=now)
    if reason:
        logger.info("email click not counted: %s", reason, extra={"send": send_id, "link": link.pk})
        return None
    return _record(
        contact_id=send.enrolment.contact_id,
        kind=Interaction.Kind.EMAIL_CLICK,
        detail=f"send {send_id}: {link.url}",
        at=now,
    )


def open_record(*, send_id: int, method: str = "GET", now=None) -> Interaction | None:
    """Keep the email's first open when the contact still allows tracking. An open is only that:
    a mail client showing images, not an action; it never counts as a click."""
    send = _send(send_id)
    if method != "GET" or send is None or send.enrolment.contact_id is None:
        return None
    return _record(
        contact_id=send.enrolment.contact_id,
        kind=Interaction.Kind.EMAIL_OPEN,
        detail=f"send {send_id}",
        at=now or timezone.now(),
    )


def provider_event_record(
    *,
    kind: str,
    send_id,
    recipient: str,
    click_url: str = "",
    user_agent: str | None = None,
    machine: bool = False,
    at: datetime | None = None,
) -> Interaction | None:
    """An open or click the email provider reports (mailsignals), kept as ours would be: only for
    a send we tracked (its id travels in the message's metadata; the provider tracks opens of
    nothing else and clicks of nothing, journeys.emails, but an account may force them on), only
    when the recipient is still that send's contact and still allows tracking, and a click only on
    a link we track and when it looks like a person's (`machine`: the provider says a robot
    fetched it). The same open or link counts once, whoever reports it."""
    send_id = _as_id(send_id)
    if send_id is None:
        return None
    send = StepRun.objects.select_related("enrolment__contact", "step").filter(pk=send_id).first()
    contact = send.enrolment.contact if send is not None else None
    if contact is None or not contact.email or contact.email != recipient:
        return None
    now = at or timezone.now()
    if kind == Interaction.Kind.EMAIL_OPEN:
        return _record(contact_id=contact.pk, kind=kind, detail=f"send {send_id}", at=now)
    link = _tracked_link(send, click_url)
    if link is None or machine:
        return None
    sent_at = send.done_at or send.claimed_at
    if prefetch_reason(method="GET", user_agent=user_agent, sent_at=sent_at, now=now):
        return None
    return _record(contact_id=contact.pk, kind=kind, detail=f"send {send_id}: {link.url}", at=now)


def _tracked_link(send: StepRun, click_url: str) -> TrackedLink | None:
    """The send's tracked link a provider's click names: our redirect (when the provider wrapped
    it) or the target itself; None for any other link (the way out is never counted)."""
    path = urlsplit(click_url or "").path
    prefix = reverse("journeys:click", args=["x"])[: -len("x/")]
    if path.startswith(prefix):
        found = click_find(path[len(prefix) :].rstrip("/"))
        return found[1] if found is not None and found[0] == send.pk else None
    return TrackedLink.objects.filter(template_id=send.step.template_id, url=click_url).first()
