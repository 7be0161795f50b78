"""The one eligibility query: who may be processed, for what, as one SQL query."""

import pytest

from consent.models import Source
from consent.selectors import eligible_contacts, is_eligible
from consent.services import consent_change
from contacts.services import contact_update
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


def test_it_is_one_query(django_assert_num_queries):
    PurposeFactory(slug="news")
    for level in range(6):
        at(level)
    with django_assert_num_queries(1):
        list(eligible_contacts(min_level=5, purpose="news", needs_tracking=True))
