"""Californian opt-outs: "Do Not Sell or Share", "Limit the Use of My Sensitive Personal
Information" and Global Privacy Control on every public page (CCPA/CPRA, regs §7025)."""

from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
import time_machine
from django.urls import reverse

from consent.models import ConsentChange, PurposeConsent, Source
from consent.opt_outs import OptOut
from consent.selectors import Ineligibility, eligible_contacts, ineligibility_reason
from consent.services import consent_change
from contacts.models import Contact
from subscriptions.gpc import CENTER_SESSION_KEY
from subscriptions.privacy_mark import COOKIE
from subscriptions.services import center_link
from subscriptions.services.links import leave_link
from subscriptions.services.privacy_choices import opt_out_purposes
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db

PAGE = "/privacy-choices/"
OPTED_OUT = "You have opted out."
REASK = "Allow it again"
START = datetime(2026, 1, 10, 12, tzinfo=UTC)


def in_center(client, contact):
    client.get(urlparse(center_link(contact=contact)).path)
    return client


def sale():
    return next(p for p in opt_out_purposes() if p.opt_out == OptOut.SALE_SHARING)


def test_an_opt_out_of_sale_stops_every_purpose_that_sells_or_shares(logging_on):
    partners = PurposeFactory(slug="partner-offers")
    partners.stopped_by.add(sale())
    news = PurposeFactory(slug="news")
    stays, leaves = ContactFactory(), ContactFactory()
    for person in (stays, leaves):
        consent_change(contact=person, level=4, purposes={partners: True, news: True}, source=Source.IMPORT)
    consent_change(contact=leaves, purposes={sale(): False}, source=Source.SUBSCRIPTION_CENTER)

    for purpose in (partners, "partner-offers", sale(), sale().slug):
        assert list(eligible_contacts(min_level=1, purpose=purpose)) == [stays]
    # A purpose that neither sells nor shares is not touched by the opt-out.
    assert set(eligible_contacts(min_level=1, purpose=news)) == {stays, leaves}
    assert ineligibility_reason(leaves, min_level=1, purpose=partners) == Ineligibility.OPTED_OUT


def test_an_opt_out_purpose_needs_no_yes():
    silent = ContactFactory()
    consent_change(contact=silent, level=1, source=Source.IMPORT)
    assert list(eligible_contacts(min_level=1, purpose=sale())) == [silent]
    assert list(eligible_contacts(min_level=1, purpose=sale().slug)) == [silent]


def test_gpc_opts_a_known_contact_out_of_sale_and_is_not_asked_again_for_a_year(client, logging_on):
    contact = ContactFactory()
    consent_change(contact=contact, level=3, source=Source.IMPORT)
    with time_machine.travel(START, tick=False):
        in_center(client, contact)
        page = client.get(PAGE, HTTP_SEC_GPC="1")
    assert "Global Privacy Control" in page.content.decode() and OPTED_OUT in page.content.decode()
    (record,) = ConsentChange.objects.filter(contact=contact, purpose=sale())
    assert (record.old_value, record.new_value, record.source) == ("", "False", Source.SUBSCRIPTION_CENTER)
    assert record.evidence["gpc"] is True and record.evidence["header"] == "Sec-GPC: 1"
    assert record.evidence["page"] == PAGE and record.evidence["at"].startswith("2026-01-10T12:00")
    assert contact not in eligible_contacts(min_level=0, purpose=sale())

    def visit(moment):
        with time_machine.travel(moment, tick=False):
            session = client.session
            session[CENTER_SESSION_KEY] = contact.pk
            session.save()
            return client.get(PAGE).content.decode()  # no signal this time

    for later in (datetime(2026, 1, 11, tzinfo=UTC), datetime(2026, 12, 9, tzinfo=UTC)):  # 11 months
        html = visit(later)
        assert OPTED_OUT in html and REASK not in html
    assert REASK in visit(datetime(2027, 1, 10, 12, tzinfo=UTC))  # 12 months on
    # Asking again is never done while the browser still sends the signal.
    with time_machine.travel(datetime(2027, 2, 1, tzinfo=UTC), tick=False):
        assert REASK not in client.get(PAGE, HTTP_SEC_GPC="1").content.decode()
    assert ConsentChange.objects.filter(contact=contact, purpose=sale()).count() == 1


def test_gpc_from_an_unknown_visitor_marks_the_browser_and_creates_no_contact(client):
    before = Contact.objects.count()
    page = client.get(PAGE, HTTP_SEC_GPC="1")
    assert OPTED_OUT in page.content.decode() and COOKIE in page.cookies
    assert Contact.objects.count() == before and not PurposeConsent.objects.exists()
    # The mark stays with the browser on the next page, without the signal.
    assert OPTED_OUT in client.get(PAGE).content.decode()


def test_gpc_on_any_public_page_is_applied_and_shown(client, logging_on):
    contact = ContactFactory()
    in_center(client, contact)
    page = client.get(reverse("dsr:request"), HTTP_SEC_GPC="1")
    assert "Global Privacy Control honoured" in page.content.decode()
    assert PurposeConsent.objects.get(contact=contact, purpose=sale()).granted is False


def test_anyone_can_opt_out_on_the_page_and_a_known_contact_gets_a_record(client, logging_on):
    html = client.get(PAGE).content.decode()
    assert "Do Not Sell or Share My Personal Information" in html
    assert "Limit the Use of My Sensitive Personal Information" in html
    refused = client.post(PAGE, {"action": "opt_out"})
    assert refused.status_code == 400 and "Choose at least one" in refused.content.decode()

    contact = ContactFactory()
    in_center(client, contact)
    client.post(PAGE, {"action": "opt_out", "opt_out": [OptOut.SENSITIVE]})
    (record,) = ConsentChange.objects.filter(contact=contact)
    assert record.purpose.opt_out == OptOut.SENSITIVE and record.new_value == "False"
    assert record.evidence["page"] == PAGE


def test_opting_back_in_is_refused_within_the_year(client, logging_on):
    contact = ContactFactory()
    in_center(client, contact)
    client.post(PAGE, {"action": "opt_out", "opt_out": [OptOut.SALE_SHARING]})
    refused = client.post(PAGE, {"action": "opt_in", "kind": OptOut.SALE_SHARING})
    assert refused.status_code == 400
    assert PurposeConsent.objects.get(contact=contact, purpose=sale()).granted is False


def test_gpc_with_a_personal_link_opts_its_contact_out_and_a_forged_one_nobody(client, logging_on):
    contact = ContactFactory()
    client.get(urlparse(leave_link(contact=contact)).path, HTTP_SEC_GPC="1")
    assert PurposeConsent.objects.get(contact=contact, purpose=sale()).granted is False
    client.get(reverse("subscriptions:unsubscribe", args=["forged"]), HTTP_SEC_GPC="1")
    assert PurposeConsent.objects.count() == 1
