"""Property tests for link parsing: whatever arrives in a URL, it is a valid link or refused."""

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subscriptions import tokens
from subscriptions.models import AccessToken
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=120))
def test_any_text_is_refused_as_an_invalid_link_and_never_errors(text):
    with pytest.raises(tokens.InvalidLink):
        tokens.resolve(text, kind=AccessToken.Kind.CENTER)


@settings(max_examples=50, deadline=None)
@given(position=st.integers(min_value=0, max_value=200), char=st.characters(codec="ascii"))
def test_a_link_changed_in_any_one_place_is_refused(position, char):
    contact = ContactFactory()
    _, text = tokens.issue(kind=AccessToken.Kind.CENTER, contact=contact, lifetime=timedelta(days=1))
    position %= len(text)
    tampered = text[:position] + char + text[position + 1 :]
    if tampered == text:
        return
    with pytest.raises(tokens.InvalidLink):
        tokens.resolve(tampered, kind=AccessToken.Kind.CENTER)
    assert tokens.resolve(text, kind=AccessToken.Kind.CENTER).contact == contact


def test_a_link_of_one_kind_does_not_open_another():
    _, text = tokens.issue(kind=AccessToken.Kind.CENTER, contact=ContactFactory(), lifetime=timedelta(days=1))
    with pytest.raises(tokens.InvalidLink):
        tokens.resolve(text, kind=AccessToken.Kind.UNSUBSCRIBE)
