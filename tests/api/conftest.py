import pytest
from django.test import Client

from staff.api_auth import api_key_create


@pytest.fixture
def api_as():
    """A client sending the given user's API key (a new key per call), as another system would."""

    def client(user, *, name="test client") -> Client:
        _key, text = api_key_create(user=user, name=name)
        return Client(HTTP_AUTHORIZATION=f"Token {text}")

    return client
