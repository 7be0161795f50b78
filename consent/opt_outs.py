"""Opt-out rights as data: each kind is a purpose that is processed until the person says no.

The CCPA/CPRA gives Californians two of them, offered under fixed wording (Cal. Civ. Code
§1798.135(a)): the opt-out of sale or sharing, and the limit on using sensitive personal
information. A purpose marked with a kind (Purpose.opt_out) needs no yes; its "no" (a
PurposeConsent with granted=False, written by consent.services) also stops every purpose that
names it in Purpose.stopped_by. A new law's opt-out is a new member here, not a code branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _


class OptOut(models.TextChoices):
    # The labels are the link wording the law requires (Cal. Civ. Code §1798.135(a)(1)-(2)).
    SALE_SHARING = "sale_sharing", _("Do Not Sell or Share My Personal Information")
    SENSITIVE = "sensitive", _("Limit the Use of My Sensitive Personal Information")


@dataclass(frozen=True)
class OptOutRule:
    # A Global Privacy Control signal is a valid request to opt out of this (CCPA regs §7025(a)).
    gpc: bool
    # No asking to opt back in for this long after an opt-out (Cal. Civ. Code §1798.135(c)(4)).
    no_reask_months: int


OPT_OUT_RULES: dict[str, OptOutRule] = {
    OptOut.SALE_SHARING: OptOutRule(gpc=True, no_reask_months=12),
    OptOut.SENSITIVE: OptOutRule(gpc=False, no_reask_months=12),
}


def gpc_kinds() -> list[str]:
    """The opt-outs a Global Privacy Control signal expresses."""
    return [kind for kind, rule in OPT_OUT_RULES.items() if rule.gpc]


def reask_allowed(kind: str, *, opted_out_at: datetime, now: datetime) -> bool:
    """Whether the person may be asked to opt back in: not before the law's months have passed."""
    from consent.retention import add_months  # the calendar-month arithmetic used for retention

    return now >= add_months(opted_out_at, OPT_OUT_RULES[kind].no_reask_months)
