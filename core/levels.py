"""The consent hierarchy, 0 to 5. A higher level includes every lower one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ConsentLevel(models.IntegerChoices):
    NONE = 0, _("None")
    CONSENT = 1, _("Consent")
    TRANSACTIONAL = 2, _("Transactional")
    SUBSCRIPTIONS = 3, _("Subscriptions")
    MARKETING = 4, _("Marketing")
    PROFILING = 5, _("Profiling")


DESCRIPTIONS = {
    ConsentLevel.NONE: _("We keep your record but contact you about nothing and use it for nothing."),
    ConsentLevel.CONSENT: _(
        "We may keep the record of what you agreed to, and contact you about your consent."
    ),
    ConsentLevel.TRANSACTIONAL: _("We may send messages needed for things you asked for (orders, receipts)."),
    ConsentLevel.SUBSCRIPTIONS: _("We may send the newsletters and lists you subscribed to."),
    ConsentLevel.MARKETING: _("We may send you offers and campaigns."),
    ConsentLevel.PROFILING: _("We may analyse your interactions to personalise and score what we send you."),
}

# GDPR Art. 8 and Recital 71: profiling of children is not allowed, whatever anyone consents to.
CHILD_MAXIMUM = ConsentLevel.MARKETING


def includes(held: int, required: int) -> bool:
    """True when a contact holding `held` may be processed for something needing `required`."""
    return int(held) >= int(required)


def describe(level: int) -> str:
    return str(DESCRIPTIONS[ConsentLevel(level)])
