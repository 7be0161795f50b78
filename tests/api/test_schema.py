"""The API against its own OpenAPI schema (schemathesis), with every check, for every role: generated
requests, valid and not, never cause a server error; every answer (errors included) has the status,
content type, headers and shape the schema promises; invalid requests are refused and valid ones
accepted; and following the schema's links from one answer to the next operation works too."""

import pytest
import schemathesis
from django.core.cache import cache
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from config.wsgi import application
from dsr.services import dsr_create
from staff.api_auth import api_key_create
from tests.factories import ContactFactory, with_consent

# Generated in-process (serving it needs a login); requests then go to the WSGI app directly.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(public=True))
schema.app = application
# The API refuses a NUL anywhere in a body with a 400 and a message (config.safe_json; proven by
# tests/api/test_bad_input.py), also in the extra properties the schema lets a client add.
schema.config.generation.update(allow_x00=False)

PERSONAS = ["privacy_officer", "marketer", "auditor", "outsider"]

# Every built-in check, none excluded: schemathesis enables them all when none are named.
SETTINGS = settings(
    max_examples=10,
    derandomize=True,  # the same examples every run: a failure is reproducible, never flaky
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture
def some_data(logging_on):
    """A purpose, a contact with answers (recorded: records without an actor, with and without a
    purpose) and an open request that found the contact, a list the contact is on, a segment it is
    in, a downstream system with the events about it (delivery receipts) and an import source, so
    links lead somewhere and every answer's shape is checked on real rows."""
    from consent.models import Purpose
    from subscriptions.models import SubscriptionList
    from subscriptions.services import Status, subscription_set
    from tests.factories import make_segment
    from webhooks.models import Endpoint

    purpose = Purpose.objects.create(name="Newsletter", slug="newsletter")
    Endpoint.objects.create(name="CRM", url="https://crm.example.org/hooks")
    holly = with_consent(
        ContactFactory(email="holly@contoso.com", country="DE"), level=2, purposes={"newsletter": True}
    )
    dsr_create(kind="access", email="holly@contoso.com", channel="letter")
    news = SubscriptionList.objects.create(name="News", slug="news", purpose=purpose)
    subscription_set(contact=holly, subscription_list=news, status=Status.SUBSCRIBED, source="import")
    make_segment()
    # An import source, so the import operations (and their links) have something to work on.
    from imports.models import ImportSource

    ImportSource.objects.create(
        name="Web shop", key_column="ID", email_column="Email", option_column="Option", value_column="Value"
    )


@pytest.fixture(params=PERSONAS)
def api_key(request, roles, some_data, keep_connection):
    """The persona's API key, as another system would send it."""
    return api_key_create(user=request.getfixturevalue(request.param), name="schemathesis")[1]


@pytest.mark.django_db
@schema.parametrize()
@SETTINGS
def test_the_api_answers_as_its_schema_says(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Token {api_key}"})


@pytest.mark.django_db
def test_following_the_schema_links_the_api_answers_as_its_schema_says(request, api_key):
    headers = {"Authorization": f"Token {api_key}"}
    followed = set()  # (link, status) of each step that took its values from an earlier answer

    class Workflow(schema.as_state_machine()):
        def setup(self):
            # Each scenario starts from the same data: Hypothesis replays a failing one to show it,
            # and a database changed by earlier scenarios would make the replay take other paths.
            cache.clear()  # rate-limit counters
            self.scenario = transaction.atomic()
            self.scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self.scenario.__exit__(None, None, None)

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def step(self, input):
            output = super().step(input)
            # Schemathesis also infers links of its own; these are the schema's (config.api_schema).
            if input.transition is not None and input.is_applied and not input.transition.is_inferred:
                followed.add((input.transition.id, output.response.status_code))
            return output

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # As call_and_validate does: the checks must know the key was ours, not generated.
            case.validate_response(response, headers=headers, transport_kwargs=kwargs, recorder=self.recorder)

    Workflow.run(settings=settings(SETTINGS, max_examples=20, stateful_step_count=8))
    # The schema's links lead somewhere: a role that may read follows one to an answer (not a 404).
    if "outsider" not in request.node.callspec.id:
        assert any(status == 200 for _link, status in followed), followed
