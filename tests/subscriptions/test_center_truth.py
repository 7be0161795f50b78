"""The center tells the truth: what waits for confirmation (where, when, send it again), "saved"
only for what applied, and an undo after leaving a list that asks again by double opt-in.
Over HTTP with Django's test client; mail crosses real SMTP."""

import html
import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from consent.models import Source
from consent.services import consent_change
from subscriptions.models import AccessToken, ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import center_link, unsubscribe_link
from tests.factories import ContactFactory, PurposeFactory
from tests.subscriptions.center_form import center_form

pytestmark = pytest.mark.django_db(transaction=True)  # mail leaves on commit, as in production

CENTER = "/preferences/"


@pytest.fixture
def news_list():
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter", description="Our monthly news.")
    return SubscriptionList.objects.create(
        name="Monthly news", slug="monthly-news", purpose=newsletter, min_level=3
    )


@pytest.fixture
def jane(logging_on):
    contact = ContactFactory(first_name="Jane", email="jane@example.org")
    consent_change(contact=contact, level=4, source=Source.IMPORT)
    return contact


def text(response) -> str:
    """The page as a person reads it: tags gone, entities decoded, spaces collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(body).split())


def open_center(client, contact):
    response = client.get(urlparse(center_link(contact=contact)).path)
    assert response.status_code == 302
    return client.get(CENTER)


def raise_to_profiling(client, contact):
    open_center(client, contact)
    return client.post(CENTER, center_form(contact, consent_given="5"))


def resend(client, request_id):
    return client.post(reverse("subscriptions:center-resend"), {"request": request_id}, follow=True)


# --- what waits ---------------------------------------------------------------------------------


def test_a_waiting_raise_is_listed_with_its_masked_address_and_when_it_was_sent(client, jane, smtp):
    raise_to_profiling(client, jane)
    request = ConsentRequest.objects.get()
    page = text(client.get(CENTER))
    assert "Waiting for your confirmation" in page
    assert "Consent level “Profiling”" in page  # what it would change, in words
    assert "jane@example.org" not in page.split("Waiting for your confirmation")[1].split("Your details")[0]
    sent = date_format(timezone.localtime(request.sent_at), "DATETIME_FORMAT")
    assert f"Sent to j***@example.org Sent on {sent} " in page
    assert "Send the email again" in page


def test_a_confirmed_or_expired_request_is_no_longer_listed(client, jane, smtp):
    raise_to_profiling(client, jane)
    assert "Waiting for your confirmation" in text(client.get(CENTER))
    (link,) = smtp.links("jane@example.org")
    client.post(urlparse(link).path, {"action": "confirm"})
    assert "Waiting for your confirmation" not in text(client.get(CENTER))

    jane.refresh_from_db()
    client.post(CENTER, center_form(jane, tracking="allow"))
    assert "Allow us to record how you interact" in text(client.get(CENTER))
    AccessToken.objects.filter(consent_request__isnull=False).update(expires_at=timezone.now())
    assert "Waiting for your confirmation" not in text(client.get(CENTER))


# --- send it again ------------------------------------------------------------------------------


def test_send_again_sends_the_same_link_and_a_second_click_at_once_sends_nothing(client, jane, smtp):
    raise_to_profiling(client, jane)
    request = ConsentRequest.objects.get()
    ConsentRequest.objects.update(sent_at=timezone.now() - timedelta(minutes=10))  # a while ago

    first = resend(client, request.pk)
    assert "We are sending the confirmation email again" in text(first)
    assert len(smtp.messages) == 2
    (original, again) = smtp.links("jane@example.org")
    assert again == original  # the same confirmation, not a new request
    assert ConsentRequest.objects.count() == 1

    second = resend(client, request.pk)
    assert "we did not send it again yet" in text(second)
    assert len(smtp.messages) == 2  # limited, and it says so


def test_send_again_stops_at_the_inboxs_hourly_allowance(client, jane, smtp, settings):
    settings.CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR = 1
    raise_to_profiling(client, jane)
    request = ConsentRequest.objects.get()
    ConsentRequest.objects.update(sent_at=timezone.now() - timedelta(minutes=10))
    resend(client, request.pk)
    ConsentRequest.objects.update(sent_at=timezone.now() - timedelta(minutes=10))

    limited = resend(client, request.pk)
    assert "as many emails from us as we send in an hour" in text(limited)
    assert len(smtp.messages) == 2  # the first send and one resend


def test_nobody_can_resend_another_persons_request(client, jane, smtp):
    other = ContactFactory(email="other@example.org")
    consent_change(contact=other, level=4, source=Source.IMPORT)
    raise_to_profiling(Client(), other)
    theirs = ConsentRequest.objects.get(contact=other)
    ConsentRequest.objects.update(sent_at=timezone.now() - timedelta(minutes=10))

    open_center(client, jane)
    for value in (str(theirs.pk), "abc", "9" * 30):
        response = resend(client, value)
        assert response.status_code == 200 and "no longer waiting" in text(response)
    assert len(smtp.messages) == 1


def test_send_again_is_protected_by_csrf_and_needs_the_center_session(jane, smtp):
    guarded = Client(enforce_csrf_checks=True)
    open_center(guarded, jane)
    assert guarded.post(reverse("subscriptions:center-resend"), {"request": "1"}).status_code == 403
    assert Client().post(reverse("subscriptions:center-resend"), {"request": "1"}).status_code == 403


# --- what the saved page says -------------------------------------------------------------------


def test_a_raise_alone_is_never_called_saved(client, jane, smtp):
    page = text(raise_to_profiling(client, jane))
    assert "saved" not in page.lower()
    assert "Please confirm from your inbox" in page
    assert "We are sending an email to j***@example.org to confirm: Consent level “Profiling”" in page


def test_a_mixed_post_names_what_applied_and_what_waits_apart(client, jane, news_list, smtp):
    open_center(client, jane)
    response = client.post(
        CENTER, center_form(jane, tracking="deny", first_name="Janet", lists=[str(news_list.pk)])
    )
    page = text(response)
    assert "Some choices saved, some waiting for your confirmation" in page
    saved_now, waiting = page.split("Saved now")[1].split("Waiting for your confirmation")
    assert "Your details were updated." in saved_now and "Monthly news" not in saved_now
    assert "We are sending an email to j***@example.org to confirm:" in waiting
    assert "Subscribe to “Monthly news”" in waiting


def test_a_post_that_changes_nothing_says_so(client, jane, smtp):
    open_center(client, jane)
    page = text(client.post(CENTER, center_form(jane)))
    assert "Nothing changed" in page and "saved" not in page.lower()
    assert smtp.messages == []


# --- leaving and undoing ------------------------------------------------------------------------


def test_the_one_click_unsubscribe_names_the_list_and_its_undo_asks_by_email(jane, news_list, smtp):
    Subscription.objects.create(
        contact=jane, subscription_list=news_list, status="subscribed", source="import"
    )
    link = urlparse(unsubscribe_link(contact=jane, subscription_list=news_list)).path
    client = Client(enforce_csrf_checks=True)  # the undo is a person's click: CSRF applies
    assert "Unsubscribe from “Monthly news”" in text(client.get(link))
    left = client.post(link, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    page = text(left)
    assert "You will receive nothing more from “Monthly news”" in page
    assert "Undo: join “Monthly news” again" in page

    undo = reverse("subscriptions:unsubscribe-undo", args=[link.split("/")[2]])
    assert client.post(undo).status_code == 403  # no CSRF token, nothing asked
    assert ConsentRequest.objects.count() == 0
    token = client.cookies["csrftoken"].value
    done = client.post(undo, {"csrfmiddlewaretoken": token})
    assert "We are sending an email to j***@example.org to confirm: Subscribe to “Monthly news”" in text(done)
    request = ConsentRequest.objects.get()
    assert list(request.lists.all()) == [news_list]
    assert Subscription.objects.get(contact=jane).status == Subscription.Status.PENDING  # not subscribed
    (body,) = smtp.bodies("jane@example.org")
    assert "Monthly news" in body

    again = text(client.post(undo, {"csrfmiddlewaretoken": token}))
    assert "already waiting in your inbox" in again
    assert ConsentRequest.objects.count() == 1 and len(smtp.messages) == 1


def test_undo_of_a_list_never_left_asks_nothing(client, jane, news_list, smtp):
    Subscription.objects.create(
        contact=jane, subscription_list=news_list, status="subscribed", source="import"
    )
    link = urlparse(unsubscribe_link(contact=jane, subscription_list=news_list)).path
    page = text(client.post(reverse("subscriptions:unsubscribe-undo", args=[link.split("/")[2]])))
    assert "Nothing to undo" in page
    assert ConsentRequest.objects.count() == 0 and smtp.messages == []
    assert client.post("/unsubscribe/forged:abc/undo/").status_code == 400


def test_leaving_a_list_in_the_center_names_it_and_its_undo_starts_a_new_double_opt_in(
    client, jane, news_list, smtp
):
    consent_change(contact=jane, purposes={"newsletter": True}, source=Source.IMPORT)
    Subscription.objects.create(
        contact=jane, subscription_list=news_list, status="subscribed", source="import"
    )
    open_center(client, jane)
    page = text(client.post(CENTER, center_form(jane, purpose_newsletter="yes")))
    assert "Your choices are saved" in page and "You left “Monthly news”." in page
    assert "Undo: join “Monthly news” again" in page
    assert Subscription.objects.get(contact=jane).status == Subscription.Status.UNSUBSCRIBED

    done = client.post(reverse("subscriptions:center-rejoin"), {"list": str(news_list.pk)})
    assert "We are sending an email to j***@example.org to confirm: Subscribe to “Monthly news”" in text(done)
    assert ConsentRequest.objects.get().origin == "center"
    assert Subscription.objects.get(contact=jane).status == Subscription.Status.PENDING  # not yet back
    assert len(smtp.bodies("jane@example.org")) == 1
    (link,) = smtp.links("jane@example.org")
    client.post(urlparse(link).path, {"action": "confirm"})
    assert Subscription.objects.get(contact=jane).status == Subscription.Status.SUBSCRIBED


def test_undo_stops_at_the_inboxs_hourly_allowance(client, jane, news_list, smtp, settings):
    settings.CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR = 0
    Subscription.objects.create(
        contact=jane, subscription_list=news_list, status="unsubscribed", source="import"
    )
    open_center(client, jane)
    page = text(client.post(reverse("subscriptions:center-rejoin"), {"list": str(news_list.pk)}))
    assert "Please try again later" in page
    assert ConsentRequest.objects.count() == 0 and smtp.messages == []
    assert Subscription.objects.get(contact=jane).status == Subscription.Status.UNSUBSCRIBED


def test_saving_the_center_never_leaves_a_list_the_page_did_not_show(client, jane, smtp):
    hidden = SubscriptionList.objects.create(
        name="Staff picks", slug="staff-picks", public=False, min_level=3
    )
    Subscription.objects.create(contact=jane, subscription_list=hidden, status="subscribed", source="import")
    open_center(client, jane)
    page = text(client.post(CENTER, center_form(jane, first_name="Janet")))
    assert "Your details were updated." in page and "Staff picks" not in page
    assert Subscription.objects.get(contact=jane).status == Subscription.Status.SUBSCRIBED


def test_digits_that_are_not_ascii_change_nothing_and_never_end_in_an_error(client, jane, news_list, smtp):
    """ "²" and "٣" pass str.isdigit(); int() refuses the first and reads the second."""
    open_center(client, jane)
    for value in ("²", "٣", "1²"):
        response = resend(client, value)
        assert response.status_code == 200 and "no longer waiting" in text(response)
        rejoined = client.post(reverse("subscriptions:center-rejoin"), {"list": value})
        assert rejoined.status_code == 200
    assert smtp.messages == [] and not ConsentRequest.objects.exists()
