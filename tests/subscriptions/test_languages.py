"""A person's language: stored at sign-up from the browser, changed in the center (not consent),
used by every page a personal link opens and by every email to them, and kept in the evidence.
Over HTTP with Django's test client; mail crosses real SMTP."""

import re
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.utils import translation

from consent.models import ConsentChange, Source
from consent.services import consent_change
from contacts.models import Contact
from subscriptions.models import SubscriptionList, WordingVersion
from subscriptions.services import center_link, unsubscribe_link
from tests.factories import ContactFactory, PurposeFactory
from tests.subscriptions.center_form import center_form

pytestmark = pytest.mark.django_db(transaction=True)  # mail leaves on commit, as in production

CENTER = "/preferences/"
GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


@pytest.fixture(autouse=True)
def default_language_after():
    # A German request leaves German active in this thread; the next test starts in English.
    yield
    translation.activate("en")


@pytest.fixture
def news_list():
    newsletter = PurposeFactory(
        name="Newsletter",
        slug="newsletter",
        description="Our monthly news.",
        translations={"de": {"name": "Rundbrief", "description": "Unsere monatlichen Neuigkeiten."}},
    )
    return SubscriptionList.objects.create(
        name="Monthly news",
        slug="monthly-news",
        purpose=newsletter,
        min_level=3,
        translations={"de": {"name": "Monatsnachrichten", "description": "Einmal im Monat."}},
    )


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]*)"', response.content.decode()).group(1)


def open_center(client, contact, **headers):
    assert client.get(urlparse(center_link(contact=contact)).path, **headers).status_code == 302
    return client.get(CENTER, **headers)


def test_a_sign_up_from_a_german_browser_stores_german(news_list, smtp):
    client = Client(**GERMAN)
    page = client.get("/lists/monthly-news/")
    assert html_lang(page) == "de" and "Monatsnachrichten" in page.content.decode()
    client.post("/lists/monthly-news/", {"email": "lena@example.de", "agree": "on"})
    assert Contact.objects.get(email="lena@example.de").language == "de"
    # The confirmation email is German too: its html says so and it names the German list.
    (message,) = smtp.messages
    html = message.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="de">' in html and "Monatsnachrichten" in html


def test_a_sign_up_from_an_english_browser_stores_english(news_list, smtp):
    Client(**ENGLISH).post("/lists/monthly-news/", {"email": "liam@example.org", "agree": "on"})
    assert Contact.objects.get(email="liam@example.org").language == "en"


def test_the_center_changes_the_language_with_history_and_no_consent_change(news_list, smtp, logging_on):
    contact = ContactFactory(email="jane@example.org")
    consent_change(contact=contact, level=4, source=Source.IMPORT)
    records = ConsentChange.objects.count()
    client = Client(**ENGLISH)
    page = open_center(client, contact)
    assert 'name="language"' in page.content.decode()
    saved = client.post(CENTER, center_form(contact, language="de"))
    contact.refresh_from_db()
    assert contact.language == "de"
    assert contact.history.filter(language="de", history_change_reason="subscription center").exists()
    assert ConsentChange.objects.count() == records  # not a consent change
    assert smtp.messages == []  # and nothing to confirm
    body = saved.content.decode()
    assert html_lang(saved) == "de"  # the answer is already in the chosen language
    assert "Your choices are saved" not in body and "Nothing changed" not in body
    assert 'class="language-saved"' in body


def test_an_unknown_language_in_the_center_is_refused_and_changes_nothing(news_list, smtp):
    contact = ContactFactory(email="jane@example.org")
    client = Client()
    open_center(client, contact)
    refused = client.post(CENTER, center_form(contact, language="xx"))
    assert refused.status_code == 200 and 'name="language"' in refused.content.decode()
    contact.refresh_from_db()
    assert contact.language == ""


def test_a_german_contacts_link_opens_the_center_in_german_whatever_the_browser_says(news_list):
    contact = ContactFactory(email="lena@example.de", language="de")
    page = open_center(Client(**ENGLISH), contact)
    body = page.content.decode()
    assert html_lang(page) == "de"
    assert "Rundbrief" in body and "Monatsnachrichten" in body
    assert "Monthly news" not in body


def test_the_switcher_changes_the_language_and_beats_the_stored_one(news_list):
    contact = ContactFactory(email="lena@example.de", language="de")
    client = Client(enforce_csrf_checks=True, **ENGLISH)
    page = open_center(client, contact)
    assert html_lang(page) == "de"
    # The switcher is a plain form (no JavaScript) with its CSRF token, on every public page.
    form = re.search(
        r'<form class="language-switcher" action="/i18n/setlang/" method="post">.*?</form>',
        page.content.decode(),
        re.S,
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0)).group(1)
    assert 'name="next" value="/preferences/"' in form.group(0)
    switched = client.post("/i18n/setlang/", {"language": "en", "next": CENTER, "csrfmiddlewaretoken": token})
    assert switched.status_code == 302 and switched["Location"] == CENTER
    again = client.get(CENTER)
    assert html_lang(again) == "en" and "Monthly news" in again.content.decode()
    contact.refresh_from_db()
    assert contact.language == "de"  # a choice for this browser, not a change of the record


def test_the_switcher_on_a_public_page_without_a_link(db):
    client = Client(**ENGLISH)
    assert html_lang(client.get("/requests/")) == "en"
    client.post("/i18n/setlang/", {"language": "de", "next": "/requests/"})
    assert html_lang(client.get("/requests/")) == "de"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/phish", "//evil.example/phish", "http://evil.example", "javascript:alert(1)"],
)
def test_the_switcher_never_sends_anyone_off_site(db, next_url):
    response = Client().post("/i18n/setlang/", {"language": "de", "next": next_url})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"] and not response["Location"].startswith("javascript")


def test_a_german_confirmation_keeps_the_german_wording_as_evidence(news_list, smtp, logging_on):
    contact = ContactFactory(email="lena@example.de", language="de")
    consent_change(contact=contact, level=3, source=Source.IMPORT)
    client = Client(**ENGLISH)
    open_center(client, contact)
    client.post(CENTER, center_form(contact, lists=str(news_list.pk)))
    # The confirmation email is German: html lang and the German names of list and purpose.
    (message,) = smtp.messages
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert '<html lang="de">' in html and "Monatsnachrichten" in html and "Monatsnachrichten" in text
    (link,) = smtp.links("lena@example.de")
    path = urlparse(link).path
    confirm_page = Client(**ENGLISH).get(path)
    assert html_lang(confirm_page) == "de" and "Monatsnachrichten" in confirm_page.content.decode()
    done = Client(**ENGLISH).post(path, {"lists_offered": "1", "lists": str(news_list.pk)})
    assert done.status_code == 200, done.content.decode()
    record = ConsentChange.objects.filter(contact=contact, source=Source.DOUBLE_OPT_IN).first()
    wording = WordingVersion.objects.get(digest=record.evidence["wording"])
    assert wording.content["language"] == "de"
    assert wording.content["lists"]["monthly-news"] == "Monatsnachrichten: Einmal im Monat."
    assert wording.content["purposes"]["newsletter"] == "Rundbrief: Unsere monatlichen Neuigkeiten."


def test_the_switcher_on_a_personal_links_page_logs_no_token(news_list, caplog):
    """`next` carries the page's path, token included, back to our own site only: nothing logs it."""
    import logging

    contact = ContactFactory(email="lena@example.de", language="de")
    path = urlparse(unsubscribe_link(contact=contact, subscription_list=news_list)).path
    token = path.strip("/").split("/")[-1]
    client = Client()
    with caplog.at_level(logging.DEBUG):
        page = client.get(path)
        assert html_lang(page) == "de"
        assert f'name="next" value="{path}"' in page.content.decode()
        switched = client.post("/i18n/setlang/", {"language": "en", "next": path})
    assert switched["Location"] == path  # back to the same page, on our own site
    assert html_lang(client.get(path)) == "en"
    assert token not in caplog.text


def test_the_emailed_center_link_is_in_the_stored_language_whoever_asks(smtp):
    ContactFactory(email="lena@example.de", language="de")
    Client(**ENGLISH).post("/preferences/link/", {"email": "lena@example.de"})
    (message,) = smtp.messages
    assert '<html lang="de">' in message.get_body(preferencelist=("html",)).get_content()


def test_a_journeys_list_email_names_the_list_in_the_contacts_language(news_list, smtp):
    from journeys.emails import journey_email
    from journeys.models import EmailTemplate

    template = EmailTemplate.objects.create(name="News", subject="News", body="Hello {{ first_name }}!")
    lena = ContactFactory(first_name="Lena", email="lena@example.de", language="de")
    journey_email(template=template, contact=lena, subscription_list=news_list).send()
    (message,) = smtp.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Monatsnachrichten" in text and "Monthly news" not in text


def test_a_confirmation_in_another_language_than_the_request_keeps_both_wordings(news_list, smtp, logging_on):
    contact = ContactFactory(email="lena@example.de", language="de")
    consent_change(contact=contact, level=3, source=Source.IMPORT)
    client = Client()
    open_center(client, contact)
    client.post(CENTER, center_form(contact, lists=str(news_list.pk)))
    (link,) = smtp.links("lena@example.de")
    english = Client()
    english.cookies["django_language"] = "en"  # this browser chose English with the switcher
    path = urlparse(link).path
    assert html_lang(english.get(path)) == "en"
    english.post(path, {"lists_offered": "1", "lists": str(news_list.pk)})
    record = ConsentChange.objects.filter(contact=contact, source=Source.DOUBLE_OPT_IN).first()
    asked = WordingVersion.objects.get(digest=record.evidence["wording"])
    confirmed = WordingVersion.objects.get(digest=record.evidence["wording_confirmed"])
    assert (asked.content["language"], confirmed.content["language"]) == ("de", "en")
    assert confirmed.content["lists"]["monthly-news"] == "Monthly news: "


def test_the_coming_of_age_invitation_is_in_the_stored_language(smtp):
    from subscriptions.tasks import send_center_invitation

    teen = ContactFactory(email="tia@example.de", language="de")
    assert send_center_invitation(teen.pk) is True
    (message,) = smtp.messages
    assert '<html lang="de">' in message.get_body(preferencelist=("html",)).get_content()


def test_clearing_the_stored_language_in_the_center_answers_in_the_browsers(news_list, smtp):
    contact = ContactFactory(email="lena@example.de", language="de")
    client = Client(**ENGLISH)
    assert html_lang(open_center(client, contact)) == "de"
    saved = client.post(CENTER, center_form(contact, language=""))
    contact.refresh_from_db()
    assert contact.language == "" and html_lang(saved) == "en"
