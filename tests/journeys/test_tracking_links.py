"""Opens and clicks of journey emails, only where allowed (issue 19, scope 6): a tracking-allowed
adult's email carries signed click-through links and an open image; everybody else's carries the
plain links and no image. Sent over real SMTP (aiosmtpd) and clicked through the real views."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core import signing
from django.utils import timezone

from consent.models import Source
from consent.services import consent_change
from contacts.services import contact_update
from dsr.erasure import contacts_erase
from journeys.models import EmailTemplate, Interaction, Score, ScoringModel, ScoringRule, StepRun, TrackedLink
from journeys.services import journeys_run, lead_scores_compute
from journeys.tracking import PIXEL, Tracker
from tests.factories import make_journey, with_consent

pytestmark = pytest.mark.django_db

SPRING = "https://shop.example.org/spring?utm=mail&x=1"
BLOG = "http://blog.example.org/"
BODY = (
    "Hello {{ first_name }}! Our spring sale: " + SPRING + ".\n"
    "Read more at " + BLOG + " or https://shop.example.org/for/{{ first_name }} today.\n"
    "Leave: {{ unsubscribe_url }}"
)
PERSON = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def journey(newsletter):
    EmailTemplate.objects.create(name="Mail 1", subject="Spring for {{ first_name }}", body=BODY)
    return make_journey(steps=("email",))


@pytest.fixture
def people(member, journey):
    """Everyone the journey mails, each with a different answer about tracking."""
    adult = with_consent(member(first_name="Ada", email="ada@example.org"), tracking_allowed=True)
    refused = member(first_name="Rita", email="rita@example.org")
    guardian = with_consent(member(first_name="Gus", email="gus@example.org"), tracking_allowed=False)
    child = with_consent(
        member(first_name="Kim", email="kim@example.org", is_child=True, guardian=guardian),
        tracking_allowed=True,
    )
    return {"adult": adult, "refused": refused, "child": child, "guardian": guardian}


def mail_of(smtp, address):
    (message,) = [m for m in smtp.messages if address in m["To"]]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def tracked_links(text: str, kind: str = "c") -> list[str]:
    return [urlparse(link).path for link in re.findall(rf"https?://[^\s<>\"]*?/t/{kind}/[^/\s<>\"]+/", text)]


def pixel_path(html: str) -> str | None:
    found = re.search(r'<img src="(https?://[^"]+/t/o/[^"]+\.gif)"', html)
    return urlparse(found.group(1)).path if found else None


def sent_a_while_ago():
    """The sends happened a minute ago: a click now is no scanner's prefetch by its timing."""
    StepRun.objects.update(done_at=timezone.now() - timedelta(minutes=1))


def clicks(contact):
    return Interaction.objects.filter(contact=contact, kind=Interaction.Kind.EMAIL_CLICK)


def opens(contact):
    return Interaction.objects.filter(contact=contact, kind=Interaction.Kind.EMAIL_OPEN)


def test_a_tracking_allowed_adults_click_redirects_to_the_target_and_feeds_lead_scoring(client, people, smtp):
    adult = people["adult"]
    journeys_run()
    text, html = mail_of(smtp, "ada@example.org")
    assert SPRING not in text and BLOG not in text  # the template's own links go through us...
    spring_link, blog_link = tracked_links(text)
    assert "https://shop.example.org/for/Ada" in text  # ...but a link with a name in it never does
    assert "/t/c/" not in text.split("Leave:")[1]  # nor does the way out
    assert tracked_links(html) == [spring_link, blog_link]
    token = spring_link.split("/")[3]
    assert signing.loads(token, salt="journeys.track.click")[1] == TrackedLink.objects.get(url=SPRING).pk
    assert len(signing.loads(token, salt="journeys.track.click")) == 2  # send and link: no target, no person
    model = ScoringModel.objects.create(name="Engaged", min_level=4)
    ScoringRule.objects.create(model=model, points=5, interaction=Interaction.Kind.EMAIL_CLICK)
    sent_a_while_ago()

    response = client.get(spring_link, HTTP_USER_AGENT=PERSON)

    assert response.status_code == 302 and response["Location"] == SPRING
    (click,) = clicks(adult)
    assert SPRING in click.detail
    client.get(spring_link, HTTP_USER_AGENT=PERSON)  # the same link again counts once
    assert client.get(blog_link, HTTP_USER_AGENT=PERSON)["Location"] == BLOG
    assert clicks(adult).count() == 2
    lead_scores_compute(model=model)
    assert Score.objects.get(model=model, contact=adult).score == 10


def test_opens_are_recorded_for_a_tracking_allowed_adult_and_never_for_anyone_else(client, people, smtp):
    journeys_run()
    adult_pixel = pixel_path(mail_of(smtp, "ada@example.org")[1])
    assert adult_pixel is not None
    for name in ("refused", "child", "guardian"):
        assert pixel_path(mail_of(smtp, f"{people[name].email}")[1]) is None, name

    response = client.get(adult_pixel)

    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response.content == PIXEL
    client.get(adult_pixel)  # shown twice: one open of one email
    assert opens(people["adult"]).count() == 1
    assert not clicks(people["adult"]).exists()  # an open is not an action

    # Even an open image made for them (as a forger with the key would) records nothing for the
    # child, who allowed tracking, nor for whoever refused it.
    for name in ("child", "refused", "guardian"):
        send = StepRun.objects.get(enrolment__contact=people[name])
        path = urlparse(Tracker(template=send.step.template, send_id=send.pk).open_url()).path
        assert client.get(path).status_code == 200
    assert not Interaction.objects.exclude(contact=people["adult"]).exists()

    # Restricted since the email was sent: the image still answers, nothing is kept.
    Interaction.objects.all().delete()
    contact_update(contact=people["adult"], processing_restricted=True)
    assert client.get(adult_pixel).status_code == 200
    assert not Interaction.objects.exists()


def test_the_email_of_a_contact_without_tracking_has_the_plain_links_and_no_image(client, people, smtp):
    journeys_run()
    for name in ("refused", "child"):
        text, html = mail_of(smtp, people[name].email)
        assert SPRING in text and BLOG in text
        assert "/t/c/" not in text and "/t/c/" not in html and "/t/o/" not in html
        assert '<a href="https://shop.example.org/spring?utm=mail&amp;x=1">' in html
        assert pixel_path(html) is None
    assert TrackedLink.objects.count() == 2  # made for the adult's email only, once per template


def test_a_forged_or_altered_token_is_refused_and_redirects_nowhere(client, people, smtp):
    journeys_run()
    text, _html = mail_of(smtp, "ada@example.org")
    spring_link = tracked_links(text)[0]
    token = spring_link.split("/")[3]
    send = StepRun.objects.get(enrolment__contact=people["adult"])
    other = TrackedLink.objects.create(
        template=EmailTemplate.objects.create(name="Other", subject="x", body="https://evil.example/"),
        url="https://evil.example/",
    )
    forged = [
        "/t/c/forged/",
        f"/t/c/{token[:-2]}xx/",  # a changed signature
        f"/t/c/{signing.dumps([send.pk, other.pk], salt='journeys.track.open')}/",  # another kind's key
        f"/t/c/{signing.dumps([send.pk, other.pk], salt='journeys.track.click')}/",  # another email's link
        f"/t/c/{signing.dumps([send.pk, 'x'], salt='journeys.track.click')}/",
        f"/t/c/{signing.dumps({'url': 'https://evil.example/'}, salt='journeys.track.click')}/",
        f"/t/c/{signing.dumps([2**70, 1e400], salt='journeys.track.click')}/",  # no 500 either
        f"/t/o/{signing.dumps(2**70, salt='journeys.track.open')}.gif",
        "/t/o/forged.gif",
        f"/t/o/{signing.dumps(send.pk, salt='journeys.track.click')}.gif",
    ]
    sent_a_while_ago()
    for path in forged:
        response = client.get(path, HTTP_USER_AGENT=PERSON)
        assert response.status_code == 404, path
        assert "Location" not in response
        assert "This link does not work" in response.text, path
    assert not Interaction.objects.exists()
    assert client.post(spring_link).status_code == 405


def test_link_scanner_prefetches_are_redirected_but_not_counted(client, people, smtp):
    adult = people["adult"]
    journeys_run()
    spring_link = tracked_links(mail_of(smtp, "ada@example.org")[0])[0]

    # Within seconds of the send: a scanner on delivery, whatever it says it is.
    assert client.get(spring_link, HTTP_USER_AGENT=PERSON).status_code == 302
    sent_a_while_ago()
    assert client.head(spring_link, HTTP_USER_AGENT=PERSON).status_code == 302
    for agent in ("", "Mozilla/5.0 (compatible; BingPreview/1.0b)", "Barracuda Sentinel (EE)", "curl/8.5.0"):
        assert client.get(spring_link, HTTP_USER_AGENT=agent)["Location"] == SPRING
    assert not clicks(adult).exists()

    client.get(spring_link, HTTP_USER_AGENT=PERSON)
    assert clicks(adult).count() == 1


def test_a_click_after_tracking_was_withdrawn_or_the_person_erased_redirects_and_keeps_nothing(
    client, people, smtp, privacy_officer
):
    adult = people["adult"]
    journeys_run()
    spring_link = tracked_links(mail_of(smtp, "ada@example.org")[0])[0]
    pixel = pixel_path(mail_of(smtp, "ada@example.org")[1])
    sent_a_while_ago()
    consent_change(contact=adult, tracking_allowed=False, source=Source.SUBSCRIPTION_CENTER)

    assert client.get(spring_link, HTTP_USER_AGENT=PERSON)["Location"] == SPRING
    client.get(pixel)
    assert not Interaction.objects.exists()

    consent_change(contact=adult, tracking_allowed=True, source=Source.IMPORT)
    contacts_erase(contacts=[adult], actor=privacy_officer, scan=False)  # the enrolment stays, anonymous
    assert client.get(spring_link, HTTP_USER_AGENT=PERSON)["Location"] == SPRING
    assert client.get(pixel).status_code == 200
    assert not Interaction.objects.exists()


def test_the_providers_opens_and_clicks_count_only_for_a_tracked_send_of_a_tracking_allowed_adult(
    client, people, smtp, settings
):
    from tests.mailsignals.test_mailgun_webhooks import AUTH, KEY, post

    settings.ANYMAIL = {"WEBHOOK_SECRET": [AUTH], "MAILGUN_WEBHOOK_SIGNING_KEY": KEY}
    journeys_run()
    sent_a_while_ago()
    send = {name: str(StepRun.objects.get(enrolment__contact=people[name]).pk) for name in people}
    adult = people["adult"]
    person = {"client-info": {"user-agent": PERSON}}

    def report(event, name, **data):
        variables = {"user-variables": {"send": send[name]}}
        assert post(client, event, people[name].email, **variables, **data).status_code == 200

    report("opened", "adult")
    report("clicked", "adult", url=SPRING, **person)
    report("clicked", "adult", url=BLOG, **{"client-info": {"user-agent": PERSON, "bot": "generic"}})
    report(
        "clicked", "adult", url=mail_of(smtp, "ada@example.org")[0].split("Leave: ")[1].split()[0], **person
    )
    assert opens(adult).count() == 1 and list(clicks(adult).values_list("detail", flat=True)) == [
        f"send {send['adult']}: {SPRING}"
    ]
    # The same click through our own redirect, and the report again: still one.
    client.get(tracked_links(mail_of(smtp, "ada@example.org")[0])[0], HTTP_USER_AGENT=PERSON)
    report("clicked", "adult", url=SPRING, **person)
    assert clicks(adult).count() == 1

    for name in ("refused", "child"):  # a report naming their send (their mail was never tracked)
        report("opened", name)
        report("clicked", name, url=SPRING, **person)
    assert not Interaction.objects.exclude(contact=adult).exists()
    for odd in ("9" * 30, "x", ""):  # a send id nobody made: answered, nothing kept
        variables = {"user-variables": {"send": odd}}
        assert post(client, "opened", "rita@example.org", **variables).status_code == 200
    assert not Interaction.objects.exclude(contact=adult).exists()


def test_only_links_the_template_writes_out_in_full_are_tracked():
    from journeys.tracking import template_links

    body = (
        "(see https://x.org/a). https://x.org/" + "a" * 2100 + " https://y.org/{{ first_name }} "
        "https://z.org/?q=1&r=2, http://x.org/a https://x.org/a"
    )
    assert template_links(body) == ["https://x.org/a", "https://z.org/?q=1&r=2", "http://x.org/a"]


def test_a_provider_tracks_opens_only_for_a_tracked_email_and_never_rewrites_links(people, journey):
    from journeys.emails import journey_email

    step = journey.steps.get()
    tracked = journey_email(
        template=step.template, contact=people["adult"], tracker=Tracker(template=step.template, send_id=7)
    )
    plain = journey_email(template=step.template, contact=people["refused"])
    assert (tracked.track_opens, tracked.track_clicks, tracked.metadata) == (True, False, {"send": "7"})
    assert (plain.track_opens, plain.track_clicks) == (False, False)
    assert "send" not in getattr(plain, "metadata", {})
