"""The "downstream systems" line on a contact's and a request's admin page."""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode

from webhooks.selectors import acknowledgements


def downstream_panel(*, subjects: list[str]) -> str:
    """Which system confirmed the events about these subjects, with a link to the deliveries."""
    url = reverse("admin:webhooks_delivery_changelist")
    return render_to_string(
        "admin/webhooks/acknowledgements.html",
        {
            "rows": acknowledgements(subjects=subjects),
            "links": [(s, f"{url}?{urlencode({'q': s})}") for s in subjects],
        },
    )
