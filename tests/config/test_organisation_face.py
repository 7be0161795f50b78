"""The organisation's own face (issue 18, scope 6): logo, colour and privacy policy address, set by
the privacy officer in the compliance settings, refused when unsafe or unreadable, and shown on
every public page and in every email (received over real SMTP)."""

import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from core.models import ComplianceSettings
from subscriptions.services import center_link_send
from tests.admin_helpers import SETTINGS_FORM
from tests.factories import ContactFactory
from tests.images import HTML, SVG, image_bytes

pytestmark = pytest.mark.django_db

SETTINGS_URL = reverse("admin:core_compliancesettings_change", args=[1])
PUBLIC_PAGES = [
    reverse("subscriptions:center"),
    reverse("subscriptions:center-link-request"),
    reverse("dsr:request"),
]
# The rest of the settings form as the browser posts it (the values a new installation has).
FORM = {
    **SETTINGS_FORM,
    "organisation_name": "Contoso Ltd",
}


def upload(content: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_logos(settings) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "branding"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def header(html: str) -> str:
    return html.split("<header>")[1].split("</header>")[0]


def footer(html: str) -> str:
    return html.split("<footer>")[1]


@pytest.fixture
def officer(client_as, privacy_officer):
    ComplianceSettings.load()
    return client_as(privacy_officer)


@pytest.fixture
def face(settings):
    """The officer's choices, saved as the admin saves them."""
    row = ComplianceSettings.load()
    row.organisation_name = "Contoso & Sons"
    row.brand_colour = "#6a1b9a"
    row.privacy_policy_url = "https://contoso.example/privacy?lang=en&v=2"
    row.logo = ContentFile(image_bytes(), name="whatever.png")
    row.full_clean()
    row.save()
    return row


# --- The officer sets it; the admin refuses what is unsafe or unreadable and saves nothing ---------


def test_the_officer_sets_logo_colour_and_policy_and_every_public_page_shows_them(officer, client, settings):
    logo = image_bytes("WEBP")
    response = officer.post(
        SETTINGS_URL,
        {
            **FORM,
            "brand_colour": "#6a1b9a",
            "privacy_policy_url": "https://contoso.example/privacy",
            "logo": upload(logo, "our logo.webp", "image/webp"),
        },
    )
    assert response.status_code == 302
    (stored,) = stored_logos(settings)
    assert stored.suffix == ".webp" and "our logo" not in stored.name  # the name is ours, not the upload's

    for url in PUBLIC_PAGES:
        html = client.get(url).content.decode()
        top = header(html)
        assert "<style>:root { --accent: #6a1b9a; }</style>" in html
        assert '<body class="branded">' in html  # the colour bar above the header
        assert f'<img class="logo" src="/organisation/logo/{stored.name}" alt="">' in top
        assert '<span class="org">Contoso Ltd</span>' in top  # the name, which the logo's alt need not repeat
        assert '<a href="https://contoso.example/privacy">Privacy policy</a>' in footer(html)

    image = client.get(f"/organisation/logo/{stored.name}")
    assert image.status_code == 200 and image.content == logo
    assert image["Content-Type"] == "image/webp"
    assert image["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in image["Cache-Control"] and "public" in image["Cache-Control"]


def test_with_nothing_set_the_pages_keep_the_products_own_look(client):
    html = client.get(reverse("subscriptions:center")).content.decode()
    assert "<style>" not in html and "<img" not in header(html) and "branded" not in html
    assert "Your privacy choices" in header(html)
    assert "Privacy policy" not in footer(html)


@pytest.mark.parametrize(
    ("colour", "message"),
    [
        (
            "#ff0000",
            "White text on the colour (buttons) has a contrast of 3.99:1; WCAG 2.2 AA needs at least 4.5:1.",
        ),
        (
            "#f0a000",
            "The colour as focus outline and border on white has a contrast of 2.15:1; WCAG 2.2 AA needs "
            "at least 3:1.",
        ),
        ("#fff", "Enter the colour as # and six hexadecimal digits, for example #0b5394."),
    ],
)
def test_a_low_contrast_colour_is_refused_with_its_ratio_and_nothing_is_saved(
    officer, client, colour, message
):
    response = officer.post(SETTINGS_URL, {**FORM, "brand_colour": colour})
    assert response.status_code == 200
    assert message in response.content.decode()
    row = ComplianceSettings.load()
    assert row.brand_colour == "" and row.organisation_name == ""  # the whole form, not just the colour
    assert "<style>" not in client.get(reverse("subscriptions:center")).content.decode()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (SVG, "logo.svg", "The logo must be a PNG, JPEG or WebP image"),
        (SVG, "logo.png", "SVG included (it can carry scripts)"),  # the name does not make it an image
        (HTML, "logo.png", "The logo must be a PNG, JPEG or WebP image"),
        (b"GIF89a" + bytes(64), "logo.gif", "The logo must be a PNG, JPEG or WebP image"),
        (image_bytes()[:60], "logo.png", "The logo must be a PNG, JPEG or WebP image"),  # cut short
        (image_bytes("PNG", (700, 700), noise=True), "logo.png", "; it may be at most 512 KB."),
        (image_bytes("PNG", (2400, 100)), "logo.png", "2400 × 100 pixels; it may be at most 2000 × 2000"),
    ],
    ids=["svg", "svg-named-png", "html-named-png", "gif", "truncated-png", "too-many-bytes", "too-wide"],
)
def test_a_logo_that_is_not_an_accepted_image_or_too_big_is_refused_and_nothing_is_saved(
    officer, settings, content, name, message
):
    response = officer.post(SETTINGS_URL, {**FORM, "logo": upload(content, name)})
    assert response.status_code == 200
    assert message in response.content.decode()
    row = ComplianceSettings.load()
    assert not row.logo and row.organisation_name == ""
    assert stored_logos(settings) == []  # no file written either


def test_a_png_named_svg_is_judged_by_its_content_and_served_as_png(officer, client, settings):
    assert (
        officer.post(
            SETTINGS_URL, {**FORM, "logo": upload(image_bytes(), "logo.svg", "image/svg+xml")}
        ).status_code
        == 302
    )
    (stored,) = stored_logos(settings)
    assert stored.suffix == ".png"
    assert client.get(f"/organisation/logo/{stored.name}")["Content-Type"] == "image/png"


@pytest.mark.parametrize("address", ["http://contoso.example/privacy", "javascript:alert(1)", "contoso"])
def test_a_privacy_policy_address_that_is_not_https_is_refused(officer, address):
    response = officer.post(SETTINGS_URL, {**FORM, "privacy_policy_url": address})
    assert response.status_code == 200
    assert "Enter an https:// address." in response.content.decode() or "Enter a valid URL." in (
        response.content.decode()
    )
    assert ComplianceSettings.load().privacy_policy_url == ""


def test_the_logo_is_served_only_under_its_current_name_and_never_as_anything_but_an_image(
    face, client, settings
):
    current = Path(face.logo.name).name
    assert client.get(f"/organisation/logo/{current}").status_code == 200
    assert client.get("/organisation/logo/logo-0000000000000000.png").status_code == 404
    assert client.get("/organisation/logo/..%2F..%2Fsettings.py").status_code == 404
    # A file that reached the folder by another way than the form (a restore, a shell) is not sent.
    face.logo.save("x", ContentFile(HTML), save=False)
    ComplianceSettings.objects.filter(pk=1).update(logo=face.logo.name)
    response = client.get(f"/organisation/logo/{Path(face.logo.name).name}")
    assert response.status_code == 404 and b"<script>" not in response.content


# --- Who may change it --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["marketer", "auditor", "outsider"])
def test_only_the_privacy_officer_may_change_the_organisations_face(client_as, request, settings, persona):
    ComplianceSettings.load()
    response = client_as(request.getfixturevalue(persona)).post(
        SETTINGS_URL,
        {
            **FORM,
            "brand_colour": "#6a1b9a",
            "privacy_policy_url": "https://evil.example/",
            "logo": upload(image_bytes()),
        },
    )
    assert response.status_code == 403
    row = ComplianceSettings.load()
    assert (row.brand_colour, row.privacy_policy_url, row.logo.name) == ("", "", "")
    assert stored_logos(settings) == []


# --- Emails, received over real SMTP ---------------------------------------------------------------


def _bodies(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    return text, message.get_body(preferencelist=("html",)).get_content()


def test_a_transactional_email_carries_the_logo_colour_name_and_policy(face, smtp_server, settings):
    settings.PUBLIC_BASE_URL = "https://privacy.contoso.example"
    ContactFactory(email="holly@contoso.com")
    assert center_link_send(email="holly@contoso.com") == 1

    (received,) = smtp_server.messages
    text, html = _bodies(received)
    logo = f"https://privacy.contoso.example/organisation/logo/{Path(face.logo.name).name}"
    assert f'<img src="{logo}" alt="Contoso &amp; Sons"' in html
    assert "border-top:6px solid #6a1b9a" in html and "background:#6a1b9a" in html  # header and button
    assert '<a href="https://contoso.example/privacy?lang=en&amp;v=2">Privacy policy</a>' in html
    assert "\n--\nContoso & Sons\n" in text
    assert "Privacy policy: https://contoso.example/privacy?lang=en&v=2" in text
    # The logo an email points at is there to be fetched.
    assert Client().get(logo.removeprefix("https://privacy.contoso.example")).status_code == 200


def test_a_journey_email_carries_the_logo_and_the_policy_in_its_way_out(face, smtp_server):
    from journeys.emails import journey_email
    from journeys.models import EmailTemplate

    template = EmailTemplate.objects.create(name="Hello", subject="Hi", body="Dear {{ first_name }}, news.")
    journey_email(template=template, contact=ContactFactory(first_name="Ada")).send()

    (received,) = smtp_server.messages
    text, html = _bodies(received)
    assert re.search(
        r'<img src="http://[^"]+/organisation/logo/logo-[0-9a-f]{16}\.png" alt="Contoso &amp; Sons"', html
    )
    assert html.index("<img") < html.index("Dear Ada")  # on top
    assert '· <a href="https://contoso.example/privacy?lang=en&amp;v=2">Privacy policy</a>' in html
    assert "Contoso & Sons" in text
    assert "Privacy policy: https://contoso.example/privacy?lang=en&v=2" in text


def test_with_nothing_set_an_email_keeps_its_own_look(smtp_server):
    ContactFactory(email="holly@contoso.com")
    center_link_send(email="holly@contoso.com")
    (received,) = smtp_server.messages
    text, html = _bodies(received)
    assert "<img" not in html and "border-top" not in html and "Privacy policy" not in html
    assert "background:#0b5394" in html  # the product's own button colour
    assert "\n--\n" not in text


def test_the_settings_page_shows_the_current_logo_at_its_public_address(face, officer):
    form = officer.get(SETTINGS_URL).content.decode()
    assert f'href="/organisation/logo/{Path(face.logo.name).name}"' in form
    assert 'accept="image/png,image/jpeg,image/webp"' in form


def test_saving_other_settings_keeps_the_logo_even_if_its_file_went_missing(face, officer):
    stored = face.logo.name
    assert officer.post(SETTINGS_URL, {**FORM, "brand_colour": "#6a1b9a"}).status_code == 302
    assert ComplianceSettings.load().logo.name == stored
    face.logo.storage.delete(stored)  # lost in a restore, say
    response = officer.post(SETTINGS_URL, {**FORM, "brand_colour": "#1b1b1b"})
    assert response.status_code == 302
    assert ComplianceSettings.load().brand_colour == "#1b1b1b"
