"""The segment builder: rows of field, operator and value in the admin form, stored as the rule
tree journeys.rules runs; a stored rule opens in the rows and saves back identical; a mistake is
shown beside its row and nothing is saved; the live count is the eligibility selector's."""

import pytest
from django.urls import reverse

from consent.selectors import eligible_contacts
from contacts.models import Contact
from journeys.builder import RuleBuilder, rules_to_rows
from journeys.models import Segment
from journeys.rules import rules_to_q
from subscriptions.models import SubscriptionList
from tests.factories import SHIPPED_JOURNEYS, make_segment

pytestmark = pytest.mark.django_db

NEWSLETTER_MARKETING_DE = {
    "all": [
        {"purpose": "newsletter", "value": True},
        {"field": "consent_level", "op": "gte", "value": 4},
        {"field": "country", "op": "eq", "value": "DE"},
    ]
}
DRAWABLE = [
    NEWSLETTER_MARKETING_DE,
    {"field": "country", "op": "eq", "value": "DE"},
    {"purpose": "newsletter", "value": None},
    {"list": "news", "status": "pending"},
    {"field": "tracking_allowed", "op": "eq", "value": False},
    {
        "any": [
            {
                "all": [
                    {"field": "country", "op": "in", "value": ["DE", "AT"]},
                    {"purpose": "newsletter", "value": False},
                ]
            },
            {"field": "created_at", "op": "after", "value": "2026-01-31"},
        ]
    },
    {
        "all": [
            {
                "any": [
                    {"field": "email", "op": "contains", "value": "@contoso"},
                    {"list": "news", "status": "subscribed"},
                ]
            },
            {"field": "consent_level", "op": "lt", "value": 5},
        ]
    },
]
NOT_DRAWABLE = [
    {"all": [{"field": "country", "op": "eq", "value": "DE"}]},  # a group of one
    {
        "all": [
            {
                "all": [
                    {"field": "country", "op": "eq", "value": "DE"},
                    {"purpose": "newsletter", "value": True},
                ]
            }
        ]
    },
    {"any": [{"any": [{"all": [{"field": "country", "op": "eq", "value": "DE"}]}]}]},  # three deep
    {"list": "news"},  # the status left to its default
]


@pytest.fixture
def news(newsletter):
    return SubscriptionList.objects.create(name="Monthly news", slug="news")


def post_data(rows, *, match="all", name="Builder", extra=None):
    """The admin form as a browser posts it: one entry per row (group, field, op, value, level)."""
    data = {"name": name, "description": "", "match": match, "row-TOTAL_FORMS": str(len(rows))}
    data.update({"row-INITIAL_FORMS": "0", "row-MIN_NUM_FORMS": "0", "row-MAX_NUM_FORMS": "50"})
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"row-{index}-{key}"] = value
    return {**data, **(extra or {})}


def rows_of(builder):
    """What the builder shows: posted back unchanged, as the browser would."""
    rows = []
    for form in builder.rows.forms:
        initial = {**form.initial}
        rows.append(
            {key: "" if initial.get(key) is None else str(initial.get(key, "")) for key in form.fields}
        )
    return rows


@pytest.mark.parametrize("rules", DRAWABLE)
def test_a_stored_rule_opens_in_the_builder_and_saves_back_identical(news, rules):
    opened = RuleBuilder(rules=rules)
    match = opened.match.initial["match"]
    posted = RuleBuilder(post_data(rows_of(opened), match=match))
    assert posted.is_valid(), (posted.row_errors(), posted.general_errors())
    assert posted.rules == rules


@pytest.mark.parametrize("rules", NOT_DRAWABLE)
def test_a_rule_the_rows_cannot_draw_exactly_stays_in_the_json_editor(news, marketer, client_as, rules):
    segment = make_segment(rules)
    assert rules_to_rows(rules) is None
    page = client_as(marketer).get(reverse("admin:journeys_segment_change", args=[segment.pk]))
    assert 'name="rules"' in page.content.decode() and "segment-builder" not in page.content.decode()


def test_a_marketer_builds_a_segment_from_rows_and_it_is_stored_in_the_engines_format(
    news, marketer, client_as, member
):
    rows = [
        {"group": "1", "field": "purpose:newsletter", "op": "yes"},
        {"group": "2", "field": "consent_level", "op": "gte", "level": "4"},
        {"group": "3", "field": "country", "op": "eq", "value": "Germany"},  # a name becomes DE
        {"group": "4"},  # an empty row is skipped
    ]
    response = client_as(marketer).post(
        reverse("admin:journeys_segment_add"), post_data(rows, name="News DE")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Segment.objects.get(name="News DE").rules == NEWSLETTER_MARKETING_DE


def test_a_mistake_is_shown_beside_its_row_and_nothing_is_saved(news, marketer, client_as):
    rows = [
        {"group": "1", "field": "country", "op": "eq", "value": "DE"},
        {"group": "2", "field": "country", "op": "gte", "value": "DE"},  # no "at least" for a country
        {"group": "3", "field": "created_at", "op": "after", "value": "31.01.2026"},
        {"group": "4", "field": "consent_level", "op": "gte"},
    ]
    response = client_as(marketer).post(reverse("admin:journeys_segment_add"), post_data(rows, name="Bad"))
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        "Row 2: Operator: Choose how to compare Country: “is”, “is not”, “is one of (comma-separated)”."
        in page
    )
    assert "Row 3: Value: Enter a date as YYYY-MM-DD, e.g. 2026-05-12." in page
    assert "Row 4: Consent level: Choose a consent level." in page
    assert "Row 1:" not in page
    assert not Segment.objects.filter(name="Bad").exists()


def test_the_engines_own_check_is_shown_beside_its_row(news, marketer, client_as):
    rows = [{"group": "1", "field": "country", "op": "eq", "value": "Deutschland"}]
    page = client_as(marketer).post(reverse("admin:journeys_segment_add"), post_data(rows)).content.decode()
    assert "Row 1: a country is a two-letter code such as DE." in page


def test_a_segment_without_any_row_is_refused_with_a_message(news, marketer, client_as):
    response = client_as(marketer).post(reverse("admin:journeys_segment_add"), post_data([{"group": "1"}]))
    assert "Add at least one row" in response.content.decode()
    assert not Segment.objects.exclude(name__in=SHIPPED_JOURNEYS).exists()


def test_add_row_and_update_count_redraw_the_form_without_saving(news, marketer, client_as, member):
    member(first_name="Anna")
    member(first_name="Franz", country="FR")
    rows = [{"group": "1", "field": "country", "op": "eq", "value": "DE"}]
    client = client_as(marketer)
    added = client.post(reverse("admin:journeys_segment_add"), post_data(rows, extra={"_addrow": "Add row"}))
    page = added.content.decode()
    assert added.status_code == 200 and 'name="row-1-field"' in page and "Please correct" not in page
    counted = client.post(reverse("admin:journeys_segment_add"), post_data(rows, extra={"_refresh": "1"}))
    live = counted.context["live"]
    assert live["count_text"] == "1" and ["Anna" in m["name"] for m in live["members"]] == [True]
    assert not Segment.objects.exclude(name__in=SHIPPED_JOURNEYS).exists()


def test_the_live_count_is_the_eligibility_selectors_count(news, marketer, client_as, member):
    from contacts.services import contact_update

    member(first_name="Anna")
    member(first_name="Bea", level=3)  # below Marketing
    member(first_name="Carl", newsletter_yes=False)
    member(first_name="Dora", country="AT")
    hidden = member(first_name="Hidden")
    contact_update(contact=hidden, processing_restricted=True)
    rows = [
        {"group": "1", "field": "purpose:newsletter", "op": "yes"},
        {"group": "2", "field": "consent_level", "op": "gte", "level": "4"},
        {"group": "3", "field": "country", "op": "eq", "value": "DE"},
    ]
    answer = (
        client_as(marketer).post(reverse("admin:journeys_segment_builder_preview"), post_data(rows)).json()
    )
    expected = eligible_contacts(
        min_level=0, queryset=Contact.objects.filter(rules_to_q(NEWSLETTER_MARKETING_DE))
    )
    assert answer["ok"] and answer["rules"] == NEWSLETTER_MARKETING_DE
    assert answer["count"] == expected.count() == 1
    assert ["Anna" in m["name"] for m in answer["members"]] == [True]


def test_the_preview_endpoint_points_errors_at_rows(news, marketer, client_as):
    rows = [{"group": "1", "field": "purpose:newsletter", "op": "gte"}]
    answer = (
        client_as(marketer).post(reverse("admin:journeys_segment_builder_preview"), post_data(rows)).json()
    )
    assert answer["ok"] is False and list(answer["row_errors"]) == ["1"]
    assert "Choose how to compare Newsletter" in answer["row_errors"]["1"][0]


@pytest.mark.parametrize("garbage", ["x", "-3", "99999999999999999999", "\x00"])
def test_a_tampered_row_count_is_an_error_not_a_crash(news, marketer, client_as, garbage):
    data = post_data([{"group": "1", "field": "country", "op": "eq", "value": "DE"}])
    data["row-TOTAL_FORMS"] = garbage
    response = client_as(marketer).post(reverse("admin:journeys_segment_builder_preview"), data)
    assert response.status_code in (200, 400)
    page = client_as(marketer).post(reverse("admin:journeys_segment_add"), {**data, "_addrow": "1"})
    assert page.status_code in (200, 400)
    assert not Segment.objects.exclude(name__in=SHIPPED_JOURNEYS).exists()


def test_the_preview_endpoint_takes_posts_only(news, marketer, client_as):
    response = client_as(marketer).get(reverse("admin:journeys_segment_builder_preview"))
    assert response.status_code == 405


def test_an_auditor_reads_the_rules_without_the_builder(news, auditor, client_as):
    segment = make_segment(NEWSLETTER_MARKETING_DE)
    page = (
        client_as(auditor).get(reverse("admin:journeys_segment_change", args=[segment.pk])).content.decode()
    )
    assert "segment-builder" not in page and "consent_level" in page


def test_the_change_page_opens_the_stored_rule_in_rows(news, marketer, client_as):
    segment = make_segment(NEWSLETTER_MARKETING_DE)
    response = client_as(marketer).get(reverse("admin:journeys_segment_change", args=[segment.pk]))
    forms = response.context["builder"].rows.forms
    assert [f.initial.get("field") for f in forms] == ["purpose:newsletter", "consent_level", "country", None]
    resaved = client_as(marketer).post(
        reverse("admin:journeys_segment_change", args=[segment.pk]),
        post_data(rows_of(response.context["builder"]), name=segment.name),
    )
    assert resaved.status_code == 302
    segment.refresh_from_db()
    assert segment.rules == NEWSLETTER_MARKETING_DE  # PostgreSQL's jsonb keeps no key order: compare values


BAD_ROWS = [
    ({"group": "1", "field": "country", "op": "eq", "value": "D\x00E"}, "row"),
    ({"group": "1", "field": "email", "op": "contains", "value": "x" * 1001}, "row"),
    ({"group": "abc", "field": "country", "op": "eq", "value": "DE"}, "row"),
    ({"group": "1", "field": "shoe_size", "op": "eq", "value": "42"}, "row"),
    ({"group": "1", "field": "purpose:gone", "op": "yes"}, "row"),
    ({"group": "1", "field": "consent_level", "op": "gte", "level": "9"}, "row"),
    ({"group": "1", "op": "eq", "value": "DE"}, "row"),
]


@pytest.mark.parametrize(("row", "where"), BAD_ROWS)
def test_a_bad_row_is_a_message_beside_it_never_a_crash(news, marketer, client_as, row, where):
    client = client_as(marketer)
    answer = client.post(reverse("admin:journeys_segment_builder_preview"), post_data([row])).json()
    assert answer["ok"] is False and list(answer["row_errors"]) == ["1"]
    page = client.post(reverse("admin:journeys_segment_add"), post_data([row], name="Bad"))
    assert page.status_code == 200 and "Row 1:" in page.content.decode()
    assert not Segment.objects.exclude(name__in=SHIPPED_JOURNEYS).exists()


def test_more_rows_than_a_segment_may_have_are_refused(news, marketer, client_as):
    rows = [{"group": str(i + 1), "field": "country", "op": "eq", "value": "DE"} for i in range(51)]
    response = client_as(marketer).post(reverse("admin:journeys_segment_add"), post_data(rows, name="Big"))
    assert response.status_code == 200 and "at most 50" in response.content.decode()
    assert not Segment.objects.exclude(name__in=SHIPPED_JOURNEYS).exists()


def test_an_unknown_match_is_refused_with_a_message(news, marketer, client_as):
    rows = [{"group": "1", "field": "country", "op": "eq", "value": "DE"}]
    answer = (
        client_as(marketer)
        .post(reverse("admin:journeys_segment_builder_preview"), post_data(rows, match="xor"))
        .json()
    )
    assert answer["ok"] is False and any("valid choice" in message for message in answer["errors"])


def test_the_json_editor_names_every_rule_and_leads_back_to_the_rows(news, marketer, client_as):
    segment = make_segment(NEWSLETTER_MARKETING_DE)
    url = reverse("admin:journeys_segment_change", args=[segment.pk])
    page = client_as(marketer).get(url + "?json=1").content.decode()
    assert "consent_level" in page and "&quot;purpose&quot;: &quot;newsletter&quot;" in page
    assert "Build the rules from rows instead" in page and "segment-builder" not in page
