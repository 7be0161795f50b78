"""GET /api/v1/contacts/{id}/eligibility/: the contact page's explanation through the API, from the
same rules the eligibility selector filters by."""

import pytest

from consent.models import Source
from consent.selectors import eligible_contacts
from consent.services import consent_change
from contacts.services import contact_update
from journeys.selectors import journey_criteria
from staff.models import AccessLogEntry
from subscriptions.eligibility_targets import list_criteria
from subscriptions.models import SubscriptionList
from subscriptions.services import Status, subscription_set
from tests.factories import ContactFactory, PurposeFactory, make_journey, with_consent

pytestmark = pytest.mark.django_db


def one(response) -> dict:
    """The only answer (one purpose, list or journey asked about), with the contact's id."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["answers"]) == 1 and body["eligible"] == body["answers"][0]["eligible"]
    return {"contact": body["contact"], **body["answers"][0]}


def url(contact, **query) -> str:
    from urllib.parse import urlencode

    return f"/api/v1/contacts/{contact.pk}/eligibility/" + (f"?{urlencode(query)}" if query else "")


@pytest.fixture
def world(logging_on):
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter")
    news = SubscriptionList.objects.create(name="Monthly news", slug="news", purpose=newsletter, min_level=3)
    journey = make_journey(min_level=4)
    people = {
        "yes_at_marketing": with_consent(ContactFactory(), level=4, purposes={"newsletter": True}),
        "no_at_profiling": with_consent(ContactFactory(), level=5, purposes={"newsletter": False}),
        "yes_at_subscriptions": with_consent(ContactFactory(), level=3, purposes={"newsletter": True}),
        "silent": ContactFactory(),
        "unsubscribed": with_consent(ContactFactory(), level=4, purposes={"newsletter": True}),
    }
    subscription_set(
        contact=people["unsubscribed"], subscription_list=news, status=Status.UNSUBSCRIBED, source="import"
    )
    return newsletter, news, journey, people


def test_the_eligible_flag_is_the_selectors_answer_for_purpose_list_and_journey(
    api_as, privacy_officer, world
):
    newsletter, news, journey, people = world
    client = api_as(privacy_officer)
    questions = [
        ({"purpose": "newsletter", "min_level": 4}, {"min_level": 4, "purpose": newsletter}),
        ({"purpose": "newsletter"}, {"min_level": 0, "purpose": newsletter}),
        ({"list": news.pk}, list_criteria(news)),
        ({"journey": journey.pk}, journey_criteria(journey)),
        ({"min_level": 5}, {"min_level": 5}),
    ]
    seen = set()
    for query, criteria in questions:
        selected = set(eligible_contacts(**criteria).values_list("pk", flat=True))
        for contact in people.values():
            body = one(client.get(url(contact, **query)))
            assert body["eligible"] == (contact.pk in selected), (query, body)
            assert body["contact"] == contact.pk
            seen.add(body["eligible"])
    assert seen == {True, False}  # the questions tell people apart


def test_the_answer_says_why_in_the_words_of_the_contact_page(api_as, marketer, world):
    _newsletter, news, journey, people = world
    client = api_as(marketer)

    body = one(client.get(url(people["no_at_profiling"], purpose="newsletter")))
    assert body["asked"] == "purpose “Newsletter”"
    assert body["eligible"] is False
    failed = [f for f in body["findings"] if not f["met"]]
    assert [f["rule"] for f in failed] == ["no_purpose_consent"]
    assert failed[0]["words"].startswith("Newsletter answered No on ")
    assert body["summary"].startswith("Not eligible: Newsletter answered No")

    body = one(client.get(url(people["unsubscribed"], list=news.pk)))
    assert body["asked"] == "list “Monthly news”"
    assert [f["rule"] for f in body["findings"] if not f["met"]] == ["unsubscribed"]
    assert "Unsubscribed from" in body["summary"]

    body = one(client.get(url(people["yes_at_subscriptions"], journey=journey.pk)))
    assert [f["rule"] for f in body["findings"] if not f["met"]] == ["below_minimum"]
    assert "below the Marketing that journey “Welcome” needs" in body["summary"]


def test_a_role_without_sensitive_fields_is_not_told_of_a_child(api_as, marketer, privacy_officer, world):
    guardian = ContactFactory()
    child = with_consent(ContactFactory(), level=4, purposes={"newsletter": True})
    contact_update(contact=child, is_child=True, guardian=guardian)
    query = {"min_level": 5}
    officer = one(api_as(privacy_officer).get(url(child, **query)))
    assert "child" in [f["rule"] for f in officer["findings"] if not f["met"]]
    shown = one(api_as(marketer).get(url(child, **query)))
    assert shown["eligible"] is False
    assert "child" not in [f["rule"] for f in shown["findings"]]
    assert shown["hidden"] == 2  # the child rule and the restriction rule
    assert "child" not in str(shown).lower()


def test_permissions_and_visibility_are_the_contacts_apis(
    api_as, outsider, marketer, auditor, privacy_officer, world
):
    _newsletter, _news, _journey, people = world
    contact = people["yes_at_marketing"]
    assert api_as(outsider).get(url(contact)).status_code == 403
    assert api_as(auditor).get(url(contact)).status_code == 200
    restricted = ContactFactory()
    contact_update(contact=restricted, processing_restricted=True)
    assert api_as(marketer).get(url(restricted)).status_code == 404
    body = one(api_as(privacy_officer).get(url(restricted, purpose="newsletter")))
    assert body["eligible"] is False
    assert body["findings"][0]["rule"] == "restricted" and not body["findings"][0]["met"]


def test_a_read_is_written_to_the_access_log(api_as, privacy_officer, world):
    contact = world[3]["silent"]
    api_as(privacy_officer).get(url(contact, purpose="newsletter"))
    entry = AccessLogEntry.objects.get(user=privacy_officer)
    assert entry.action == AccessLogEntry.Action.API_READ
    assert list(entry.contacts.values_list("contact_id", flat=True)) == [contact.pk]
    assert str(contact.email) not in entry.path


@pytest.mark.parametrize(
    "query, status, field",
    [
        ({"purpose": "horoscope"}, 404, "detail"),
        ({"list": 987654}, 404, "detail"),
        ({"journey": 987654, "purpose": "newsletter"}, 404, "detail"),
        ({"journey": "x"}, 400, "journey"),
        ({"min_level": 9}, 400, "min_level"),
        ({"needs_tracking": "maybe"}, 400, "needs_tracking"),
    ],
)
def test_bad_questions_are_refused_with_a_message(api_as, privacy_officer, world, query, status, field):
    contact = world[3]["silent"]
    response = api_as(privacy_officer).get(url(contact, **query))
    assert response.status_code == status
    assert field in response.json()
    assert not AccessLogEntry.objects.exists()


def test_a_purpose_a_list_and_a_journey_at_once_get_one_answer_each(api_as, privacy_officer, world):
    _newsletter, news, journey, people = world
    query = {"journey": journey.pk, "list": news.pk, "purpose": "newsletter"}
    body = api_as(privacy_officer).get(url(people["yes_at_subscriptions"], **query)).json()
    assert [a["asked"] for a in body["answers"]] == [
        "purpose “Newsletter”",
        "list “Monthly news”",
        "journey “Welcome”",
    ]
    assert [a["eligible"] for a in body["answers"]] == [True, True, False]
    assert body["eligible"] is False


def test_level_filters_of_the_contact_list_do_not_hide_the_contact(api_as, privacy_officer, world):
    # min_level is the question here, not the list's filter: a contact below it is answered, not 404.
    contact = world[3]["silent"]
    consent_change(contact=contact, level=1, source=Source.IMPORT)
    assert one(api_as(privacy_officer).get(url(contact, min_level=4)))["eligible"] is False
