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


@pytest.fixture
def keep_connection():
    """Like Django's test client: a request through the WSGI app must not close the test's
    database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
