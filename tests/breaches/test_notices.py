"""The people a breach affected (GDPR Art. 34): found by criteria, previewed, each told once by
email; restricted people, erased people and addresses that take no mail get no email."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from breaches.models import BreachNotice
from breaches.services import breach_notice_preview, breach_notices_send, breach_notify_people
from consent.models import Source
from contacts.deliverability import bounce_record
from contacts.models import Contact
from contacts.services import contact_update
from core import registry
from core.registry import Erasure
from dsr.erasure import contacts_erase
from subscriptions.services import subscription_set
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def _on(news, **fields) -> Contact:
    contact = ContactFactory(**fields)
    subscription_set(contact=contact, subscription_list=news, status="subscribed", source=Source.IMPORT)
    return contact


@pytest.fixture
def readers(news):
    """Five readers of News, one unsubscribed (a legal notice still reaches them), one restricted,
    one without an address and one whose address bounced; and someone not on the list."""
    kept = [_on(news), _on(news)]
    left = _on(news)
    subscription_set(contact=left, subscription_list=news, status="unsubscribed", source=Source.IMPORT)
    restricted = _on(news)
    contact_update(contact=restricted, processing_restricted=True, reason="Art. 18 request")
    _on(news, email="", phone="+4930123456")
    bounced = _on(news)
    bounce_record(contacts=[bounced], hard=True, evidence="550 no such user")
    ContactFactory()  # not affected
    return {"emailed": [*kept, left], "restricted": restricted, "bounced": bounced}


def test_the_preview_counts_exactly_who_gets_the_notice_and_a_rerun_sends_nothing_twice(
    smtp_server, make_breach, news, readers, django_capture_on_commit_callbacks, smtp
):
    breach = make_breach(affected_list=news)
    preview = breach_notice_preview(breach=breach)
    assert (preview.affected, preview.count) == (6, 3)
    assert preview.withheld == {"restricted": 1, "undeliverable": 1, "no_address": 1}
    assert {c.pk for c in preview.sample} == {c.pk for c in readers["emailed"]}

    with django_capture_on_commit_callbacks(execute=True):
        assert breach_notify_people(breach=breach, expected=preview.count) == 6
    assert sorted(m["To"] for m in smtp.messages) == sorted(c.email for c in readers["emailed"])
    body = smtp.bodies(readers["emailed"][0].email)[0]
    assert breach.people_notice in body and breach.measures in body and "Dana Dpo" in body
    assert "unsubscribe" not in body.lower()  # a legal notice, not marketing: no way out to offer
    breach.refresh_from_db()
    assert breach.people_notified_at is not None

    # Pressed again (or the task delivered twice): nobody is emailed again.
    again = breach_notice_preview(breach=breach)
    assert (again.count, again.already) == (3, 3)
    with django_capture_on_commit_callbacks(execute=True):
        assert breach_notify_people(breach=breach, expected=again.count) == 0
    assert breach_notices_send(breach_id=breach.pk) == 0
    assert len(smtp.messages) == 3
    withheld = dict(BreachNotice.objects.exclude(withheld="").values_list("contact_id", "withheld"))
    assert withheld[readers["restricted"].pk] == "restricted"
    assert withheld[readers["bounced"].pk] == "undeliverable"
    assert BreachNotice.objects.filter(sent_at__isnull=False).count() == 3


def test_a_changed_audience_or_a_missing_criterion_is_refused_and_nothing_is_written(
    make_breach, news, readers
):
    breach = make_breach(affected_list=news)
    with pytest.raises(ValidationError, match="changed since the preview"):
        breach_notify_people(breach=breach, expected=2)
    with pytest.raises(ValidationError, match="Say who was affected"):
        breach_notify_people(breach=make_breach(), expected=0)
    with pytest.raises(ValidationError, match="words for the people"):
        breach_notify_people(breach=make_breach(affected_list=news, people_notice=" "), expected=3)
    assert not BreachNotice.objects.exists()


def test_who_is_restricted_or_erased_before_the_send_gets_no_email(
    smtp_server, make_breach, news, readers, privacy_officer
):
    breach = make_breach(affected_list=news)
    breach_notify_people(breach=breach, expected=3)  # the task is not run: the commit never comes
    first, second, third = readers["emailed"]
    contact_update(contact=first, processing_restricted=True, reason="Art. 18 request")
    contacts_erase(contacts=[second], actor=privacy_officer, scan=False)

    assert breach_notices_send(breach_id=breach.pk) == 1
    assert [m["To"] for m in smtp_server.messages] == [third.email]
    assert BreachNotice.objects.get(contact=first).withheld == "restricted"
    # The erased person's notice stays as the register's proof, without them (core.registry).
    assert registry.entry_for(BreachNotice).erasure == Erasure.ANONYMISE
    assert BreachNotice.objects.filter(breach=breach, contact__isnull=True, email="").count() == 1


def test_the_preview_page_shows_the_count_and_the_officer_notifies_from_it(
    client_as, privacy_officer, auditor, make_breach, news, readers, smtp, django_capture_on_commit_callbacks
):
    breach = make_breach(affected_list=news)
    url = reverse("admin:breaches_breach_people", args=[breach.pk])
    page = client_as(privacy_officer).get(url).content.decode()
    assert 'id="notice-count">3<' in page and "Notify these 3 people" in page
    assert readers["emailed"][0].email in page
    assert "Notify these" not in client_as(auditor).get(url).content.decode()  # auditors read
    assert client_as(auditor).post(url, {"expected": "3"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        done = client_as(privacy_officer).post(url, {"expected": "3"})
    assert done.status_code == 302 and len(smtp.messages) == 3
    stale = client_as(privacy_officer).post(url, {"expected": "7"}, follow=True).content.decode()
    assert "changed since the preview" in stale and len(smtp.messages) == 3
