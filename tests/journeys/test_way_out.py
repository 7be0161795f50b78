"""Every journey email carries its way out (issue 18, scope 1): a visible unsubscribe link and a
manage-preferences link in its text and HTML bodies, received over real SMTP and followed over
HTTP; mail of a journey without a list stops all marketing; mail without a way out never leaves."""

import logging
import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentChange, PurposeConsent, Source
from consent.services import consent_change
from journeys.models import EmailTemplate, Enrolment, StepRun
from journeys.services import journeys_run
from subscriptions.emails import ListEmailMessage, NoWayOut
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import subscription_set
from tests.factories import make_journey

pytestmark = pytest.mark.django_db


def path(url: str) -> str:
    return urlparse(url).path


def bodies(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text.replace("\r\n", "\n"), html


def labelled(text: str, label: str) -> str:
    """The URL on the text body's line that starts with `label`."""
    found = re.findall(rf"^{re.escape(label)} (https?://\S+)$", text, flags=re.MULTILINE)
    assert len(found) == 1, f"{label!r} in {text!r}"
    return found[0]


def test_a_list_journeys_welcome_email_shows_working_unsubscribe_and_preferences_links(member, smtp):
    news = SubscriptionList.objects.create(name="News", slug="news")
    make_journey(steps=("email",), subscription_list=news)
    anna = member()
    subscription_set(contact=anna, subscription_list=news, status="subscribed", source="import")

    journeys_run(now=timezone.now())

    (received,) = smtp.messages
    text, html = bodies(received)
    unsubscribe = labelled(text, "Unsubscribe:")
    preferences = labelled(text, "Manage your preferences:")
    assert f'href="{unsubscribe}"' in html and f'href="{preferences}"' in html
    assert "Stop all marketing" not in text  # a list's mail leaves the list, not everything
    assert received["List-Unsubscribe"] == f"<{unsubscribe}>"  # the RFC 8058 header, one link
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    browser = Client(enforce_csrf_checks=True)
    entry = browser.get(path(preferences))
    assert entry.status_code == 302
    center = browser.get(entry["Location"])
    assert center.status_code == 200 and "Your subscription center" in center.content.decode()

    page = browser.get(path(unsubscribe))
    assert page.status_code == 200 and "Unsubscribe me" in page.content.decode()
    token = page.cookies["csrftoken"].value
    done = browser.post(path(unsubscribe), {"csrfmiddlewaretoken": token})
    assert done.status_code == 200 and "You will receive nothing more from “News”" in done.content.decode()
    assert Subscription.objects.get(contact=anna).status == Subscription.Status.UNSUBSCRIBED


def test_a_template_placing_unsubscribe_url_shows_it_once_and_gets_only_the_missing_link(member, smtp):
    make_journey(steps=("email",))
    EmailTemplate.objects.filter(name="Mail 1").update(
        body="Hello {{ first_name }}! Had enough? {{ unsubscribe_url }} <- one click."
    )
    anna = member(first_name="Anna")

    journeys_run(now=timezone.now())

    (received,) = smtp.messages
    text, html = bodies(received)
    placed = re.search(r"Had enough\? (https?://\S+) <- one click\.", text).group(1)
    assert text.count(placed) == 1  # no footer repeats it
    assert html.count(f'href="{placed}"') == 1
    assert "Had enough? <a href=" in html and "&lt;- one click." in html  # the template's text stays text
    assert "Stop all marketing:" not in text  # the footer only adds what the template left out
    preferences = labelled(text, "Manage your preferences:")
    assert html.count(f'href="{preferences}"') == 1
    assert path(placed).startswith("/leave/")  # no list: the template's link stops all marketing
    assert anna.first_name in text


def test_a_journey_without_a_list_carries_a_stop_all_link_that_leaves_everything(
    member, smtp, newsletter, logging_on
):
    news = SubscriptionList.objects.create(name="News", slug="news", purpose=newsletter)
    make_journey(steps=("email", "wait", "email"))  # no list
    anna = member(level=5)
    consent_change(contact=anna, tracking_allowed=True, source=Source.IMPORT)
    subscription_set(contact=anna, subscription_list=news, status="subscribed", source="import")
    now = timezone.now()

    journeys_run(now=now)

    (received,) = smtp.messages
    text, html = bodies(received)
    stop_all = labelled(text, "Stop all marketing:")
    assert f'href="{stop_all}"' in html and "Stop all marketing</a>" in html
    assert "List-Unsubscribe" not in received  # no list: nothing to leave by one-click header

    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path(stop_all))
    assert page.status_code == 200 and "Stop all marketing" in page.content.decode()
    assert (
        ConsentChange.objects.filter(contact=anna, source="subscription_center").count() == 0
    )  # GET changes nothing
    token = page.cookies["csrftoken"].value
    done = browser.post(path(stop_all), {"csrfmiddlewaretoken": token})
    assert done.status_code == 200
    assert "You left everything" in done.content.decode() and "<li>News</li>" in done.content.decode()

    anna.refresh_from_db()
    assert anna.consent_given == 2 and not anna.tracking_allowed
    assert PurposeConsent.objects.get(contact=anna, purpose=newsletter).granted is False
    assert Subscription.objects.get(contact=anna).status == Subscription.Status.UNSUBSCRIBED
    records = ConsentChange.objects.filter(contact=anna, source="subscription_center")
    assert {(r.field, r.new_value) for r in records} >= {("consent_given", "2"), ("purpose", "False")}
    assert all(r.evidence["page"] == "stop all marketing link" for r in records)

    journeys_run(now=now + timedelta(days=8))
    assert len(smtp.messages) == 1  # the second email never came
    assert Enrolment.objects.get().status == Enrolment.Status.EXITED


@pytest.fixture
def footer_without_link(settings, tmp_path):
    """An organisation's own footer templates (found before the product's) that forgot a link."""

    def override(name: str, content: str):
        (tmp_path / "emails").mkdir(exist_ok=True)
        (tmp_path / "emails" / name).write_text(content)
        engines = [dict(engine) for engine in settings.TEMPLATES]
        engines[0]["DIRS"] = [str(tmp_path), *engines[0]["DIRS"]]
        settings.TEMPLATES = engines

    return override


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("_way_out.txt", "Thanks for reading.", "the text body lacks the unsubscribe link"),
        ("_way_out.html", "<p>Thanks for reading.</p>", "the HTML body lacks the unsubscribe link"),
        ("_way_out.html", "<p>{{ unsubscribe_url }}</p>", "the HTML body lacks the unsubscribe link"),
    ],
)
def test_a_journey_email_without_its_way_out_is_never_sent_and_says_why(
    member, smtp, footer_without_link, caplog, name, content, why
):
    footer_without_link(name, content)
    journey = make_journey(steps=("email",))
    member()

    with caplog.at_level(logging.ERROR, logger="journeys.services.advance"):
        counts = journeys_run(now=timezone.now())

    assert smtp.messages == []  # nothing reached the mail server
    assert counts.get("refused: no way out") == 1 and "sent" not in counts
    assert [r.getMessage() for r in caplog.records if r.name == "journeys.services.advance"] == [
        f"journey email not sent: {why}"
    ]
    enrolment = Enrolment.objects.get()
    assert enrolment.status == Enrolment.Status.ACTIVE
    assert enrolment.next_position == journey.steps.get().position  # the email step is still to come
    assert enrolment.due_at > timezone.now()  # tried again later, once the footer is fixed
    assert not StepRun.objects.exists()


def test_a_list_email_built_without_its_way_out_in_the_body_cannot_be_sent(member, smtp_server):
    news = SubscriptionList.objects.create(name="News", slug="news")
    anna = member()
    message = ListEmailMessage("News", "Hello", to=[anna.email], contact=anna, subscription_list=news)
    message.attach_alternative("<p>Hello</p>", "text/html")
    with pytest.raises(NoWayOut, match="the text body lacks the unsubscribe link"):
        message.send()
    assert smtp_server.messages == []


def test_the_admin_preview_shows_where_the_links_go(marketer, client_as):
    template = EmailTemplate.objects.create(name="W", subject="Hi", body="Bye: {{ unsubscribe_url }}")
    page = client_as(marketer).get(reverse("admin:journeys_emailtemplate_change", args=[template.pk]))
    assert "Bye: http://" in page.content.decode() and "/unsubscribe/sample/" in page.content.decode()


def test_a_name_cannot_forge_markup_or_links_next_to_the_placed_way_out(member):
    from journeys.emails import journey_email

    template = EmailTemplate.objects.create(
        name="Safe", subject="Hi", body="Dear {{ first_name }}, leave here: {{ unsubscribe_url }}"
    )
    eve = member(first_name='<a href="https://evil.example/">x</a>')
    message = journey_email(template=template, contact=eve)
    html = message.alternatives[0][0]
    assert 'evil.example/">' not in html and "&lt;a href=&quot;https://evil.example/&quot;&gt;" in html
    assert html.count("<a href=") == 2  # the placed unsubscribe link and the footer's preferences link
    assert f'<a href="{message.way_out.unsubscribe_url}">' in html


def test_every_journey_email_names_the_sender_with_its_postal_address_even_when_it_places_its_links(
    member, smtp
):
    """Who sends it (GDPR Art. 13(1)(a)) and where (the postal address commercial email must give),
    from the compliance settings, also below a template that placed both links itself."""
    from core.models import ComplianceSettings

    organisation = ComplianceSettings.load()
    organisation.organisation_name = "Contoso <Ltd>"
    organisation.controller_address = "1 Main Street, Springfield"
    organisation.privacy_contact_email = "privacy@contoso.example"
    organisation.save()
    make_journey(steps=("email",))
    EmailTemplate.objects.filter(name="Mail 1").update(
        body="Bye: {{ unsubscribe_url }} Settings: {{ preferences_url }}"
    )
    member()

    journeys_run(now=timezone.now())

    (received,) = smtp.messages
    text, html = bodies(received)
    assert "Contoso <Ltd>, 1 Main Street, Springfield · Privacy: privacy@contoso.example" in text
    assert "Contoso &lt;Ltd&gt;, 1 Main Street, Springfield" in html  # escaped in the HTML
    assert 'href="mailto:privacy@contoso.example"' in html
    assert "Manage your preferences:" not in text  # the links stay where the template put them
