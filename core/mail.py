"""Messages built from templates: every email the product sends is a text body with an HTML
alternative, both from templates/emails/<template>.txt/.html, under the organisation's face
(logo or name and colour on top of the HTML) and with its details at the foot."""

import re
from contextlib import nullcontext

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from core.languages import mail_language
from core.links import absolute
from core.models import ComplianceSettings

_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)


def email_face() -> dict:
    """`brand` and `organisation` for an email: as on the public pages, but the logo by absolute
    address (a mail client has no page to resolve a path against)."""
    row = ComplianceSettings.load()
    brand = row.brand()
    if brand["logo_url"]:
        brand["logo_url"] = absolute(brand["logo_url"])
    return {"brand": brand, "organisation": row.organisation()}


def with_brand_header(html: str, face: dict) -> str:
    """`html` with the organisation's logo (or name) and colour on top: right after <body>, or
    first of all in a fragment (a journey's email)."""
    header = render_to_string("emails/_brand_header.html", face)
    if not header.strip():
        return html
    opened = _BODY_OPEN.search(html)
    if opened is None:
        return header + html
    return html[: opened.end()] + "\n" + header + html[opened.end() :]


def organisation_footer(face: dict) -> tuple[str, str]:
    """The organisation's details (GDPR Art. 13(1)(a)-(b)) and its privacy policy, as (text, HTML);
    empty when the officer has set none."""
    text = render_to_string("emails/_organisation.txt", face).strip()
    html = render_to_string("emails/_organisation.html", face)
    return (f"\n\n{text}\n" if text else ""), html


def _before_body_close(html: str, addition: str) -> str:
    closes = list(_BODY_CLOSE.finditer(html))
    if not closes:
        return html + addition
    at = closes[-1].start()
    return html[:at] + addition + html[at:]


def templated_message(
    *, subject: str, template: str, context: dict, to: str, language: str | None = None
) -> EmailMultiAlternatives:
    """A text email with an HTML alternative, both from templates/emails/<template>.txt/.html,
    branded, with the organisation's details at the foot of both.

    `language`: the recipient's (core.languages.mail_language); the bodies and a lazy subject are
    rendered in it. A subject formatted with % is already text: build it inside
    core.languages.in_language, as the callers do. None renders in the active language (staff mail).
    """
    with translation.override(mail_language(language)) if language else nullcontext():
        face = email_face()
        context = {**face, **context}
        footer_text, footer_html = organisation_footer(face)
        text = render_to_string(f"emails/{template}.txt", context)
        message = EmailMultiAlternatives(
            subject=str(subject),
            body=(text.rstrip("\n") + footer_text) if footer_text else text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
        )
        html = render_to_string(f"emails/{template}.html", context)
        message.attach_alternative(
            _before_body_close(with_brand_header(html, face), footer_html), "text/html"
        )
    return message
