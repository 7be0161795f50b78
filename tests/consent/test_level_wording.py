"""Levels in the organisation's own words (issue 25 scope 3): officers reword the six levels per
language in the admin; the public pages, the staff pages and the exports read the new words; each
change is a new version, and a consent change record names the version of the words shown."""

import re
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from consent.models import ConsentChange, Source
from core.levels import ConsentLevel, level_wording, memo
from core.models import LevelWording
from subscriptions.models import WordingVersion
from subscriptions.services import center_link
from tests.factories import ContactFactory, with_consent
from tests.subscriptions.center_form import center_form

CENTER = "/preferences/"
CHANGELIST = reverse("admin:core_levelwording_changelist")


@pytest.fixture(autouse=True)
def english_after():
    yield
    translation.activate("en")


def change_url(level: int) -> str:
    return reverse("admin:core_levelwording_change", args=[LevelWording.objects.get(level=level).pk])


def reword(client, level: int, name: str, description: str, de_name: str = "", de_description: str = ""):
    """What an officer does: open the list (the six levels are there), edit one, save."""
    assert client.get(CHANGELIST).status_code == 200
    response = client.post(
        change_url(level),
        {
            "name": name,
            "description": description,
            "translation_de_name": de_name,
            "translation_de_description": de_description,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return LevelWording.objects.get(level=level)


def page_text(response) -> str:
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(body.split())


def open_center(client, contact):
    assert client.get(urlparse(center_link(contact=contact)).path).status_code == 302
    return client.get(CENTER)


def test_the_six_levels_are_listed_for_the_officer_and_cannot_be_added_or_deleted(client_as, privacy_officer):
    client = client_as(privacy_officer)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert list(LevelWording.objects.values_list("level", "version")) == [(level, 0) for level in range(6)]
    assert "Marketing" in page_text(page)
    assert client.get(reverse("admin:core_levelwording_add")).status_code == 403
    row = LevelWording.objects.get(level=4)
    assert (
        client.post(reverse("admin:core_levelwording_delete", args=[row.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert LevelWording.objects.count() == 6


def test_only_officers_reword_levels(client_as, privacy_officer, marketer, auditor, outsider):
    client_as(privacy_officer).get(CHANGELIST)  # the six rows
    url = change_url(4)
    for user in (marketer, outsider):
        assert client_as(user).get(url).status_code == 403
    assert client_as(auditor).get(url).status_code == 200  # reads the wording and its history
    refused = client_as(auditor).post(url, {"name": "Hacked", "description": "Hacked."})
    assert refused.status_code == 403
    assert LevelWording.objects.get(level=4).name == "Marketing"


def test_a_renamed_level_appears_on_the_public_center_in_both_languages(client_as, privacy_officer):
    reword(
        client_as(privacy_officer),
        4,
        "Offers by email",
        "We may email you our offers and seasonal campaigns.",
        "Angebote per E-Mail",
        "Wir dürfen Ihnen unsere Angebote und saisonalen Aktionen mailen.",
    )
    english = ContactFactory(email="ann@example.org", language="en")
    page = page_text(open_center(Client(), english))
    assert "Offers by email — We may email you our offers and seasonal campaigns." in page
    assert "Marketing —" not in page

    german = ContactFactory(email="lena@example.de", language="de")
    seite = page_text(open_center(Client(), german))
    assert "Angebote per E-Mail — Wir dürfen Ihnen unsere Angebote und saisonalen Aktionen mailen." in seite
    assert "Offers by email" not in seite
    # A level the officer did not reword keeps the catalogue's German.
    assert "Abonnements —" in seite


def test_without_a_german_wording_the_organisations_own_words_beat_the_stock_translation(
    client_as, privacy_officer
):
    reword(client_as(privacy_officer), 2, "Service messages", "Receipts and delivery notices only.")
    assert level_wording(2, "de").name == "Service messages"
    assert level_wording(3, "de").name == "Abonnements"


def test_each_change_of_the_words_is_a_new_version_with_history(client_as, privacy_officer):
    client = client_as(privacy_officer)
    first = reword(client, 3, "Newsletters", "The newsletters you chose.")
    assert first.version == 1
    same = reword(client, 3, "Newsletters", "The newsletters you chose.")
    assert same.version == 1  # saved again unchanged: still the same words
    second = reword(client, 3, "Newsletters", "The newsletters you chose.", "Rundbriefe", "Ihre Rundbriefe.")
    assert second.version == 2
    versions = [(h.version, h.name) for h in first.history.order_by("history_id")]
    assert versions[0] == (0, "Subscriptions") and (1, "Newsletters") in versions and versions[-1][0] == 2


def test_a_level_change_in_the_center_records_the_wording_version_shown(
    client_as, privacy_officer, logging_on
):
    reword(client_as(privacy_officer), 3, "Newsletters", "The newsletters you chose.")
    contact = with_consent(ContactFactory(email="ann@example.org", language="en"), level=4)
    client = Client()
    open_center(client, contact)
    saved = client.post(CENTER, center_form(contact, consent_given="3"))
    assert saved.status_code in (200, 302), saved.content.decode()[:2000]

    record = ConsentChange.objects.get(
        contact=contact, source=Source.SUBSCRIPTION_CENTER, field="consent_given"
    )
    assert record.new_value == "3"
    assert record.evidence["level_wording"] == {"level": 3, "version": 1, "language": "en"}
    shown = WordingVersion.objects.get(digest=record.evidence["wording"])
    assert shown.content["levels"]["3"] == "Newsletters: The newsletters you chose."
    # Staff read the record, and its export, in the new words.
    assert record.new_display == "3 Newsletters"


def test_a_german_level_change_records_the_german_wording(client_as, privacy_officer, logging_on):
    reword(
        client_as(privacy_officer),
        3,
        "Newsletters",
        "The newsletters you chose.",
        "Rundbriefe",
        "Ihre Rundbriefe.",
    )
    contact = with_consent(ContactFactory(email="lena@example.de", language="de"), level=4)
    client = Client()
    open_center(client, contact)
    client.post(CENTER, center_form(contact, consent_given="3"))
    record = ConsentChange.objects.get(
        contact=contact, source=Source.SUBSCRIPTION_CENTER, field="consent_given"
    )
    assert record.evidence["level_wording"] == {"level": 3, "version": 1, "language": "de"}
    shown = WordingVersion.objects.get(digest=record.evidence["wording"])
    assert (
        shown.content["language"] == "de" and shown.content["levels"]["3"] == "Rundbriefe: Ihre Rundbriefe."
    )


def test_staff_pages_name_levels_in_the_new_words(client_as, privacy_officer, logging_on):
    client = client_as(privacy_officer)
    reword(client, 4, "Offers by email", "We may email you our offers.")
    with_consent(ContactFactory(email="ann@example.org"), level=4)
    contacts = page_text(client.get(reverse("admin:contacts_contact_changelist")))
    assert "4 Offers by email" in contacts
    dashboard = page_text(client.get(reverse("consent-dashboard")))
    assert "4 Offers by email" in dashboard


def test_list_filters_on_level_fields_offer_the_new_words(client_as, privacy_officer):
    client = client_as(privacy_officer)
    reword(client, 4, "Offers by email", "We may email you our offers.")
    for url, lookup in (
        (reverse("admin:contacts_contact_changelist"), "consent_given__exact"),
        (reverse("admin:subscriptions_subscriptionlist_changelist"), "min_level__exact"),
        (reverse("admin:consent_consentlevelsnapshot_changelist"), "level__exact"),
    ):
        page = client.get(url).content.decode()
        assert re.search(rf'<a href="\?{lookup}=4">\s*4 Offers by email\s*</a>', page), url
        assert not re.search(rf'<a href="\?{lookup}=4">\s*Marketing\s*</a>', page), url
    # Choosing it filters as before, and the sidebar marks the new words as chosen.
    with_consent(ContactFactory(email="ann@example.org"), level=4)
    with_consent(ContactFactory(email="bob@example.org"), level=3)
    chosen = client.get(reverse("admin:contacts_contact_changelist"), {"consent_given__exact": "4"})
    text = page_text(chosen)
    assert "ann@example.org" in text and "bob@example.org" not in text
    assert re.search(r'class="selected">\s*<a href="\?consent_given__exact=4">4 Offers by email', chosen.text)


def test_a_page_reads_the_wording_once_however_many_levels_it_names(db, django_assert_num_queries):
    with django_assert_num_queries(1), memo():
        names = [level_wording(level).name for level in ConsentLevel for _repeat in range(20)]
    assert names[0] == "None" and len(names) == 120
