"""Sign-ups nobody confirmed are erased after the period, with nothing left behind, and the double
opt-in evidence of an erased person stays only pseudonymised (issue 21, scope 6)."""

import datetime as dt
from urllib.parse import urlparse

import pytest
import time_machine
from django.core.management import call_command

from consent.audit_chain import subject_hash
from consent.models import ConsentChange, Source
from consent.services import consent_change
from contacts.models import Contact
from contacts.suppression import is_suppressed
from dsr.erasure import contacts_erase
from dsr.models import ErasureRecord
from dsr.residue import Identity, residue_scan
from subscriptions.models import AccessToken, ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import RequestMeta, confirmation_link, consent_request_confirm, signup
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 6, 2, 8, 0, tzinfo=dt.UTC)
BROWSER = RequestMeta(ip="203.0.113.7", user_agent="Mozilla/5.0 (sign-up)")


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def news_list():
    news = PurposeFactory(slug="news", name="Newsletter")
    return SubscriptionList.objects.create(name="Monthly", slug="monthly", purpose=news, min_level=3)


def sign_up(news_list, email, when):
    with at(when):
        return signup(subscription_list=news_list, email=email, first_name="Gus", meta=BROWSER)


def test_an_unconfirmed_signup_older_than_the_period_is_gone_entirely_a_younger_one_stays(
    client, news_list, settings
):
    settings.UNCONFIRMED_SIGNUP_PURGE_DAYS = 30
    old = sign_up(news_list, "ghost@example.org", T0)
    link = confirmation_link(old)
    ghost_id = old.contact_id
    young = sign_up(news_list, "fresh@example.org", T0 + dt.timedelta(days=20))
    known = ContactFactory(email="known@example.org")
    consent_change(contact=known, level=3, source=Source.IMPORT)
    widening = sign_up(news_list, "known@example.org", T0)  # an existing contact's request

    with at(T0 + dt.timedelta(days=29)):
        call_command("purge_unconfirmed_signups")
    assert Contact.objects.filter(pk=ghost_id).exists()  # within the period: kept

    with at(T0 + dt.timedelta(days=31)):
        call_command("purge_unconfirmed_signups")
        dead = client.get(urlparse(link).path)

    ghost = Identity("ghost@example.org", "", "Gus", "")
    assert residue_scan([ghost]).clean  # no row, history row, request or log names the address
    assert not Contact.objects.filter(pk=ghost_id).exists()
    assert not Contact.history.filter(id=ghost_id).exists()
    assert not Subscription.history.filter(contact_id=ghost_id).exists()
    assert not ConsentRequest.objects.filter(pk=old.pk).exists()
    assert not AccessToken.objects.filter(contact_id=ghost_id).exists()
    assert dead.status_code == 400  # the link is dead: answered as an invalid one
    assert not is_suppressed(email="ghost@example.org")  # the owner may still sign up
    (record,) = ErasureRecord.objects.all()
    assert record.contacts_erased == 1 and "unconfirmed sign-up" in record.receipt["reason"]

    assert Contact.objects.filter(email="fresh@example.org").exists()  # younger than the period
    assert ConsentRequest.objects.filter(pk=young.pk).exists()
    assert Contact.objects.filter(pk=known.pk).exists()  # an existing contact stays...
    assert not ConsentRequest.objects.filter(pk=widening.pk).exists()  # ...without the request
    assert not Subscription.objects.filter(contact=known).exists()  # nor the pending subscription

    with at(T0 + dt.timedelta(days=32)):
        call_command("purge_unconfirmed_signups")
    assert ErasureRecord.objects.count() == 1  # idempotent


def test_an_erased_persons_double_opt_in_evidence_no_longer_names_them(news_list, logging_on):
    request = sign_up(news_list, "holly@contoso.com", T0)
    with at(T0 + dt.timedelta(hours=2)):
        done = consent_request_confirm(
            link=urlparse(confirmation_link(request)).path.rstrip("/").rsplit("/", 1)[-1],
            meta=RequestMeta(ip="198.51.100.4", user_agent="Firefox"),
        )
    assert done.status == "confirmed"
    holly = request.contact
    pending = sign_up(news_list, "holly@contoso.com", T0 + dt.timedelta(days=3))  # never confirmed

    contacts_erase(contacts=[holly], actor=None, scan=False)

    assert not ConsentRequest.objects.filter(pk=pending.pk).exists()  # proves nothing: gone
    kept = ConsentRequest.objects.get(pk=request.pk)  # proof of the confirmation stays...
    assert kept.pseudonymised and kept.confirmed_at == T0 + dt.timedelta(hours=2)
    assert kept.changes == {"lists": [news_list.pk]}
    # ...naming nobody: no contact, address, IP, browser or link; only the keyed mark that ties it to
    # the person's pseudonymised consent records.
    assert (kept.contact_id, kept.token_id, kept.sent_to, kept.nonce) == (None, None, "", "")
    assert (kept.request_ip, kept.request_user_agent, kept.confirm_ip, kept.confirm_user_agent) == (
        None,
        "",
        None,
        "",
    )
    assert kept.subject_tag == subject_hash(holly.pk)
    assert set(
        ConsentChange.objects.filter(subject_tag=kept.subject_tag).values_list("pseudonymised", flat=True)
    ) == {True}
    assert residue_scan([Identity("holly@contoso.com", "", "Gus", "")]).clean


def test_a_restricted_unconfirmed_signup_is_not_purged(news_list, settings):
    """Art. 18: a contact whose processing is restricted is chosen for nothing, erasure included
    (the purge picks its contacts through the eligibility selector)."""
    settings.UNCONFIRMED_SIGNUP_PURGE_DAYS = 30
    held = sign_up(news_list, "restricted@example.org", T0)
    gone = sign_up(news_list, "ghost@example.org", T0)
    Contact.objects.filter(pk=held.contact_id).update(processing_restricted=True)

    with at(T0 + dt.timedelta(days=31)):
        call_command("purge_unconfirmed_signups")

    assert Contact.objects.filter(pk=held.contact_id).exists()
    assert not Contact.objects.filter(pk=gone.contact_id).exists()
