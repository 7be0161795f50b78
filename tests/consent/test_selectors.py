"""The one eligibility query: who may be processed, for what, as one SQL query."""

import pytest

from consent.models import Source
from consent.selectors import (
    ELIGIBILITY_RULES,
    Ineligibility,
    eligible_contacts,
    ineligibility_reason,
    ineligibility_reasons,
    is_eligible,
)
from consent.services import consent_change
from contacts.services import contact_update
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import subscription_set
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db


def at(level, **kwargs):
    contact = ContactFactory(**kwargs)
    consent_change(contact=contact, level=level, source=Source.IMPORT)
    return contact


def test_the_hierarchy_admits_every_higher_level():
    people = {level: at(level) for level in range(6)}
    assert set(eligible_contacts(min_level=3)) == {people[3], people[4], people[5]}
    assert set(eligible_contacts(min_level=0)) == set(people.values())


def test_restricted_contacts_are_never_processed():
    contact = at(5)
    contact_update(contact=contact, processing_restricted=True)
    assert not eligible_contacts(min_level=0).filter(pk=contact.pk).exists()


def test_children_are_never_profiled_but_may_get_lower_levels():
    child = at(4, is_child=True, guardian=ContactFactory())
    assert not eligible_contacts(min_level=5).filter(pk=child.pk).exists()
    assert eligible_contacts(min_level=4).filter(pk=child.pk).exists()


def test_a_purpose_needs_an_explicit_yes():
    news = PurposeFactory(slug="news")
    yes, no, silent = at(4), at(4), at(4)
    consent_change(contact=yes, purposes={news: True}, source=Source.IMPORT)
    consent_change(contact=no, purposes={news: False}, source=Source.IMPORT)
    assert list(eligible_contacts(min_level=3, purpose="news")) == [yes]
    assert list(eligible_contacts(min_level=3, purpose=news)) == [yes]
    assert not is_eligible(silent, min_level=3, purpose="news")


def test_interaction_tracking_needs_the_tracking_choice():
    tracked, untracked = at(4), at(4)
    consent_change(contact=tracked, tracking_allowed=True, source=Source.IMPORT)
    assert list(eligible_contacts(min_level=4, needs_tracking=True)) == [tracked]
    assert is_eligible(untracked, min_level=4) and not is_eligible(
        untracked, min_level=4, needs_tracking=True
    )


def test_a_child_is_never_tracked_whatever_the_tracking_choice_says():
    guardian = at(4)
    child = at(4, is_child=True, guardian=guardian)
    consent_change(contact=child, tracking_allowed=True, source=Source.IMPORT)
    consent_change(contact=guardian, tracking_allowed=True, source=Source.IMPORT)
    assert list(eligible_contacts(min_level=0, needs_tracking=True)) == [guardian]
    assert is_eligible(child, min_level=4)  # Marketing mail still reaches the child
    assert ineligibility_reason(child, min_level=0, needs_tracking=True) == Ineligibility.CHILD


def test_it_is_one_query_after_the_purposes_row(django_assert_num_queries):
    PurposeFactory(slug="news")
    for level in range(6):
        at(level)
    with django_assert_num_queries(1):
        list(eligible_contacts(min_level=5, needs_tracking=True))
    # The purpose and its stopping opt-outs are read first, then the contacts in one query.
    with django_assert_num_queries(2):
        list(eligible_contacts(min_level=5, purpose="news", needs_tracking=True))


def test_a_yes_for_another_purpose_or_a_withdrawn_yes_does_not_count():
    news, events = PurposeFactory(slug="news"), PurposeFactory(slug="events")
    other, withdrawn = at(4), at(4)
    consent_change(contact=other, purposes={events: True}, source=Source.IMPORT)
    consent_change(contact=withdrawn, purposes={news: True}, source=Source.IMPORT)
    consent_change(contact=withdrawn, purposes={news: False}, source=Source.SUBSCRIPTION_CENTER)
    assert not eligible_contacts(min_level=1, purpose=news).exists()
    assert list(eligible_contacts(min_level=1, purpose=events)) == [other]


def test_restriction_wins_over_every_consent():
    news = PurposeFactory(slug="news")
    contact = at(5)
    consent_change(contact=contact, tracking_allowed=True, purposes={news: True}, source=Source.IMPORT)
    contact_update(contact=contact, processing_restricted=True)
    for criteria in (
        {"min_level": 0},
        {"min_level": 1, "purpose": news},
        {"min_level": 2, "needs_tracking": True},
    ):
        assert not is_eligible(contact, **criteria)
    contact_update(contact=contact, processing_restricted=False)
    assert is_eligible(contact, min_level=5, purpose=news, needs_tracking=True)


def test_is_eligible_agrees_with_the_list_for_every_contact_and_criterion():
    news = PurposeFactory(slug="news")
    guardian = at(5)
    people = [guardian]
    for level in range(6):
        for kind in ("adult", "child", "restricted"):
            contact = ContactFactory(is_child=kind == "child", guardian=guardian if kind == "child" else None)
            consent_change(
                contact=contact,
                level=min(level, 4) if kind == "child" else level,
                tracking_allowed=level % 2 == 0,
                purposes={news: level % 3 != 0},
                source=Source.IMPORT,
            )
            if kind == "restricted":
                contact_update(contact=contact, processing_restricted=True)
            people.append(contact)
    for min_level in range(6):
        for purpose in (None, news, "news"):
            for needs_tracking in (False, True):
                criteria = {"min_level": min_level, "purpose": purpose, "needs_tracking": needs_tracking}
                listed = set(eligible_contacts(**criteria).values_list("pk", flat=True))
                assert listed == {c.pk for c in people if is_eligible(c, **criteria)}, criteria
                # and both follow the rules as a privacy officer states them:
                for c in people:
                    c.refresh_from_db()
                    expected = (
                        not c.processing_restricted
                        and c.consent_given >= min_level
                        and not (c.is_child and (min_level > 4 or needs_tracking))
                        and (not needs_tracking or c.tracking_allowed)
                        and (
                            purpose is None or c.purpose_consents.filter(purpose=news, granted=True).exists()
                        )
                    )
                    assert (c.pk in listed) == expected, (criteria, c.pk)


def test_who_unsubscribed_from_a_list_is_left_out_of_mail_for_that_list_only():
    news = SubscriptionList.objects.create(name="News", slug="news")
    offers = SubscriptionList.objects.create(name="Offers", slug="offers")
    stayed, left, never = at(4), at(4), at(4)
    for contact, status in ((stayed, "subscribed"), (left, "unsubscribed")):
        subscription_set(contact=contact, subscription_list=news, status=status, source=Source.IMPORT)
    assert Subscription.objects.filter(status="unsubscribed").count() == 1
    assert set(eligible_contacts(min_level=4, subscription_list=news)) == {stayed, never}
    assert set(eligible_contacts(min_level=4, subscription_list=offers)) == {stayed, left, never}
    assert not is_eligible(left, min_level=4, subscription_list=news)


def test_each_rule_a_contact_fails_is_named_with_a_stable_code_and_a_label():
    news_list = SubscriptionList.objects.create(name="News", slug="news")
    news = PurposeFactory(slug="news")
    fine = at(5)
    consent_change(contact=fine, tracking_allowed=True, purposes={news: True}, source=Source.IMPORT)
    restricted, low, silent, untracked, left = at(5), at(3), at(5), at(5), at(5)
    contact_update(contact=restricted, processing_restricted=True)
    child = at(4, is_child=True, guardian=fine)
    subscription_set(contact=left, subscription_list=news_list, status="unsubscribed", source=Source.API)
    asked = {"min_level": 4, "purpose": news, "subscription_list": news_list}
    for contact in (restricted, low, silent, untracked, left, child):
        consent_change(contact=contact, purposes={news: contact is not silent}, source=Source.IMPORT)
    assert ineligibility_reason(fine, needs_tracking=True, **asked) is None
    assert ineligibility_reason(restricted, **asked) == Ineligibility.RESTRICTED
    assert ineligibility_reason(low, **asked) == Ineligibility.BELOW_MINIMUM
    assert ineligibility_reason(silent, **asked) == Ineligibility.NO_PURPOSE_CONSENT
    assert ineligibility_reason(untracked, needs_tracking=True, **asked) == Ineligibility.NO_TRACKING
    assert ineligibility_reason(left, **asked) == Ineligibility.UNSUBSCRIBED
    assert ineligibility_reason(child, **asked) is None  # Marketing is allowed for a child
    assert ineligibility_reason(child, **{**asked, "min_level": 5}) == Ineligibility.CHILD
    assert Ineligibility.UNSUBSCRIBED.value == "unsubscribed"
    assert "Art. 18" in str(Ineligibility.RESTRICTED.label)
    assert [rule.reason for rule in ELIGIBILITY_RULES] == list(Ineligibility)


def test_the_reasons_come_in_rule_order_restriction_and_unsubscribe_first(django_assert_num_queries):
    news_list = SubscriptionList.objects.create(name="News", slug="news")
    news = PurposeFactory(slug="news")
    contact = at(2)
    subscription_set(contact=contact, subscription_list=news_list, status="unsubscribed", source=Source.API)
    asked = {"min_level": 4, "purpose": news, "subscription_list": news_list, "needs_tracking": True}
    with django_assert_num_queries(2):  # the purpose's row, then every rule in one query
        assert ineligibility_reasons(contact, **asked) == [
            Ineligibility.UNSUBSCRIBED,
            Ineligibility.BELOW_MINIMUM,
            Ineligibility.NO_TRACKING,
            Ineligibility.NO_PURPOSE_CONSENT,
        ]
    contact_update(contact=contact, processing_restricted=True)
    assert ineligibility_reasons(contact, **asked)[:2] == [
        Ineligibility.RESTRICTED,
        Ineligibility.UNSUBSCRIBED,
    ]


def test_a_reason_is_given_exactly_when_the_query_leaves_the_contact_out():
    news = PurposeFactory(slug="news")
    news_list = SubscriptionList.objects.create(name="News", slug="news")
    guardian = at(5)
    people = [guardian]
    for level in range(6):
        for kind in ("adult", "child", "restricted", "unsubscribed"):
            contact = ContactFactory(is_child=kind == "child", guardian=guardian if kind == "child" else None)
            consent_change(
                contact=contact,
                level=min(level, 4) if kind == "child" else level,
                tracking_allowed=level % 2 == 0,
                purposes={news: level % 3 != 0},
                source=Source.IMPORT,
            )
            if kind == "restricted":
                contact_update(contact=contact, processing_restricted=True)
            if kind == "unsubscribed":
                subscription_set(
                    contact=contact, subscription_list=news_list, status="unsubscribed", source=Source.API
                )
            people.append(contact)
    for min_level in range(6):
        for purpose in (None, news, "news"):
            for needs_tracking in (False, True):
                for subscription_list in (None, news_list):
                    criteria = {
                        "min_level": min_level,
                        "purpose": purpose,
                        "needs_tracking": needs_tracking,
                        "subscription_list": subscription_list,
                    }
                    listed = set(eligible_contacts(**criteria).values_list("pk", flat=True))
                    for c in people:
                        assert (ineligibility_reason(c, **criteria) is None) == (c.pk in listed), (
                            criteria,
                            c.pk,
                        )
