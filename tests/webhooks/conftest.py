import pytest

from tests.webhooks.receiver import Receiver
from webhooks.models import Endpoint


@pytest.fixture
def receiver(db):
    """A receiving downstream system, registered as an endpoint with its own secret."""
    endpoint = Endpoint.objects.create(name="CRM", url="http://placeholder.invalid/")
    running = Receiver(endpoint.secret)
    endpoint.url = running.url
    endpoint.save()
    running.endpoint = endpoint
    yield running
    running.stop()
