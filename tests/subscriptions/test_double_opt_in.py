"""The subscription center and double opt-in, over HTTP, with mail delivered by real SMTP."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentChange, PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from subscriptions.models import AccessToken, ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import center_link, subscription_set, unsubscribe_link
from tests.factories import ContactFactory, PurposeFactory
from tests.pages import same_page
from tests.subscriptions.center_form import center_form

pytestmark = pytest.mark.django_db(transaction=True)  # mail leaves on commit, as in production


@pytest.fixture
def newsletter():
    return PurposeFactory(name="Newsletter", slug="newsletter", description="Our monthly news.")


@pytest.fixture
def news_list(newsletter):
    return SubscriptionList.objects.create(
        name="Monthly news",
        slug="monthly-news",
        description="One email a month.",
        purpose=newsletter,
        min_level=3,
    )


@pytest.fixture
def holly(logging_on):
    contact = ContactFactory(first_name="Holly", email="holly@contoso.com")
    consent_change(contact=contact, level=4, source=Source.IMPORT)
    return contact


def path(url):
    return urlparse(url).path


def open_center(client, contact):
    response = client.get(path(center_link(contact=contact)))
    assert response.status_code == 302 and response["Location"] == reverse("subscriptions:center")
    return client.get(response["Location"])


def test_center_link_names_nobody_and_the_center_url_carries_no_token(client, holly):
    link = center_link(contact=holly)
    secret = path(link).split("/")[2]
    assert "holly" not in link.lower() and "contoso" not in link.lower()
    assert len(secret.split(":")[0]) >= 32  # random, not an encoded id
    assert center_link(contact=holly) != link  # every email gets its own link
    page = open_center(client, holly)
    assert page.status_code == 200
    assert "Holly" in page.content.decode()


def checked(page) -> set[tuple[str, str]]:
    """The (name, value) of every ticked radio button and checkbox on a page."""
    return {
        (re.search(r'name="([^"]+)"', tag)[1], re.search(r'value="([^"]*)"', tag)[1])
        for tag in re.findall(r"<input[^>]*>", page.content.decode())
        if re.search(r"\schecked\b", tag)
    }


def test_the_center_shows_the_choices_the_contact_holds_now(client, holly, news_list, newsletter):
    PurposeFactory(name="Events", slug="events")
    retired = PurposeFactory(name="Retired", slug="retired")
    consent_change(
        contact=holly,
        purposes={"newsletter": True, "events": False, retired.slug: True},
        tracking_allowed=True,
        source=Source.IMPORT,
    )
    retired.active = False
    retired.save()
    offers = SubscriptionList.objects.create(name="Offers", slug="offers")
    hidden = SubscriptionList.objects.create(name="Staff picks", slug="staff-picks", public=False)
    for subscription_list, status in ((news_list, "subscribed"), (offers, "pending"), (hidden, "subscribed")):
        subscription_set(
            contact=holly, subscription_list=subscription_list, status=status, source=Source.IMPORT
        )
    page = open_center(client, holly)
    assert checked(page) == {
        ("consent_given", "4"),
        ("purpose_newsletter", "yes"),
        ("purpose_events", "no"),
        ("lists", str(news_list.pk)),
        ("tracking", "allow"),
    }
    html = page.content.decode()
    assert "Retired" not in html and "Staff picks" not in html
    labels = re.findall(r"<label>(.*?)</label>", html)
    waiting = [label for label in labels if "waiting for your confirmation" in label]
    assert len(waiting) == 1 and "Offers" in waiting[0]


def test_a_tampered_or_unknown_link_shows_an_error_and_opens_nothing(client, holly):
    link = path(center_link(contact=holly))
    assert client.get(link[:-3] + "abc/").status_code == 400
    page = client.get(reverse("subscriptions:center")).content.decode()
    # No visit opened: the center offers the way in ("email me my link"), nothing of Holly's.
    assert "Email me my link" in page and holly.email not in page


def test_an_expired_center_link_is_refused(client, holly):
    link = path(center_link(contact=holly))
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(link).status_code == 410


def test_lowering_consent_applies_at_once_without_email(client, holly, smtp):
    open_center(client, holly)
    response = client.post(reverse("subscriptions:center"), center_form(holly, consent_given="2"))
    assert response.status_code == 200
    holly.refresh_from_db()
    assert holly.consent_given == 2
    record = ConsentChange.objects.filter(contact=holly).latest("id")
    assert (record.source, record.old_value, record.new_value) == (Source.SUBSCRIPTION_CENTER, "4", "2")
    assert record.evidence["page"] == "subscription center"
    assert smtp.messages == []


def test_raising_consent_waits_for_the_emailed_confirmation(client, holly, smtp):
    open_center(client, holly)
    client.post(reverse("subscriptions:center"), center_form(holly, consent_given="5"))
    holly.refresh_from_db()
    assert holly.consent_given == 4  # nothing widened yet

    (body,) = smtp.bodies("holly@contoso.com")
    assert "Profiling" in body
    (link,) = smtp.links("holly@contoso.com")
    confirm_page = client.get(path(link))
    assert confirm_page.status_code == 200 and "Profiling" in confirm_page.content.decode()
    holly.refresh_from_db()
    assert holly.consent_given == 4  # a GET (or a link scanner) confirms nothing

    done = client.post(
        path(link), {"action": "confirm"}, HTTP_USER_AGENT="TestBrowser/1.0", REMOTE_ADDR="192.0.2.7"
    )
    assert done.status_code == 200 and "confirmed" in done.content.decode().lower()
    holly.refresh_from_db()
    assert holly.consent_given == 5
    record = ConsentChange.objects.filter(contact=holly, source=Source.DOUBLE_OPT_IN).get()
    request = ConsentRequest.objects.get()
    assert record.evidence["ip"] == "192.0.2.7" and record.evidence["user_agent"] == "TestBrowser/1.0"
    assert record.evidence["confirmation"] == request.pk
    assert record.evidence["wording"] == request.wording.digest
    assert "Profiling" in request.wording.content["levels"]["5"]


def test_a_second_click_is_harmless(client, holly, smtp):
    open_center(client, holly)
    client.post(reverse("subscriptions:center"), center_form(holly, consent_given="5"))
    link = path(smtp.links()[0])
    client.post(link, {"action": "confirm"})
    again = client.post(link, {"action": "confirm"})
    assert again.status_code == 200 and "Already confirmed" in again.content.decode()
    assert ConsentChange.objects.filter(contact=holly, source=Source.DOUBLE_OPT_IN).count() == 1


def test_an_expired_confirmation_changes_nothing_and_offers_a_new_link(client, holly, smtp):
    open_center(client, holly)
    client.post(reverse("subscriptions:center"), center_form(holly, consent_given="5"))
    link = path(smtp.links()[0])
    AccessToken.objects.filter(kind=AccessToken.Kind.CONFIRM).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )

    expired = client.post(link, {"action": "confirm"})
    assert expired.status_code == 410 and "Send me a new link" in expired.content.decode()
    holly.refresh_from_db()
    assert holly.consent_given == 4

    client.post(link, {"action": "renew"})
    fresh = path(smtp.links()[-1])
    assert fresh != link
    assert client.post(fresh, {"action": "confirm"}).status_code == 200
    holly.refresh_from_db()
    assert holly.consent_given == 5


def test_a_forged_confirmation_link_changes_nothing(client, holly, smtp):
    open_center(client, holly)
    client.post(reverse("subscriptions:center"), center_form(holly, consent_given="5"))
    link = path(smtp.links()[0])
    forged = link.replace(":", ":x", 1)
    assert client.post(forged, {"action": "confirm"}).status_code == 400
    holly.refresh_from_db()
    assert holly.consent_given == 4


def test_joining_a_list_needs_confirmation_and_brings_its_purpose(client, holly, news_list, smtp):
    open_center(client, holly)
    client.post(reverse("subscriptions:center"), center_form(holly, lists=[str(news_list.pk)]))
    sub = Subscription.objects.get(contact=holly)
    assert sub.status == Subscription.Status.PENDING
    (body,) = smtp.bodies()
    assert "Monthly news" in body and "Newsletter" in body
    client.post(path(smtp.links()[0]), {"action": "confirm"})
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.SUBSCRIBED
    assert PurposeConsent.objects.get(contact=holly, purpose=news_list.purpose).granted is True


def test_saying_no_to_a_purpose_and_leaving_a_list_apply_at_once(client, holly, news_list, newsletter, smtp):
    consent_change(contact=holly, purposes={newsletter: True}, source=Source.IMPORT)
    Subscription.objects.create(
        contact=holly, subscription_list=news_list, status="subscribed", source="import"
    )
    open_center(client, holly)
    client.post(reverse("subscriptions:center"), center_form(holly, purpose_newsletter="no", lists=None))
    assert PurposeConsent.objects.get(contact=holly, purpose=newsletter).granted is False
    assert Subscription.objects.get(contact=holly).status == Subscription.Status.UNSUBSCRIBED
    assert smtp.messages == []


def test_a_new_email_address_is_used_only_after_it_is_confirmed_from_that_inbox(client, holly, smtp):
    open_center(client, holly)
    client.post(
        reverse("subscriptions:center"), center_form(holly, email="Holly.New@Contoso.com", first_name="Hol")
    )
    holly.refresh_from_db()
    assert holly.email == "holly@contoso.com" and holly.first_name == "Hol"  # name at once, address later
    (link,) = smtp.links("holly.new@contoso.com")
    client.post(path(link), {"action": "confirm"})
    holly.refresh_from_db()
    assert holly.email == "holly.new@contoso.com"


def test_a_child_is_never_offered_profiling(client, logging_on):
    guardian = ContactFactory()
    child = ContactFactory(is_child=True, guardian=guardian, email="kid@example.org")
    page = open_center(client, child)
    assert "Profiling" not in page.content.decode()
    response = client.post(reverse("subscriptions:center"), center_form(child, consent_given="5"))
    assert response.status_code == 200 and "consent_given" in response.context["form"].errors


def test_center_form_is_protected_by_csrf(holly):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    open_center(client, holly)
    response = client.post(reverse("subscriptions:center"), center_form(holly, consent_given="0"))
    assert response.status_code == 403
    holly.refresh_from_db()
    assert holly.consent_given == 4


# --- sign-up ------------------------------------------------------------------------------------


def test_signup_creates_a_pending_contact_subscribed_only_after_confirmation(
    client, news_list, smtp, logging_on
):
    url = reverse("subscriptions:signup", args=[news_list.slug])
    response = client.post(url, {"email": "New@Example.org", "first_name": "Nia", "agree": "on"})
    assert response.status_code == 200 and "Check your inbox" in response.content.decode()
    contact = Contact.objects.get(email="new@example.org")
    assert contact.consent_given == 0
    assert Subscription.objects.get(contact=contact).status == Subscription.Status.PENDING

    client.post(path(smtp.links("new@example.org")[0]), {"action": "confirm"})
    contact.refresh_from_db()
    assert contact.consent_given == 3  # the list's minimum level
    assert Subscription.objects.get(contact=contact).status == Subscription.Status.SUBSCRIBED


def test_signup_answers_the_same_for_known_and_unknown_addresses(client, holly, news_list, smtp):
    url = reverse("subscriptions:signup", args=[news_list.slug])
    known = client.post(url, {"email": "holly@contoso.com", "agree": "on"})
    unknown = client.post(url, {"email": "stranger@example.org", "agree": "on"})
    assert known.status_code == unknown.status_code == 200
    assert same_page(known) == same_page(unknown)
    assert Contact.objects.filter(email="holly@contoso.com").count() == 1  # no duplicate


def test_signup_without_agreement_or_with_a_bad_address_creates_nothing(client, news_list, smtp):
    url = reverse("subscriptions:signup", args=[news_list.slug])
    assert "agree" in client.post(url, {"email": "a@example.org"}).context["form"].errors
    assert "email" in client.post(url, {"email": "nope", "agree": "on"}).context["form"].errors
    assert not Contact.objects.exists() and smtp.messages == []


# --- unsubscribe --------------------------------------------------------------------------------


def test_one_click_unsubscribe_by_post_without_csrf_token(holly, news_list):
    from django.test import Client

    Subscription.objects.create(
        contact=holly, subscription_list=news_list, status="subscribed", source="import"
    )
    link = path(unsubscribe_link(contact=holly, subscription_list=news_list))
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        link, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Subscription.objects.get(contact=holly).status == Subscription.Status.UNSUBSCRIBED


def test_opening_an_unsubscribe_link_only_asks(client, holly, news_list):
    Subscription.objects.create(
        contact=holly, subscription_list=news_list, status="subscribed", source="import"
    )
    link = path(unsubscribe_link(contact=holly, subscription_list=news_list))
    assert client.get(link).status_code == 200
    assert Subscription.objects.get(contact=holly).status == Subscription.Status.SUBSCRIBED
    assert client.post(link[:-4] + "zzz/").status_code == 400


def test_expired_links_are_purged_but_unsubscribe_links_and_evidence_stay(client, holly, news_list, smtp):
    from subscriptions.tasks import purge_unconfirmed

    center_link(contact=holly)
    unsubscribe_link(contact=holly, subscription_list=news_list)
    open_center(client, holly)
    client.post(reverse("subscriptions:center"), center_form(holly, consent_given="5"))
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    assert purge_unconfirmed() == {"links": 2}  # the two center links
    kinds = sorted(AccessToken.objects.values_list("kind", flat=True))
    assert kinds == [AccessToken.Kind.CONFIRM, AccessToken.Kind.UNSUBSCRIBE]


def test_list_emails_carry_working_one_click_unsubscribe_headers(holly, news_list, smtp):
    from django.test import Client

    from subscriptions.emails import ListEmailMessage, way_out_footer, way_out_for

    Subscription.objects.create(
        contact=holly, subscription_list=news_list, status="subscribed", source="import"
    )
    way_out = way_out_for(contact=holly, subscription_list=news_list)
    footer_text, footer_html = way_out_footer(way_out)
    message = ListEmailMessage(
        "News",
        f"Hello{footer_text}",
        to=[holly.email],
        contact=holly,
        subscription_list=news_list,
        way_out=way_out,
    )
    message.attach_alternative(f"<p>Hello</p>{footer_html}", "text/html")
    message.send()
    (received,) = smtp.messages
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    wire = smtp.raw[0].decode()  # the bytes as they crossed SMTP
    header_line = next(line for line in wire.splitlines() if line.startswith("List-Unsubscribe:"))
    assert header_line.startswith("List-Unsubscribe: <http") and header_line.endswith(
        "/>"
    )  # not encoded-words
    url = received["List-Unsubscribe"].strip().strip("<>")
    assert url == way_out.unsubscribe_url  # the link the body shows is the header's
    # What a mail client does (RFC 8058): a POST with no cookies and no CSRF token.
    response = Client(enforce_csrf_checks=True).post(
        path(url), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Subscription.objects.get(contact=holly).status == Subscription.Status.UNSUBSCRIBED
