"""Events of changes made below this layer (contacts.services) that announce themselves by signal."""

from __future__ import annotations

from datetime import date

from contacts.signals import profile_changed
from webhooks.models import EventType
from webhooks.outbox import News, events_publish


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def profile_news(sender, *, contact, changes: dict, **kwargs) -> None:
    """GDPR Art. 19: a restriction, its lifting and every rectification reach downstream systems."""
    news = []
    if "processing_restricted" in changes:
        restricted = changes["processing_restricted"][1]
        kind = EventType.RESTRICTED if restricted else EventType.RESTRICTION_LIFTED
        news.append(News(kind, contact.pk, {"contact": {"id": contact.pk}}))
    corrected = {
        name: {"old": _plain(old), "new": _plain(new)}
        for name, (old, new) in sorted(changes.items())
        if name != "processing_restricted"
    }
    if corrected:
        news.append(
            News(EventType.RECTIFIED, contact.pk, {"contact": {"id": contact.pk}, "changes": corrected})
        )
    events_publish(news)


def connect() -> None:
    profile_changed.connect(profile_news, dispatch_uid="webhooks.profile_news")
