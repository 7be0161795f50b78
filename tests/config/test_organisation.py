"""The organisation's details (GDPR Art. 13(1)(a)-(b)): set by the privacy officer in the
compliance settings, shown in the footer of every public page, left out when blank."""

import pytest
from django.urls import reverse

from core.models import ComplianceSettings
from subscriptions.models import SubscriptionList
from tests.admin_helpers import SETTINGS_FORM

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    reverse("subscriptions:center"),
    reverse("subscriptions:center-link-request"),
    reverse("dsr:request"),
    reverse("subscriptions:signup", args=["news"]),
]


@pytest.fixture
def news():
    return SubscriptionList.objects.create(name="News", slug="news", min_level=1, public=True)


@pytest.fixture
def organisation():
    settings = ComplianceSettings.load()
    settings.organisation_name = "Contoso & Sons Ltd"
    settings.controller_address = "1 Harbour Road\nDublin D02 XY45"
    settings.privacy_contact_email = "privacy@contoso.example"
    settings.dpo_contact = "Dana Officer, dpo@contoso.example"
    settings.save()
    return settings


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_every_public_page_names_the_controller_and_its_privacy_contact(client, news, organisation, url):
    response = client.get(url)
    footer = response.content.decode().split("<footer>")[1]
    assert response.status_code == 200
    assert "Responsible for your data: Contoso &amp; Sons Ltd" in footer
    assert "1 Harbour Road<br>Dublin D02 XY45" in footer
    assert '<a href="mailto:privacy@contoso.example">privacy@contoso.example</a>' in footer
    assert "Data protection officer: Dana Officer, dpo@contoso.example" in footer


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_with_nothing_set_the_footer_shows_no_empty_labels_and_a_name_set_appears_alone(client, news, url):
    response = client.get(url)
    footer = response.content.decode().split("<footer>")[1]
    assert response.status_code == 200
    for label in ("Responsible for your data", "Privacy questions", "Data protection officer", "<address"):
        assert label not in footer
    settings = ComplianceSettings.load()
    settings.organisation_name = "Contoso Ltd"
    settings.save()
    footer = client.get(url).content.decode().split("<footer>")[1]
    assert "Responsible for your data: Contoso Ltd" in footer and "Privacy questions" not in footer


def test_only_what_is_set_is_shown(client):
    settings = ComplianceSettings.load()
    settings.privacy_contact_email = "privacy@contoso.example"
    settings.save()
    footer = client.get(reverse("dsr:request")).content.decode().split("<footer>")[1]
    assert "privacy@contoso.example" in footer
    assert "Responsible for your data" not in footer and "Data protection officer" not in footer


def test_the_privacy_officer_sets_the_details_in_the_compliance_settings(client_as, privacy_officer, client):
    ComplianceSettings.load()  # the row exists from the first page any app reads it
    url = reverse("admin:core_compliancesettings_change", args=[1])
    officer = client_as(privacy_officer)
    form = officer.get(url).content.decode()
    assert "Organisation (shown on every public page)" in form and 'name="organisation_name"' in form
    data = {
        **SETTINGS_FORM,
        "organisation_name": "Contoso Ltd",
        "privacy_contact_email": "privacy@contoso.example",
    }
    assert officer.post(url, data).status_code == 302
    footer = client.get(reverse("subscriptions:center")).content.decode().split("<footer>")[1]
    assert "Contoso Ltd" in footer and "privacy@contoso.example" in footer
    assert ComplianceSettings.history.first().history_user == privacy_officer


def test_a_malformed_privacy_address_is_refused_and_nothing_changes(client_as, privacy_officer):
    ComplianceSettings.load()
    url = reverse("admin:core_compliancesettings_change", args=[1])
    response = client_as(privacy_officer).post(
        url, {"age_of_consent": "16", "privacy_contact_email": "not an address"}
    )
    assert response.status_code == 200 and "Enter a valid email address." in response.content.decode()
    assert ComplianceSettings.load().privacy_contact_email == ""
