"""The compliance dashboard: the right figures for the right roles, and the trail check button."""

import pytest
from django.urls import reverse

from consent.models import ConsentChange, Source
from consent.services import consent_change, consent_level_snapshot_take
from subscriptions.models import SubscriptionList
from subscriptions.services import RequestMeta, consent_request_create
from tests.factories import ContactFactory, PurposeFactory
from tests.tamper import tamper

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("consent-dashboard")


def test_dashboard_shows_levels_purpose_rates_and_double_opt_in(client_as, auditor, logging_on):
    news = PurposeFactory(name="Newsletter", slug="news")
    for level, answer in ((1, True), (4, True), (4, False), (5, None)):
        contact = ContactFactory()
        consent_change(contact=contact, level=level, source=Source.IMPORT)
        if answer is not None:
            consent_change(contact=contact, purposes={news: answer}, source=Source.IMPORT)
    consent_level_snapshot_take()
    lst = SubscriptionList.objects.create(name="News", slug="news")
    consent_request_create(
        contact=ContactFactory(), changes={"lists": [lst.pk]}, origin="signup", meta=RequestMeta()
    )

    context = client_as(auditor).get(DASHBOARD).context
    assert [(bar.label, bar.value) for bar in context["levels"]][4] == ("4 Marketing", 2)
    assert context["purposes"] == [{"name": "Newsletter", "yes": 2, "answered": 3, "rate": 67}]
    assert context["trend"][-1]["levels"] == [0, 1, 0, 0, 2, 1]  # taken before the sign-up added a contact
    assert context["doi"]["pending"] == 1 and context["doi"]["rate"] is None


@pytest.mark.parametrize(
    "persona, allowed",
    [("privacy_officer", True), ("auditor", True), ("marketer", False), ("outsider", False)],
)
def test_only_officers_and_auditors_see_the_dashboard(request, client_as, persona, allowed):
    response = client_as(request.getfixturevalue(persona)).get(DASHBOARD)
    assert response.status_code == (200 if allowed else 403)


def test_verify_button_reports_an_intact_and_a_broken_trail(client_as, auditor, logging_on):
    contact = ContactFactory()
    consent_change(contact=contact, level=2, source=Source.IMPORT)
    client = client_as(auditor)
    page = client.post(reverse("consent-verify-trail"), follow=True).content.decode()
    assert "Audit trail intact: 1 records" in page
    tamper("UPDATE consent_consentchange SET new_value = '5'")
    record = ConsentChange.objects.get()
    page = client.post(reverse("consent-verify-trail"), follow=True).content.decode()
    assert (
        f"Audit trail BROKEN: 1 problems in 1 records (its content was edited: 1). Records: #{record.pk}."
        in page
    )


def test_verify_refuses_a_get_and_a_marketer(client_as, auditor, marketer):
    assert client_as(auditor).get(reverse("consent-verify-trail")).status_code == 405
    assert client_as(marketer).post(reverse("consent-verify-trail")).status_code == 403


def test_dashboard_shows_the_request_queue_completion_times_and_erasures(client_as, auditor, privacy_officer):
    from datetime import timedelta

    from django.utils import timezone

    from dsr.erasure import contacts_erase
    from dsr.models import DataSubjectRequest
    from dsr.services import dsr_complete, dsr_create, dsr_start, dsr_verify
    from tests.factories import ContactFactory

    overdue, _ = dsr_create(kind="access", email="a@example.org", channel="letter")
    DataSubjectRequest.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timedelta(days=2))
    soon, _ = dsr_create(kind="erase", email="b@example.org", channel="letter")
    DataSubjectRequest.objects.filter(pk=soon.pk).update(due_at=timezone.now() + timedelta(days=3))
    dsr_create(kind="rectify", email="c@example.org", channel="letter")
    for days in (2, 4, 9):  # completed access requests taking 2, 4 and 9 days: median 4
        done, _ = dsr_create(kind="export", email=f"d{days}@example.org", channel="web")
        dsr_verify(request=done, actor=privacy_officer, how="reply")
        dsr_start(request=done, actor=privacy_officer)
        done = dsr_complete(request=done, actor=privacy_officer)
        DataSubjectRequest.objects.filter(pk=done.pk).update(
            received_at=done.closed_at - timedelta(days=days)
        )
    contacts_erase(contacts=[ContactFactory(), ContactFactory()], actor=privacy_officer)

    context = client_as(auditor).get("/admin/dashboard/").context
    assert context["queue"] == {"open": 3, "due_this_week": 1, "overdue": 1}
    assert context["completion"] == [{"type": "Portability (Art. 20)", "completed": 3, "median_days": 4.0}]
    (month,) = context["erasures"]
    assert (month["erased"], month["restricted"]) == (2, 0)


def test_the_confirmation_rate_counts_a_declined_list_as_declined(client_as, auditor):
    from subscriptions import tokens
    from subscriptions.models import AccessToken
    from subscriptions.services import consent_request_confirm

    news = SubscriptionList.objects.create(name="News", slug="news")
    offers = SubscriptionList.objects.create(name="Offers", slug="offers")

    def confirm(changes, *, keep=None):
        request = consent_request_create(
            contact=ContactFactory(), changes=changes, origin="signup", meta=RequestMeta()
        )
        link = tokens.text_for(AccessToken.Kind.CONFIRM, tokens.derive(request.nonce))
        assert consent_request_confirm(link=link, meta=RequestMeta(), lists=keep).status == "confirmed"

    confirm({"lists": [news.pk, offers.pk]}, keep={news.pk})  # one yes, one no
    confirm({"lists": [offers.pk]}, keep=set())  # clicked the link, unticked the list: a no
    confirm({"level": 3})  # a raise without lists: one yes

    doi = client_as(auditor).get(DASHBOARD).context["doi"]
    assert (doi["confirmed"], doi["declined_lists"]) == (3, 2)
    assert doi["rate"] == 50  # two yes of four answers; counting every click as a yes said 100
