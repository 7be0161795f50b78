"""The request page's view of its clock (dsr.clocks): the law, and each date it sets."""

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from dsr.clocks import answer_due


def _day(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d") if moment else "—"


def due_both_ways(obj) -> str:
    """The answer deadline under the request's law counted from receipt and from verification."""
    law = obj.clock.law
    return _("%(receipt)s from receipt; %(verification)s from verification") % {
        "receipt": _day(answer_due(law, obj.received_at)),
        "verification": _day(answer_due(law, obj.verified_at)) if obj.verified_at else _("not verified yet"),
    }


def clock_panel(obj) -> str:
    """The law and its dates: acknowledgement, answer, and until when an extension may be announced."""
    clock = obj.clock
    law = clock.law
    rows = [
        (_("law"), f"{law.name} — {law.answer_source}"),
        (
            _("acknowledge by"),
            _day(clock.acknowledge_by) if clock.acknowledge_by else _("no separate acknowledgement"),
        ),
        (_("answer due"), _day(clock.due_at)),
    ]
    if clock.extension_latest is None:
        rows.append((_("extension"), _("not allowed under this law")))
    else:
        rows.append(
            (
                _("extension"),
                _("announce by %(announce)s, to %(latest)s at the latest")
                % {"announce": _day(clock.extension_announce_by), "latest": _day(clock.extension_latest)},
            )
        )
    return format_html(
        '<dl class="request-clock">{}</dl>', format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows)
    )
