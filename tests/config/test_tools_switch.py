"""The data-protection tools switch (issue 25 scope 4): off, the consent and data subject request
areas leave the staff menus and the public pages; nothing is deleted, and the eligibility selector
applies every rule either way. On again, every record is where it was."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from consent.models import ConsentChange, Purpose, Source
from consent.selectors import eligible_contacts
from consent.services import consent_change
from contacts.models import Contact
from contacts.services import contact_update
from core.models import ComplianceSettings
from dsr.models import DataSubjectRequest
from dsr.services import dsr_create
from tests.admin_helpers import SETTINGS_FORM
from tests.factories import ContactFactory, PurposeFactory, with_consent

SETTINGS = reverse("admin:core_compliancesettings_change", args=[1])
INDEX = reverse("admin:index")


def switch(client, on: bool) -> None:
    """What an officer does: the compliance settings form, the tools box ticked or not."""
    data = {key: value for key, value in SETTINGS_FORM.items() if key != "data_protection_tools_enabled"}
    if on:
        data["data_protection_tools_enabled"] = "on"
    assert client.post(SETTINGS, {"log_consent_changes": "on", **data}).status_code == 302
    assert ComplianceSettings.load().data_protection_tools_enabled is on


def links(response) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', response.content.decode()))


def everything() -> dict:
    return {
        "contacts": Contact.objects.count(),
        "records": ConsentChange.objects.count(),
        "purposes": Purpose.objects.count(),
        "requests": DataSubjectRequest.objects.count(),
    }


@pytest.fixture
def data(logging_on):
    news = PurposeFactory(slug="news", name="Newsletter")
    ann = with_consent(ContactFactory(email="ann@example.org"), level=4, purposes={news: True})
    request, _created = dsr_create(kind="access", channel="email", email="ann@example.org")
    return {"contact": ann, "request": request}


def test_the_switch_is_on_by_default(db):
    assert ComplianceSettings.load().data_protection_tools_enabled is True
    assert ComplianceSettings.data_protection_tools_shown() is True


def test_off_hides_the_areas_from_staff_and_public_and_on_restores_them_with_every_record(
    client_as, privacy_officer, data
):
    officer = client_as(privacy_officer)
    before = everything()
    shown = links(officer.get(INDEX))
    assert {"/admin/consent/", "/admin/dsr/", reverse("consent-dashboard")} <= shown
    public = Client()
    assert public.get(reverse("dsr:request")).status_code == 200
    assert reverse("dsr:request") in links(public.get(reverse("subscriptions:center-link-request")))

    switch(officer, on=False)

    index = officer.get(INDEX)
    hidden = links(index)
    assert not {"/admin/consent/", "/admin/dsr/", reverse("consent-dashboard")} & hidden
    assert "Compliance dashboard" not in index.content.decode()
    assert "/admin/contacts/" in hidden  # the rest of the back office is untouched
    sidebar = links(officer.get(reverse("admin:contacts_contact_changelist")))
    assert not any(link.startswith(("/admin/dsr/", "/admin/consent/")) for link in sidebar)
    assert officer.get("/admin/dsr/").status_code == 404
    assert officer.get("/admin/consent/").status_code == 404
    assert officer.get(SETTINGS).status_code == 200  # where the switch is turned back on

    for path in (reverse("dsr:request"), reverse("dsr:confirm", args=["any-link"])):
        page = public.get(path)
        assert page.status_code == 404 and "Data requests are not offered here" in page.content.decode()
    assert (
        public.post(reverse("dsr:request"), {"kind": "erase", "email": "bob@example.org"}).status_code == 404
    )
    assert reverse("dsr:request") not in links(public.get(reverse("subscriptions:center-link-request")))
    assert everything() == before  # nothing deleted

    switch(officer, on=True)

    assert {"/admin/consent/", "/admin/dsr/", reverse("consent-dashboard")} <= links(officer.get(INDEX))
    queue = officer.get(reverse("admin:dsr_datasubjectrequest_changelist"))
    assert data["request"].reference in queue.content.decode()
    records = officer.get(reverse("admin:consent_consentchange_changelist"))
    assert records.status_code == 200 and "Newsletter" in records.content.decode()
    assert public.get(reverse("dsr:request")).status_code == 200
    assert reverse("dsr:request") in links(public.get(reverse("subscriptions:center-link-request")))
    assert everything() == before


def test_the_eligibility_selector_applies_every_rule_with_the_switch_off(
    client_as, privacy_officer, logging_on
):
    news = PurposeFactory(slug="news")
    adult = with_consent(ContactFactory(), level=5, tracking_allowed=True, purposes={news: True})
    no_purpose = with_consent(ContactFactory(), level=5, tracking_allowed=True)
    child = with_consent(ContactFactory(is_child=True, guardian=ContactFactory()), level=4)
    restricted = with_consent(ContactFactory(), level=5, purposes={news: True})
    contact_update(contact=restricted, processing_restricted=True)
    low = with_consent(ContactFactory(), level=2, purposes={news: True})
    questions = [
        {"min_level": 4},
        {"min_level": 5},
        {"min_level": 0, "needs_tracking": True},
        {"min_level": 3, "purpose": "news"},
    ]

    def answers():
        return [set(eligible_contacts(**question).values_list("pk", flat=True)) for question in questions]

    expected = [
        {adult.pk, no_purpose.pk, child.pk},
        {adult.pk, no_purpose.pk},
        {adult.pk, no_purpose.pk},
        {adult.pk},
    ]
    assert answers() == expected
    switch(client_as(privacy_officer), on=False)
    assert answers() == expected  # restriction, children, tracking, purpose, level: all still apply
    assert restricted.pk not in set().union(*answers()) and low.pk not in set().union(*answers())
    # Consent still changes through the one write path, with its record.
    consent_change(contact=low, level=4, source=Source.ADMIN, actor=privacy_officer, justification="letter")
    assert low.consent_changes.filter(new_value="4").exists()
