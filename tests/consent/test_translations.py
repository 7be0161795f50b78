"""Purpose and list wording per language (core.translations): entered in the admin, one field per
configured language, checked before anything is saved."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from consent.models import Purpose
from subscriptions.models import SubscriptionList

pytestmark = pytest.mark.django_db

ADD_PURPOSE = "/admin/consent/purpose/add/"


def purpose_form(**overrides) -> dict:
    data = {
        "name": "Newsletter",
        "slug": "newsletter",
        "description": "Our monthly news.",
        "active": "on",
        "legal_basis": "consent",
        "data_categories": "",
        "retention": "",
        "validity_clock": "last_action",  # the retention rule's clock (a select, never absent in a browser)
        "recipients": "",
        "translation_de_name": "Rundbrief",
        "translation_de_description": "Unsere monatlichen Neuigkeiten.",
    }
    data.update(overrides)
    return data


def test_officer_gives_the_german_wording_in_the_admin(client_as, privacy_officer):
    client = client_as(privacy_officer)
    form = client.get(ADD_PURPOSE).content.decode()
    assert 'name="translation_de_name"' in form and 'name="translation_de_description"' in form
    assert 'name="translation_en_name"' not in form  # the default language is the model's own fields
    response = client.post(ADD_PURPOSE, purpose_form())
    assert response.status_code == 302
    purpose = Purpose.objects.get(slug="newsletter")
    assert purpose.translations == {
        "de": {"name": "Rundbrief", "description": "Unsere monatlichen Neuigkeiten."}
    }
    with translation.override("de"):
        assert purpose.shown_name == "Rundbrief"
    with translation.override("en"):
        assert purpose.shown_name == "Newsletter"
    # The change form shows what is stored.
    change = client.get(f"/admin/consent/purpose/{purpose.pk}/change/").content.decode()
    assert 'value="Rundbrief"' in change


def test_a_too_long_translation_is_refused_in_the_admin_and_nothing_is_saved(client_as, privacy_officer):
    client = client_as(privacy_officer)
    response = client.post(ADD_PURPOSE, purpose_form(translation_de_name="R" * 101))
    assert response.status_code == 200
    assert "at most 100 characters" in response.content.decode()
    assert not Purpose.objects.filter(slug="newsletter").exists()


def test_a_list_translation_is_refused_when_it_is_blank_only_in_spaces(client_as, privacy_officer):
    client = client_as(privacy_officer)
    lst = SubscriptionList.objects.create(name="Monthly news", slug="monthly-news")
    url = f"/admin/subscriptions/subscriptionlist/{lst.pk}/change/"
    form = client.get(url).content.decode()
    assert 'name="translation_de_name"' in form
    data = {
        "name": "Monthly news",
        "slug": "monthly-news",
        "description": "",
        "min_level": "3",
        "public": "on",
        "active": "on",
        "legal_basis": "consent",
        "validity_clock": "last_action",
        "translation_de_name": "Monatsnachrichten",
        "translation_de_description": "",
    }
    assert client.post(url, data).status_code == 302
    lst.refresh_from_db()
    assert lst.translations == {"de": {"name": "Monatsnachrichten"}}
    with translation.override("de"):
        assert lst.shown_name == "Monatsnachrichten"
        assert lst.shown_description == ""  # no German description: the default wording


@pytest.mark.parametrize(
    "translations, problem",
    [
        ({"fr": {"name": "Lettre"}}, "not a language"),
        ({"en": {"name": "News"}}, "not a language"),  # the default lives in the model's fields
        ({"de": {"title": "Rundbrief"}}, "cannot be translated"),
        ({"de": {"name": "  "}}, "is empty"),
        ({"de": {"name": 3}}, "is empty"),
        ({"de": {"name": "R" * 101}}, "longer than 100"),
        ({"de": {}}, "at least one"),
        ({"de": {"name": "Rund\x00brief"}}, "NUL character"),  # PostgreSQL refuses it in jsonb
        ({"de": {"name": "Rund\ud800brief"}}, "lone surrogate"),
        (["de", "Rundbrief"], "must be an object"),
    ],
)
def test_bad_translations_are_refused_by_the_model(translations, problem):
    purpose = Purpose(name="Newsletter", slug="newsletter", translations=translations)
    with pytest.raises(ValidationError) as refused:
        purpose.full_clean()
    assert problem in " ".join(refused.value.messages)
