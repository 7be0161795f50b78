"""A data subject request's pages and emails speak the requester's language: a known person's
stored one, otherwise the language the request was made in. Mail crosses real SMTP."""

import re
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from dsr.models import DataSubjectRequest, RequestSubmission
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)  # mail leaves on commit, as in production
FORM = reverse("dsr:request")
GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


@pytest.fixture(autouse=True)
def default_language_after():
    yield
    translation.activate("en")  # a German request leaves German active in this thread


def html_lang_of(message) -> str:
    html = message.get_body(preferencelist=("html",)).get_content()
    return re.search(r'<html lang="([^"]*)"', html).group(1)


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]*)"', response.content.decode()).group(1)


def submit(client, email):
    return client.post(FORM, {"kind": "access", "email": email, "name": "", "details": ""})


def confirm_link(smtp, email) -> str:
    (link,) = [link for link in smtp.links(email) if "/requests/confirm/" in link]
    return urlparse(link).path


def test_a_request_made_in_german_without_a_contact_is_answered_in_german(smtp):
    client = Client(**GERMAN)
    submit(client, "unbekannt@example.de")
    assert RequestSubmission.objects.get().language == "de"
    (link_mail,) = smtp.messages
    assert html_lang_of(link_mail) == "de"
    # The link's page speaks the language of the request, whatever the browser opening it says.
    link = confirm_link(smtp, "unbekannt@example.de")
    assert html_lang(Client(**ENGLISH).get(link)) == "de"
    Client(**ENGLISH).post(link)
    request = DataSubjectRequest.objects.get()
    assert request.language == "de" and not request.contacts.exists()
    ack = smtp.messages[-1]
    assert request.reference in ack["Subject"] and html_lang_of(ack) == "de"


def test_a_known_persons_stored_language_beats_the_one_the_request_was_made_in(smtp):
    ContactFactory(email="lena@example.de", language="de")
    submit(Client(**ENGLISH), "lena@example.de")
    Client(**ENGLISH).post(confirm_link(smtp, "lena@example.de"))
    request = DataSubjectRequest.objects.get()
    assert request.language == "en"
    assert html_lang_of(smtp.messages[-1]) == "de"  # the acknowledgement


def test_the_erasure_receipt_of_a_german_person_is_german_though_the_contact_is_gone(smtp, privacy_officer):
    from dsr.services import dsr_create, dsr_erase, dsr_start, dsr_verify

    ContactFactory(email="lena@example.de", language="de")
    request, _ = dsr_create(kind="erase", email="lena@example.de", channel="email", language="en")
    dsr_verify(request=request, actor=privacy_officer, how="replied from the address")
    try:
        dsr_erase(request=dsr_start(request=request, actor=privacy_officer), actor=privacy_officer)
    finally:
        translation.activate("en")
    (receipt,) = smtp.messages
    assert html_lang_of(receipt) == "de"
