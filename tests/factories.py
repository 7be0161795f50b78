"""Factories for test data. Consent is never set here: raise it with consent.services.consent_change."""

import factory
from django.contrib.auth import get_user_model

from consent.models import Purpose, Source
from consent.services import consent_change
from contacts.models import Contact
from contacts.services import contact_create


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    phone = ""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Through the service, so test contacts are validated and normalised like real ones.
        return contact_create(**kwargs)


class PurposeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purpose
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Purpose {n}")
    slug = factory.Sequence(lambda n: f"purpose-{n}")
    description = factory.LazyAttribute(lambda p: f"We use your answer for {p.name}.")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    is_staff = True
    password = factory.django.Password("correct-horse-battery-staple")


def with_consent(contact: Contact, *, source: str = Source.IMPORT, **changes) -> Contact:
    """Give a test contact consent the way production does: through consent.services.consent_change.

    `changes` are consent_change's keywords (level, purposes, tracking_allowed, actor, ...).
    Returns the contact, refreshed from the database.
    """
    consent_change(contact=contact, source=source, **changes)
    contact.refresh_from_db()
    return contact


# The re-permission journeys, their segments and templates that journeys 0015 ships (same names):
# in every test database, so tests about "the" journey or segment leave them out.
SHIPPED_JOURNEYS = ("Re-permission (English)", "Re-permission (Deutsch)")


def make_segment(rules: dict | None = None, *, name: str = "Newsletter DE"):
    """A segment through the service (validated like one saved in the admin); the issue's
    segment ("Newsletter is yes and country is DE") unless rules are given, created once."""
    from journeys.models import Segment
    from journeys.services import segment_create

    if rules is None and (existing := Segment.objects.filter(name=name).first()):
        return existing

    rules = rules or {
        "all": [{"purpose": "newsletter", "value": True}, {"field": "country", "op": "eq", "value": "DE"}]
    }
    return segment_create(name=name, rules=rules)


def make_journey(*, segment=None, steps=("email", "wait", "email", "task"), live=True, **fields):
    """The issue's journey: two emails a week apart, then a task for a group; for the purpose
    "newsletter" when it exists."""
    from django.contrib.auth.models import Group

    from journeys.models import EmailTemplate
    from journeys.services import journey_create, journey_go_live, journey_step_add

    fields.setdefault("purpose", Purpose.objects.filter(slug="newsletter").first())
    journey = journey_create(name=fields.pop("name", "Welcome"), segment=segment or make_segment(), **fields)
    for number, kind in enumerate(steps, 1):
        if kind == "email":
            template, _ = EmailTemplate.objects.get_or_create(
                name=f"Mail {number}",
                defaults={
                    "subject": f"Mail {number} for {{{{ first_name }}}}",
                    "body": "Hello {{ first_name }}!",
                },
            )
            journey_step_add(journey=journey, kind="email", template=template)
        elif kind == "wait":
            journey_step_add(journey=journey, kind="wait", wait_days=7)
        else:
            group, _ = Group.objects.get_or_create(name="Sales")
            journey_step_add(journey=journey, kind="task", task_title="Call them", task_group=group)
    return journey_go_live(journey=journey) if live else journey
