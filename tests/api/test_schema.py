"""The API against its own OpenAPI schema (schemathesis): generated requests, valid and not, never
cause a server error, and every answer has the shape the schema promises."""

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from config.wsgi import application
from staff.api_auth import api_key_create
from tests.factories import ContactFactory, with_consent

# Generated in-process (serving it needs a login); requests then go to the WSGI app directly.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(public=True))
schema.app = application
# The API refuses a NUL anywhere in a body with a 400 and a message (config.safe_json; proven by
# tests/api/test_bad_input.py), also in the extra properties the schema lets a client add.
schema.config.generation.update(allow_x00=False)


@pytest.fixture
def keep_connection():
    """Like Django's test client: a request must not close the test's database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def officer_key(privacy_officer, newsletter_consent, keep_connection):
    return api_key_create(user=privacy_officer, name="schemathesis")[1]


@pytest.fixture
def newsletter_consent(db):
    from consent.models import Purpose

    Purpose.objects.create(name="Newsletter", slug="newsletter")
    with_consent(ContactFactory(email="holly@contoso.com"), level=2, purposes={"newsletter": True})


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,  # the same examples every run: a failure is reproducible, never flaky
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_as_its_schema_says(case, officer_key):
    # Not checked: that every 400/404 is listed in the schema (drf-spectacular lists successes only),
    # and that lenient input (an empty filter, `"details": 0`) is refused: DRF accepts it, harmlessly.
    case.call_and_validate(
        headers={"Authorization": f"Token {officer_key}"},
        excluded_checks=[
            schemathesis.checks.status_code_conformance,
            schemathesis.checks.negative_data_rejection,
        ],
    )
