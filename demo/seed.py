"""Demo data for `make run`: a populated back office a privacy officer can explore.

Deterministic (a seeded random generator) and idempotent (contacts are keyed by their demo email
address, users by name), so running it twice doubles nothing. Every consent value is written
through the consent service, with history spread over the past year as effective dates.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from consent.models import Purpose, Source
from consent.services import consent_change
from contacts.models import Contact
from contacts.services import contact_create, contact_update
from core.models import ComplianceSettings
from demo import activity, records
from staff.roles import AUDITOR, MARKETER, PRIVACY_OFFICER, sync_roles
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import subscription_set

DEMO_USERS = {
    "officer": (PRIVACY_OFFICER, "demo-officer-2026"),
    "marketer": (MARKETER, "demo-marketer-2026"),
    "auditor": (AUDITOR, "demo-auditor-2026"),
}
PURPOSES = [
    ("newsletter", "Newsletter", "A monthly email with news about our products and events."),
    ("product-updates", "Product updates", "Emails when a product you use changes."),
    ("events", "Events", "Invitations to events near you."),
    ("partner-offers", "Partner offers", "Offers from partners we work with, sent by us."),
]
LISTS = [
    ("monthly-news", "Monthly news", "One email a month.", "newsletter", 3),
    ("product-updates", "Product updates", "Release notes and changes.", "product-updates", 3),
    ("event-invitations", "Event invitations", "Invitations to events near you.", "events", 4),
]
FIRST = [
    "Holly",
    "Ivy",
    "Oscar",
    "Mila",
    "Noah",
    "Lena",
    "Finn",
    "Emma",
    "Jonas",
    "Sofia",
    "Luca",
    "Mia",
    "Elias",
    "Hanna",
    "Paul",
    "Lea",
    "Ben",
    "Clara",
    "Theo",
    "Nora",
]
LAST = ["Berry", "Green", "Meyer", "Schmidt", "Novak", "Rossi", "Dubois", "Jansen", "Kowalski", "Silva"]
ADULTS, CHILDREN, RESTRICTED = 185, 15, 5
LEVEL_WEIGHTS = [8, 10, 17, 25, 25, 15]  # levels 0..5


def demo_email(first: str, last: str, n: int) -> str:
    return f"{first}.{last}.{n}@example.org".lower()


def ensure_users() -> list[tuple[str, str, str]]:
    sync_roles()
    User = get_user_model()
    logins = []
    for username, (role, password) in DEMO_USERS.items():
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@example.org"}
        )
        if created or not user.check_password(password):
            user.set_password(password)
            user.is_staff = True
            user.save()
        user.groups.add(Group.objects.get(name=role))
        logins.append((role, username, password))
    return logins


def ensure_catalogue() -> None:
    purposes = {}
    for slug, name, description in PURPOSES:
        purposes[slug], _ = Purpose.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )
    for slug, name, description, purpose, level in LISTS:
        SubscriptionList.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "purpose": purposes[purpose],
                "min_level": level,
            },
        )


@transaction.atomic
def _keep_consent_records() -> None:
    settings = ComplianceSettings.load()
    if not settings.log_consent_changes:  # a demo organisation keeps records; a new install starts off
        settings.log_consent_changes = True
        settings._change_reason = "demo data"
        settings.save()


def _join(contact: Contact, lists: list, *, confirmed_at) -> None:
    """Subscribe as by double opt-in; a list tied to a purpose records that purpose's yes too."""
    for lst in lists:
        subscription_set(
            contact=contact,
            subscription_list=lst,
            status=Subscription.Status.SUBSCRIBED,
            source=Source.DOUBLE_OPT_IN,
        )
        if lst.purpose_id:
            consent_change(
                contact=contact,
                purposes={lst.purpose: True},
                source=Source.DOUBLE_OPT_IN,
                effective_at=confirmed_at,
                evidence={"demo": True},
            )


def seed(*, officer) -> dict:
    """Create what is missing; returns how many contacts were added this run."""
    _keep_consent_records()
    ensure_catalogue()
    records.ensure_records()
    rng = random.Random(2026)
    now = timezone.now()
    lists = list(SubscriptionList.objects.select_related("purpose"))
    purposes = list(Purpose.objects.all())
    added = 0
    adults: list[Contact] = []
    timelines = []  # each contact's (plan, is_child), for the month-end level snapshots
    for n in range(ADULTS + CHILDREN):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        is_child = n >= ADULTS
        level = min(rng.choices(range(6), weights=LEVEL_WEIGHTS)[0], 4 if is_child else 5)
        plan = _history_plan(rng, level, now)
        answers = {p: rng.random() < 0.65 for p in rng.sample(purposes, k=rng.randint(0, len(purposes)))}
        tracking = rng.random() < 0.45
        joined = [lst for lst in lists if lst.min_level <= level and rng.random() < 0.5]
        guardian = rng.choice(adults[:60]) if is_child else None
        phone = f"+4930{5550000 + n}" if rng.random() < 0.6 else ""
        # Every random draw happens above this line, so a second run walks the same sequence.
        timelines.append((plan, is_child))
        email = demo_email(first, last, n)
        existing = Contact.objects.filter(email=email).first()
        if existing is not None:
            if not is_child:
                adults.append(existing)
            continue
        contact = contact_create(
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            country=COUNTRIES[n % len(COUNTRIES)],
            is_child=is_child,
            guardian=guardian,
            reason="demo data",
        )
        _replay(contact, plan, answers, tracking, officer)
        _join(contact, joined, confirmed_at=plan[-1][1])
        if n < RESTRICTED:
            contact_update(
                contact=contact, processing_restricted=True, reason="demo: restriction requested (Art. 18)"
            )
        if not is_child:
            adults.append(contact)
        added += 1
    _seed_requests(officer, now)
    _seed_journey(officer)
    activity.double_opt_in_history(random.Random(2027), now)
    activity.import_with_report(officer, now)
    activity.live_journey_with_sends(officer, now)
    activity.breach_with_notices(officer, now)
    activity.level_snapshots(timelines, now)  # last: today's snapshot counts what the steps above changed
    return {"added": added, "contacts": Contact.objects.count()}


COUNTRIES = ["DE", "DE", "AT", "FR", "NL"]  # by position, so the random sequence stays as it was


def _seed_journey(officer) -> None:
    """The issue's example as a draft: Newsletter yes in Germany, two emails a week apart, a task."""
    from journeys.models import EmailTemplate, Journey, Segment
    from journeys.services import journey_create, journey_step_add, segment_create

    if Journey.objects.filter(name="Welcome series").exists():
        return
    segment = Segment.objects.filter(name="Newsletter, Germany").first() or segment_create(
        name="Newsletter, Germany",
        description="Said yes to the newsletter and live in Germany.",
        rules={
            "all": [{"purpose": "newsletter", "value": True}, {"field": "country", "op": "eq", "value": "DE"}]
        },
        actor=officer,
    )
    journey = journey_create(
        name="Welcome series",
        segment=segment,
        purpose=Purpose.objects.get(slug="newsletter"),
        subscription_list=SubscriptionList.objects.get(slug="monthly-news"),
        actor=officer,
    )
    for number, subject in enumerate(("Welcome, {{ first_name }}", "A week with us, {{ first_name }}"), 1):
        template, _ = EmailTemplate.objects.get_or_create(
            name=f"Welcome {number}",
            defaults={
                "subject": subject,
                "body": "Hello {{ first_name }},\n\nthank you for reading our news.",
            },
        )
        journey_step_add(journey=journey, kind="email", template=template)
        if number == 1:
            journey_step_add(journey=journey, kind="wait", wait_days=7)
    journey_step_add(
        journey=journey,
        kind="task",
        task_title="Call to say hello",
        task_group=Group.objects.get(name=MARKETER),
    )


def _seed_requests(officer, now) -> None:
    """A queue with every kind of request: overdue, due this week, being worked on, and answered."""
    from dsr.models import DataSubjectRequest
    from dsr.services import dsr_complete, dsr_create, dsr_decline, dsr_restrict, dsr_start, dsr_verify

    if DataSubjectRequest.objects.exists():
        return
    plans = [
        ("access", 35, None),
        ("erase", 26, None),
        ("export", 10, "start"),
        ("rectify", 40, "complete"),
        ("restrict", 3, None),
        ("access", 80, "complete"),
        ("export", 120, "complete"),
        ("restrict", 150, "restrict"),
        ("rectify", 6, "start"),
        ("erase", 200, "decline"),
    ]
    for n, (kind, days_ago, progress) in enumerate(plans):
        contact = Contact.objects.filter(is_child=False).order_by("id")[10 + n]
        request, _ = dsr_create(
            kind=kind, email=contact.email, channel="web", name=str(contact), actor=officer
        )
        received = now - timedelta(days=days_ago)
        DataSubjectRequest.objects.filter(pk=request.pk).update(
            received_at=received, due_at=received + timedelta(days=30)
        )
        if progress == "decline":
            dsr_decline(
                request=request, actor=officer, reason="demo: the requester did not confirm who they are"
            )
        elif progress:
            dsr_verify(request=request, actor=officer, how="demo: reply from the registered address")
            dsr_start(request=request, actor=officer)
            if progress == "complete":
                dsr_complete(request=request, actor=officer)
            elif progress == "restrict":
                dsr_restrict(request=request, actor=officer)
        if days_ago > 20:  # answered within the month, as the queue's history would show
            DataSubjectRequest.objects.filter(pk=request.pk, closed_at__isnull=False).update(
                closed_at=received + timedelta(days=12)
            )


def _history_plan(rng: random.Random, final: int, now) -> list[tuple[int, object, str]]:
    """A believable path to `final` over the past year: imported, then raised by confirmation or
    lowered from the subscription center or by an officer after a call."""
    start = now - timedelta(days=rng.randint(200, 360))
    first = rng.randint(0, final) if final else 0
    steps = [(first, start, Source.IMPORT)]
    when = start
    for _ in range(rng.randint(0, 2)):
        when += timedelta(days=rng.randint(15, 60))
        steps.append((rng.randint(0, 5), when, Source.SUBSCRIPTION_CENTER))
    steps.append((final, when + timedelta(days=rng.randint(5, 40)), Source.DOUBLE_OPT_IN))
    return steps


def _replay(contact, plan, answers, tracking, officer) -> None:
    level = 0
    for target, when, source in plan:
        if contact.is_child:
            target = min(target, 4)
        if target == level:
            continue
        if target > level and source == Source.SUBSCRIPTION_CENTER:
            source = Source.DOUBLE_OPT_IN  # raises only ever happen by confirmation
        if target < level and source == Source.DOUBLE_OPT_IN:
            source = Source.ADMIN
        kwargs = {"evidence": {"demo": True}, "effective_at": when}
        if source == Source.ADMIN:
            kwargs.update(actor=officer, justification="Phone call: asked us to send less", channel="phone")
        consent_change(contact=contact, level=target, source=source, **kwargs)
        level = target
    if answers:
        consent_change(
            contact=contact,
            purposes=answers,
            source=Source.IMPORT,
            effective_at=plan[0][1],
            evidence={"demo": True},
        )
    if tracking:
        consent_change(
            contact=contact,
            tracking_allowed=True,
            source=Source.DOUBLE_OPT_IN,
            effective_at=plan[-1][1],
            evidence={"demo": True},
        )
