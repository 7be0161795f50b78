"""What a request asks and whom it is about, where its assignee looks: the request's page (the
linked contacts' links) and the queue (a preview of the requester's comment and those links,
folded so the queue's columns still fit without scrolling sideways)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

PREVIEW_CHARS = 300


def _contact_links(obj, label=str):
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("admin:contacts_contact_change", args=[c.pk]), label(c)) for c in obj.contacts.all()),
    )


class RequestDetailsMixin:
    """Columns and fields of DataSubjectRequestAdmin; the queryset prefetches `contacts`."""

    @admin.display(description=_("contacts"))
    def linked_contacts(self, obj):
        return _contact_links(obj) or "—"

    @admin.display(description=_("authorised agent"))
    def authorised_agent(self, obj):
        authority = getattr(obj, "agent", None)
        if authority is None:
            return _("None: made by the person themselves.")
        proof = reverse("admin:dsr_datasubjectrequest_agent_proof", args=[obj.pk])
        return format_html(
            '{} &lt;{}&gt; · <a href="{}">{}</a> ({}) · <strong class="agent-state">{}</strong>',
            authority.agent_name,
            authority.agent_email,
            proof,
            _("proof of authority"),
            authority.proof_name,
            authority.get_state_display(),
        )

    @admin.display(description=_("preview"))
    def preview(self, obj):
        comment = Truncator(obj.details.strip()).chars(PREVIEW_CHARS) or _("No comment.")
        # Ids only in the queue: the names are one click away, on the request's page.
        contacts = _contact_links(obj, label=lambda c: f"#{c.pk}") or _("none yet")
        authority = getattr(obj, "agent", None)  # select_related by the queue's queryset
        agent = (
            format_html("<div>{} {}</div>", _("Made by an authorised agent:"), authority.get_state_display())
            if authority is not None
            else ""
        )
        return format_html(
            "{}"
            '<details class="request-preview"><summary>{}</summary>'
            '<div style="max-width:32em;white-space:pre-wrap">{}</div>'
            "<div>{} {}</div></details>",
            agent,
            _("Comment and contacts"),
            comment,
            _("Contacts:"),
            contacts,
        )
