"""Re-permission before consent lapses (issue 21, scope 3), with a frozen clock across two lapse
cycles: the default journey's email arrives 30 days before the 24-month lapse over real SMTP, a
confirming click renews through double opt-in and starts the clocks again, an open does not, and
nobody is asked twice in one cycle."""

import datetime as dt
import importlib
import re
from urllib.parse import urlparse

import pytest
import time_machine
from django.apps import apps as django_apps
from django.urls import reverse

from consent.models import ConsentChange, PurposeConsent, RetentionClock, Source
from consent.retention import _KINDS as KINDS
from consent.retention import add_months, lapsing_contacts
from contacts.models import LegalHold
from journeys.models import Journey
from journeys.repermission import repermission_run
from journeys.services import journey_go_live, journeys_run
from subscriptions.models import ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import subscription_set
from tests.factories import ContactFactory, PurposeFactory, with_consent

pytestmark = pytest.mark.django_db

START = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
LAPSE = add_months(START, 24)
PERSON = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(autouse=True)
def shipped():
    """The default re-permission journeys as journeys 0015 ships them (a transactional test run
    before this one in the same database flushed the migration's rows)."""
    importlib.import_module("journeys.migrations.0016_repermission").create(django_apps, None)


def at(moment):
    return time_machine.travel(moment, tick=False)


def run(moment):
    """The beat's jobs on one day: the journeys run (every few minutes), the daily re-permission
    job among them."""
    with at(moment):
        journeys_run()
        repermission_run()
        journeys_run()


def go_live(name="Re-permission (English)"):
    return journey_go_live(journey=Journey.objects.get(name=name))


@pytest.fixture
def newsletter():
    # Counted from the person's last action: the CNIL's rule for prospects.
    return PurposeFactory(slug="newsletter", name="Newsletter", consent_validity_months=24)


@pytest.fixture
def news_list(newsletter):
    # Counted from the answer's date: the other clock, on a list.
    return SubscriptionList.objects.create(
        name="Monthly news",
        slug="monthly-news",
        min_level=3,
        consent_validity_months=24,
        validity_clock=RetentionClock.ANSWER,
    )


def subscriber(newsletter, news_list=None, **fields):
    with at(START):
        contact = with_consent(
            ContactFactory(**fields), level=4, tracking_allowed=True, purposes={newsletter: True}
        )
        if news_list is not None:
            subscription_set(
                contact=contact, subscription_list=news_list, status="subscribed", source=Source.IMPORT
            )
    return contact


def confirm_links(smtp, recipient):
    return [urlparse(u).path for u in smtp.links(recipient) if "/confirm/" in u]


def lapsing(record, moment):
    kind = KINDS["list" if isinstance(record, SubscriptionList) else "purpose"]
    return set(lapsing_contacts(kind, record, by=moment).values_list("email", flat=True))


def test_the_email_comes_30_days_before_the_lapse_and_a_confirming_click_renews(
    client, newsletter, news_list, smtp, logging_on
):
    go_live()
    ada = subscriber(newsletter, news_list, email="ada@example.org", first_name="Ada")

    run(LAPSE - dt.timedelta(days=31))
    assert smtp.messages == []  # not yet within the 30 days

    run(LAPSE - dt.timedelta(days=29))
    (message,) = smtp.messages
    assert message["To"] == "ada@example.org" and message["Subject"] == "Do you still want to hear from us?"
    (link,) = confirm_links(smtp, "ada@example.org")

    run(LAPSE - dt.timedelta(days=28))
    run(LAPSE - dt.timedelta(days=2))
    assert len(smtp.messages) == 1  # once per lapse cycle

    # An open is the mail client, not Ada: nothing moves.
    html = message.get_body(preferencelist=("html",)).get_content()
    (pixel,) = {urlparse(u).path for u in re.findall(r"https?://[^\s<>\"]*?/t/o/[^/\s<>\"]+/?", html)}
    with at(LAPSE - dt.timedelta(days=20)):
        assert client.get(pixel).status_code == 200
    ada.refresh_from_db()
    assert ada.last_action_at == START
    assert "ada@example.org" in lapsing(newsletter, LAPSE)

    renewed = LAPSE - dt.timedelta(days=10)
    with at(renewed):
        page = client.get(link)
        assert "Newsletter" in page.content.decode() and "Monthly news" in page.content.decode()
        result = client.post(link, HTTP_USER_AGENT=PERSON)
    assert result.status_code == 200
    ada.refresh_from_db()
    assert ada.last_action_at == renewed  # the purpose's clock: the person's last action
    answer = PurposeConsent.objects.get(contact=ada, purpose=newsletter)
    assert answer.granted and answer.changed_at == renewed and answer.source == Source.DOUBLE_OPT_IN
    subscription = Subscription.objects.get(contact=ada, subscription_list=news_list)
    assert subscription.status == "subscribed" and subscription.changed_at == renewed  # the answer's date
    record = ConsentChange.objects.get(contact=ada, source=Source.DOUBLE_OPT_IN)
    assert (record.old_value, record.new_value) == ("True", "True")  # the renewal, recorded
    assert record.evidence["confirmation"] == ConsentRequest.objects.get(origin="renewal").pk

    # Past the old lapse date nothing lapses and nobody is asked again...
    assert lapsing(newsletter, LAPSE + dt.timedelta(days=1)) == set()
    assert lapsing(news_list, LAPSE + dt.timedelta(days=1)) == set()
    run(LAPSE + dt.timedelta(days=1))
    run(add_months(renewed, 24) - dt.timedelta(days=31))
    assert len(smtp.messages) == 1

    # ...until the next cycle, 30 days before the renewed consent lapses.
    run(add_months(renewed, 24) - dt.timedelta(days=29))
    assert len(smtp.messages) == 2
    assert confirm_links(smtp, "ada@example.org")[1] != link


def test_no_answer_lets_it_lapse_and_a_second_ask_never_comes(newsletter, smtp):
    go_live()
    bea = subscriber(newsletter, email="bea@example.org")
    for day in (29, 15, 1):
        run(LAPSE - dt.timedelta(days=day))
    assert len(smtp.messages) == 1
    assert "bea@example.org" in lapsing(newsletter, LAPSE)
    bea.refresh_from_db()
    assert bea.last_action_at == START


def test_restricted_never_asked_held_asked_child_through_the_guardian_german_in_german(
    newsletter, smtp, django_capture_on_commit_callbacks
):
    go_live()
    go_live("Re-permission (Deutsch)")
    subscriber(newsletter, email="rita@example.org", processing_restricted=True)
    held = subscriber(newsletter, email="hal@example.org")
    LegalHold.objects.create(contact=held, reason="tax audit", until=dt.date(2030, 1, 1))
    subscriber(newsletter, email="greta@example.org", language="de")
    guardian = ContactFactory(email="parent@example.org")
    child = ContactFactory(email="kid@example.org", is_child=True, guardian=guardian)
    with at(START):
        with_consent(child, level=4, purposes={newsletter: True})

    with django_capture_on_commit_callbacks(execute=True):
        run(LAPSE - dt.timedelta(days=29))
    with django_capture_on_commit_callbacks(execute=True):
        run(LAPSE - dt.timedelta(days=20))  # nobody twice, guardians included

    sent = {m["To"]: m for m in smtp.messages}
    assert set(sent) == {"hal@example.org", "greta@example.org", "parent@example.org"}
    assert len(smtp.messages) == 3
    assert sent["greta@example.org"]["Subject"] == "Möchten Sie weiterhin von uns hören?"
    request = ConsentRequest.objects.get(contact=child)
    assert request.on_behalf_of_child and request.sent_to == "parent@example.org"
    assert request.changes == {"purposes": {"newsletter": True}}


def test_nothing_is_asked_while_the_default_journeys_are_drafts(newsletter, smtp):
    subscriber(newsletter, email="ada@example.org")
    run(LAPSE - dt.timedelta(days=29))
    assert smtp.messages == [] and not ConsentRequest.objects.exists()


def test_the_shipped_journeys_open_for_review_in_the_admin(client_as, marketer):
    client = client_as(marketer)
    for name in ("Re-permission (English)", "Re-permission (Deutsch)"):
        journey = Journey.objects.get(name=name)
        (step,) = journey.steps.all()
        for model, pk in (
            ("journey", journey.pk),
            ("segment", journey.segment_id),
            ("emailtemplate", step.template_id),
        ):
            assert client.get(reverse(f"admin:journeys_{model}_change", args=[pk])).status_code == 200
        step.template.full_clean()  # the shipped text passes the placeholder check and renders
