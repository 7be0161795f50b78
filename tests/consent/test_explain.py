"""Explaining eligibility: the selector's own rules tell, for one contact, why it may (not) be
processed, in words; the explanation says "eligible" exactly when the selector returns it."""

import re

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.models import Source
from consent.selectors import Ineligibility, eligibility_explain, eligible_contacts
from consent.services import consent_change
from contacts.deliverability import bounce_record
from contacts.models import Contact
from contacts.services import contact_update
from subscriptions.models import SubscriptionList
from subscriptions.services import subscription_set
from tests.factories import ContactFactory, PurposeFactory, UserFactory, with_consent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("logging_on")]

DAY = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4}")


# --- one source of truth: a property over random contacts and criteria -------------------------

PERSON = st.fixed_dictionaries(
    {
        "level": st.integers(0, 5),
        "child": st.booleans(),
        "tracking": st.booleans(),
        "restricted": st.booleans(),
        "answer": st.sampled_from([None, True, False]),
        "list_status": st.sampled_from([None, "pending", "subscribed", "unsubscribed"]),
        "bounce": st.sampled_from([None, "soft", "hard"]),
    }
)
CRITERIA = st.fixed_dictionaries(
    {
        "min_level": st.integers(0, 5),
        "purpose": st.sampled_from([None, "object", "slug", "unknown slug"]),
        "needs_tracking": st.booleans(),
        "subscription_list": st.booleans(),
        "channel": st.sampled_from(["", "email"]),
    }
)


def build(person, *, guardian, news, news_list) -> Contact:
    child = person["child"]
    contact = ContactFactory(is_child=child, guardian=guardian if child else None)
    level = min(person["level"], 4) if child else person["level"]  # the database refuses more
    changes = {"level": level, "tracking_allowed": person["tracking"]}
    if person["answer"] is not None:
        changes["purposes"] = {news: person["answer"]}
    consent_change(contact=contact, source=Source.IMPORT, **changes)
    if person["list_status"]:
        subscription_set(
            contact=contact, subscription_list=news_list, status=person["list_status"], source=Source.API
        )
    if person["bounce"]:
        bounce_record(contacts=[contact], hard=person["bounce"] == "hard", evidence="test")
    if person["restricted"]:
        contact_update(
            contact=contact, processing_restricted=True, reason="restriction requested (DSR-0A1B2C3D)"
        )
    return contact


def expected_failures(person, criteria) -> list[Ineligibility]:
    """The rules a person fails, worked out from the test's own data, not from the rules."""
    level = min(person["level"], 4) if person["child"] else person["level"]
    failed = []
    if person["restricted"]:
        failed.append(Ineligibility.RESTRICTED)
    if criteria["subscription_list"] and person["list_status"] == "unsubscribed":
        failed.append(Ineligibility.UNSUBSCRIBED)
    if person["child"] and (criteria["min_level"] == 5 or criteria["needs_tracking"]):
        failed.append(Ineligibility.CHILD)  # tracking a child's interactions profiles them too
    if level < criteria["min_level"]:
        failed.append(Ineligibility.BELOW_MINIMUM)
    if criteria["needs_tracking"] and not person["tracking"]:
        failed.append(Ineligibility.NO_TRACKING)
    if criteria["purpose"] == "unknown slug" or (criteria["purpose"] and person["answer"] is not True):
        failed.append(Ineligibility.NO_PURPOSE_CONSENT)
    if criteria["channel"] == "email" and person["bounce"] == "hard":
        failed.append(Ineligibility.UNDELIVERABLE)
    return failed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(PERSON, min_size=1, max_size=3), asked=CRITERIA)
def test_the_explanation_says_eligible_exactly_when_the_selector_returns_the_contact(people, asked):
    with transaction.atomic():
        news = PurposeFactory(slug="news", name="Newsletter")
        news_list, _ = SubscriptionList.objects.get_or_create(
            slug="monthly", defaults={"name": "Monthly news"}
        )
        guardian = ContactFactory()
        contacts = [build(p, guardian=guardian, news=news, news_list=news_list) for p in people]
        purpose = {None: None, "object": news, "slug": "news", "unknown slug": "gone"}[asked["purpose"]]
        criteria = {
            "min_level": asked["min_level"],
            "purpose": purpose,
            "needs_tracking": asked["needs_tracking"],
            "subscription_list": news_list if asked["subscription_list"] else None,
            "channel": asked["channel"],
        }
        chosen = eligible_contacts(
            queryset=Contact.objects.filter(pk__in=[c.pk for c in contacts]), **criteria
        )
        returned = set(chosen.values_list("pk", flat=True))
        for person, contact in zip(people, contacts, strict=True):
            explanation = eligibility_explain(contact_id=contact.pk, **criteria)
            assert explanation.eligible == (contact.pk in returned)
            assert [f.reason for f in explanation.reasons] == expected_failures(person, asked)
            assert all(f.words for f in explanation.findings)
            assert explanation.summary.startswith("Eligible" if explanation.eligible else "Not eligible")
            # What a role without the sensitive fields reads never tells a child or a restriction:
            # it gets every other failed rule, and when those were the only ones (a restriction, or
            # a child asked about tracking at a level it holds) a "no" without a reason.
            seen = explanation.for_viewer(sees_sensitive=False)
            hidden = {Ineligibility.CHILD, Ineligibility.RESTRICTED}
            assert {f.reason for f in seen.findings}.isdisjoint(hidden)
            shown = [r for r in expected_failures(person, asked) if r not in hidden]
            assert [f.reason for f in seen.reasons] == shown
            if not explanation.eligible and not shown:
                assert seen.summary == "Not eligible, for a reason your role may not see."
        transaction.set_rollback(True)


# --- the words of each reason ---------------------------------------------------------------------


def words(contact, **criteria) -> str:
    explanation = eligibility_explain(contact_id=contact.pk, **criteria)
    assert not explanation.eligible
    return " ".join(f.words for f in explanation.reasons)


def test_a_level_below_the_minimum_names_both_levels_and_who_needs_it():
    contact = with_consent(ContactFactory(), level=3)
    said = words(contact, min_level=4, asked="journey “Welcome”")
    assert said.startswith("Level Subscriptions is below the Marketing that journey “Welcome” needs")
    assert "via Import" in said and DAY.search(said)


def test_a_purpose_answered_no_names_the_answer_date_and_import_row():
    news = PurposeFactory(slug="news", name="Newsletter")
    contact = ContactFactory()
    consent_change(
        contact=contact,
        level=4,
        purposes={news: False},
        source=Source.IMPORT,
        evidence={"import_source": "CRM", "file": "crm.csv", "row": 14},
    )
    said = words(contact, min_level=1, purpose=news)
    assert re.fullmatch(
        r"Newsletter answered No on \d{1,2} [A-Z][a-z]+ \d{4} via import “CRM” row 14\.", said
    )


def test_a_purpose_never_answered_says_so():
    PurposeFactory(slug="news", name="Newsletter")
    contact = with_consent(ContactFactory(), level=4)
    assert words(contact, min_level=1, purpose="news").startswith("Newsletter never answered")
    assert words(contact, min_level=1, purpose="nothing").startswith("There is no purpose “nothing”")


def test_a_restriction_names_the_request_that_set_it():
    contact = with_consent(ContactFactory(), level=4)
    contact_update(contact=contact, processing_restricted=True, reason="restriction requested (DSR-1A2B3C4D)")
    said = words(contact, min_level=0)
    assert said.startswith("Processing restricted by request DSR-1A2B3C4D since ")
    assert "GDPR Art. 18" in said


def test_an_unsubscribe_names_the_list_and_the_day():
    news_list = SubscriptionList.objects.create(name="Monthly news", slug="monthly")
    contact = with_consent(ContactFactory(), level=4)
    subscription_set(contact=contact, subscription_list=news_list, status="unsubscribed", source=Source.API)
    said = words(contact, min_level=3, subscription_list=news_list)
    assert re.match(r"Unsubscribed from Monthly news on \d{1,2} [A-Z][a-z]+ \d{4} via API", said)


def test_an_undeliverable_address_names_the_bounce():
    contact = with_consent(ContactFactory(), level=4)
    bounce_record(contacts=[contact], hard=True, evidence="evt-1")
    said = words(contact, min_level=1, channel="email")
    assert said.startswith("Address undeliverable since ") and said.endswith("(hard bounce).")
    assert eligibility_explain(contact_id=contact.pk, min_level=1).eligible  # only mail is blocked


def test_a_child_is_never_profiled_and_refused_tracking_is_named():
    child = with_consent(ContactFactory(is_child=True, guardian=ContactFactory()), level=4)
    explanation = eligibility_explain(contact_id=child.pk, min_level=5, needs_tracking=True)
    reasons = {f.reason: f.words for f in explanation.reasons}
    assert reasons[Ineligibility.CHILD].startswith("A child: never profiled")
    assert reasons[Ineligibility.NO_TRACKING] == "Tracking refused: never allowed (ePrivacy Art. 5(3))."
    officer = UserFactory()
    consent_change(
        contact=child, tracking_allowed=True, source=Source.ADMIN, actor=officer, justification="x"
    )
    consent_change(
        contact=child, tracking_allowed=False, source=Source.ADMIN, actor=officer, justification="y"
    )
    found = eligibility_explain(contact_id=child.pk, min_level=1, needs_tracking=True).reasons
    said = {f.reason: f.words for f in found}[Ineligibility.NO_TRACKING]
    assert said.startswith("Tracking refused on ") and f"via Admin by {officer}" in said


def test_an_erased_contact_is_explained_as_erased():
    pk = ContactFactory().pk
    Contact.objects.filter(pk=pk).delete()  # what erasure leaves: no row
    explanation = eligibility_explain(contact_id=pk, min_level=0)
    assert explanation.erased and not explanation.eligible
    assert explanation.summary.startswith("Erased")


def test_an_eligible_contact_is_told_each_rule_it_meets():
    news = PurposeFactory(slug="news", name="Newsletter")
    contact = with_consent(ContactFactory(), level=5, purposes={news: True}, tracking_allowed=True)
    explanation = eligibility_explain(contact_id=contact.pk, min_level=4, purpose=news, needs_tracking=True)
    assert explanation.eligible and explanation.summary == "Eligible: every rule is met."
    said = {f.reason: f.words for f in explanation.findings}
    assert said[Ineligibility.BELOW_MINIMUM].startswith("Level Profiling meets the Marketing")
    assert said[Ineligibility.NO_PURPOSE_CONSENT].startswith("Newsletter answered Yes on ")


def test_explaining_one_contact_reads_few_queries(django_assert_max_num_queries):
    news = PurposeFactory(slug="news")
    contact = with_consent(ContactFactory(), level=2, purposes={news: False})
    # 10 (8 before 2026-12-03): the purpose and its stopping opt-outs are read before the rules
    # (consent.eligibility.Criteria), which keeps the selector's SQL to plain ids.
    with django_assert_max_num_queries(10):
        eligibility_explain(contact_id=contact.pk, min_level=4, purpose=news, needs_tracking=True)


# --- the contact's admin page: "Why is this contact (not) eligible?" ------------------------------


@pytest.fixture
def newsletter_journey():
    """Journey "Welcome" (Marketing, Newsletter, list Monthly news) and a contact who left all three
    through the subscription center."""
    from tests.factories import make_journey

    news = PurposeFactory(slug="newsletter", name="Newsletter")
    news_list = SubscriptionList.objects.create(name="Monthly news", slug="monthly", purpose=news)
    journey = make_journey(subscription_list=news_list)
    contact = with_consent(ContactFactory(), level=4, purposes={news: True})
    consent_change(contact=contact, level=3, purposes={news: False}, source=Source.SUBSCRIPTION_CENTER)
    subscription_set(contact=contact, subscription_list=news_list, status="unsubscribed", source=Source.API)
    return journey, contact


def eligibility_url(contact, **query) -> str:
    from urllib.parse import urlencode

    from django.urls import reverse

    url = reverse("admin:contacts_contact_eligibility", args=[contact.pk])
    return url + ("?" + urlencode(query) if query else "")


def test_the_contact_page_links_to_the_explanation(client_as, privacy_officer):
    from django.urls import reverse

    contact = ContactFactory()
    page = client_as(privacy_officer).get(reverse("admin:contacts_contact_change", args=[contact.pk]))
    assert eligibility_url(contact) in page.content.decode()


def test_an_officer_sees_why_a_contact_is_not_in_a_journey(client_as, privacy_officer, newsletter_journey):
    journey, contact = newsletter_journey
    client = client_as(privacy_officer)
    page = client.get(eligibility_url(contact))
    html = page.content.decode()
    # Every kind of target is offered: purposes, lists (registered by subscriptions), journeys.
    for offered in ("purpose:", "list:", f"journey:{journey.pk}"):
        assert f'value="{offered}' in html
    page = client.get(eligibility_url(contact, target=f"journey:{journey.pk}"))
    explanation = page.context["explanation"]
    assert not explanation.eligible
    html = page.content.decode()
    assert "Not eligible" in html and "journey “Welcome”" in html
    assert "Newsletter answered No on " in html and "via Subscription center" in html
    assert "Level Subscriptions is below the Marketing that journey “Welcome” needs" in html


def test_a_purpose_or_list_is_explained_with_its_own_rules(client_as, privacy_officer, newsletter_journey):
    journey, contact = newsletter_journey
    client = client_as(privacy_officer)
    news_list = journey.subscription_list
    page = client.get(eligibility_url(contact, target=f"list:{news_list.pk}"))
    assert "Unsubscribed from Monthly news on " in page.content.decode()
    purpose = journey.purpose
    page = client.get(eligibility_url(contact, target=f"purpose:{purpose.pk}", min_level=3))
    explanation = page.context["explanation"]
    assert [f.reason for f in explanation.reasons] == [Ineligibility.NO_PURPOSE_CONSENT]
    page = client.get(eligibility_url(contact, min_level=3))  # the level alone
    assert page.context["explanation"].eligible and "Eligible" in page.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"target": "journey:999999"},
        {"target": "purpose:abc"},
        {"target": "nothing:1"},
        {"target": "list:"},
        {"min_level": "9"},
        {"min_level": "x"},
    ],
)
def test_bad_input_is_a_form_error_and_explains_nothing(client_as, privacy_officer, query):
    contact = ContactFactory()
    page = client_as(privacy_officer).get(eligibility_url(contact, **query))
    assert page.status_code == 200
    assert page.context["explanation"] is None and page.context["form"].errors


def test_a_marketer_is_not_told_a_child_but_still_why_not(client_as, marketer, auditor):
    child = with_consent(ContactFactory(is_child=True, guardian=ContactFactory()), level=4)
    seen = client_as(marketer).get(eligibility_url(child, min_level=5)).content.decode()
    assert "child" not in seen.lower()
    assert "Level Marketing is below the Profiling" in seen
    assert "rule about a field your role does not see" in seen or "rules about fields" in seen
    assert (
        "A child: never profiled"
        in client_as(auditor).get(eligibility_url(child, min_level=5)).content.decode()
    )


def test_a_restricted_contact_is_explained_only_to_who_sees_restricted_contacts(
    client_as, privacy_officer, marketer, auditor
):
    contact = with_consent(ContactFactory(), level=4)
    contact_update(contact=contact, processing_restricted=True, reason="restriction requested (DSR-ABCD1234)")
    officer_page = client_as(privacy_officer).get(eligibility_url(contact, min_level=1))
    assert "Processing restricted by request DSR-ABCD1234" in officer_page.content.decode()
    for user in (marketer, auditor):
        refused = client_as(user).get(eligibility_url(contact, min_level=1))
        assert refused.status_code == 302 and "DSR-ABCD1234" not in refused.content.decode()


def test_reading_an_explanation_is_in_the_access_log(client_as, privacy_officer):
    from staff.models import AccessLogEntry

    contact = ContactFactory()
    client_as(privacy_officer).get(eligibility_url(contact, min_level=1))
    entry = AccessLogEntry.objects.get(user=privacy_officer)
    assert entry.contacts.get().contact_id == contact.pk
