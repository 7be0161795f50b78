"""Segments and their members through the API: the members are exactly who the one eligibility
selector lets journeys and exports process, in cursor pages, every page in the access log."""

import pytest

from consent.models import Purpose
from contacts.services import contact_update
from journeys.selectors import segment_members
from staff.models import AccessLogEntry
from subscriptions.models import SubscriptionList
from subscriptions.services import Status, subscription_set
from tests.factories import SHIPPED_JOURNEYS, ContactFactory, make_segment, with_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    Purpose.objects.create(name="Newsletter", slug="newsletter")
    Purpose.objects.create(name="Offers", slug="offers")
    yes = [
        with_consent(ContactFactory(country="DE"), level=level, purposes={"newsletter": True})
        for level in (1, 2, 3, 4)
    ]
    no = with_consent(ContactFactory(country="DE"), level=3, purposes={"newsletter": False})
    elsewhere = with_consent(ContactFactory(country="FR"), level=3, purposes={"newsletter": True})
    restricted = with_consent(ContactFactory(country="DE"), level=3, purposes={"newsletter": True})
    contact_update(contact=restricted, processing_restricted=True, reason="DSR restriction")
    return {"yes": yes, "no": no, "elsewhere": elsewhere, "restricted": restricted}


def ids(response):
    assert response.status_code == 200, response.content
    return {m["id"] for m in response.json()["results"]}


def test_members_are_who_the_eligibility_selector_lets_through(api_as, privacy_officer, people):
    segment = make_segment()
    client = api_as(privacy_officer)
    url = f"/api/v1/segments/{segment.pk}/members/"
    assert ids(client.get(url)) == {c.pk for c in people["yes"]}  # never the restricted one
    assert ids(client.get(url, {"min_level": 3})) == {c.pk for c in people["yes"][2:]}
    assert ids(client.get(url, {"min_level": 3})) == set(
        segment_members(segment=segment, min_level=3).values_list("pk", flat=True)
    )


def test_a_list_leaves_out_who_unsubscribed_and_a_purpose_who_did_not_say_yes(api_as, marketer, people):
    segment = make_segment()
    news = SubscriptionList.objects.create(name="News", slug="news")
    gone = people["yes"][0]
    subscription_set(contact=gone, subscription_list=news, status=Status.UNSUBSCRIBED, source="api")
    client = api_as(marketer)
    url = f"/api/v1/segments/{segment.pk}/members/"
    assert gone.pk not in ids(client.get(url, {"list": "news"}))
    assert ids(client.get(url, {"purpose": "offers"})) == set()


def test_members_come_in_cursor_pages_and_each_page_is_logged(api_as, auditor, people):
    segment = make_segment()
    client = api_as(auditor)
    first = client.get(f"/api/v1/segments/{segment.pk}/members/", {"page_size": 3}).json()
    assert len(first["results"]) == 3 and first["next"] and "count" not in first
    second = client.get(first["next"]).json()
    assert {m["id"] for m in first["results"] + second["results"]} == {c.pk for c in people["yes"]}
    logged = AccessLogEntry.objects.filter(user=auditor, action=AccessLogEntry.Action.API_READ)
    assert sorted(e.contact_count for e in logged) == [1, 3]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"purpose": "horoscope"}, 404),
        ({"list": "nope"}, 404),
        ({"min_level": 9}, 400),
        ({"min_level": "x"}, 400),
    ],
)
def test_unknown_or_malformed_criteria_are_refused(api_as, marketer, people, query, status):
    segment = make_segment()
    response = api_as(marketer).get(f"/api/v1/segments/{segment.pk}/members/", query)
    assert response.status_code == status and response["Content-Type"] == "application/json"


def test_segments_are_read_with_their_rules(api_as, auditor, people):
    segment = make_segment()
    client = api_as(auditor)
    names = [s["name"] for s in client.get("/api/v1/segments/").json()]
    assert [name for name in names if name not in SHIPPED_JOURNEYS] == ["Newsletter DE"]
    assert client.get(f"/api/v1/segments/{segment.pk}/").json()["rules"] == segment.rules


def test_an_outsider_reads_no_segment_and_no_member(api_as, outsider, people):
    segment = make_segment()
    client = api_as(outsider)
    assert client.get("/api/v1/segments/").status_code == 403
    assert client.get(f"/api/v1/segments/{segment.pk}/members/").status_code == 403


@pytest.mark.parametrize("name", ["purpose", "list", "min_level"])
def test_a_criterion_sent_empty_is_refused_not_ignored(api_as, marketer, people, name):
    # Read as "not sent", it answered every member where the client asked for some.
    segment = make_segment()
    response = api_as(marketer).get(f"/api/v1/segments/{segment.pk}/members/", {name: ""})
    assert response.status_code == 400 and name in response.json()


def test_a_member_without_a_language_is_answered_as_the_schema_says(api_as, marketer, people):
    from drf_spectacular.generators import SchemaGenerator

    segment = make_segment()
    members = api_as(marketer).get(f"/api/v1/segments/{segment.pk}/members/").json()["results"]
    assert "" in {m["language"] for m in members}
    language = SchemaGenerator().get_schema(public=True)["components"]["schemas"]["SegmentMember"]
    assert "enum" not in language["properties"]["language"]
