"""The demo's past year of activity, so every dashboard figure and admin page has something to show on
a fresh `make run`: level snapshots, double opt-in answers, an import with its report, a live journey
that has sent, a few interactions, and requests of every kind, open and answered.

Everything goes through the product's services (consent, double opt-in, imports, journeys, requests);
only the dates are moved back afterwards, as a year of real use would have spread them. Each part runs
once: it checks for its own rows first, so seeding again adds nothing.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.mail import get_connection
from django.db import transaction
from django.test.utils import override_settings

from consent.models import ConsentLevelSnapshot, Purpose
from consent.services import consent_level_snapshot_take
from contacts.models import Contact
from core.levels import ConsentLevel

# Demo addresses are fictitious (example.org): the demo's own sends stay in memory instead of filling
# the terminal where `make run` shows its processes.
QUIET_MAIL = {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


def level_snapshots(timelines: list[tuple[list, bool]], now) -> int:
    """Twelve month-end snapshots replayed from each contact's plan, and today's from the database.

    `timelines` holds each demo contact's (plan, is_child); a plan is [(level, when, source), ...] as
    demo.seed replays it, so the trend ends where today's counts are.
    """
    if ConsentLevelSnapshot.objects.exists():
        return 0
    today = now.date()
    month_ends = []
    first_of_month = today.replace(day=1)
    for _ in range(11):
        month_end = first_of_month - timedelta(days=1)
        month_ends.append(month_end)
        first_of_month = month_end.replace(day=1)
    rows = []
    for day in month_ends:
        counts = dict.fromkeys(ConsentLevel, 0)
        for plan, is_child in timelines:
            held = [level for level, when, _source in plan if when.date() <= day]
            if held:
                counts[ConsentLevel(min(held[-1], 4) if is_child else held[-1])] += 1
        rows += [ConsentLevelSnapshot(date=day, level=level, contacts=n) for level, n in counts.items()]
    ConsentLevelSnapshot.objects.bulk_create(rows)
    consent_level_snapshot_take(day=today)
    return len(month_ends) + 1


def double_opt_in_history(rng: random.Random, now) -> int:
    """Sign-ups to a list as a year of them would look: most confirmed within hours, some declined or
    left to expire, a few still waiting."""
    from subscriptions import tokens
    from subscriptions.models import AccessToken, ConsentRequest, Subscription, SubscriptionList
    from subscriptions.services import RequestMeta, consent_request_confirm
    from subscriptions.services.double_opt_in import consent_request_create

    if ConsentRequest.objects.exists():
        return 0
    meta = RequestMeta(ip="192.0.2.10", user_agent="demo browser")
    lists = list(SubscriptionList.objects.order_by("pk"))
    candidates = Contact.objects.filter(is_child=False, processing_restricted=False).order_by("pk")[60:100]
    made = 0
    with override_settings(**QUIET_MAIL):
        for contact in candidates:
            joined = set(
                Subscription.objects.filter(contact=contact).values_list("subscription_list", flat=True)
            )
            open_lists = [lst.pk for lst in lists if lst.pk not in joined]
            if not open_lists:
                continue
            fate = rng.random()
            asked = now - timedelta(days=rng.randint(3, 330), minutes=rng.randint(0, 600))
            if fate >= 0.9:  # still waiting: asked today
                asked = now - timedelta(minutes=rng.randint(5, 300))
            with transaction.atomic():
                request = consent_request_create(
                    contact=contact, changes={"lists": open_lists[:2]}, origin="signup", meta=meta
                )
            # Sent back then: the worker that `make run` starts finds nothing left to send.
            ConsentRequest.objects.filter(pk=request.pk).update(requested_at=asked, sent_at=asked)
            if fate < 0.62:
                chosen = set(open_lists[:1]) if fate < 0.2 and len(open_lists) > 1 else None
                link = tokens.text_for(AccessToken.Kind.CONFIRM, tokens.derive(request.nonce))
                consent_request_confirm(link=link, meta=meta, lists=chosen)
                ConsentRequest.objects.filter(pk=request.pk).update(
                    confirmed_at=asked + timedelta(minutes=rng.randint(2, 900))
                )
            elif fate < 0.9:
                AccessToken.objects.filter(pk=request.token_id).update(expires_at=asked + timedelta(hours=48))
            made += 1
    return made


IMPORT_HEADER = ["Consent ID", "Email", "Option", "Value", "Date"]


def import_with_report(officer, now) -> None:
    """The web shop's consent export, mapped once and imported: applied rows and a few refused ones,
    so the import report has both."""
    from imports.models import ImportRun, ImportSource
    from imports.services import import_run_process, import_run_start

    if ImportSource.objects.filter(name="Web shop").exists():
        return
    source = ImportSource.objects.create(
        name="Web shop",
        key_column="Consent ID",
        email_column="Email",
        option_column="Option",
        value_column="Value",
        date_column="Date",
        option_map={"Newsletter": "newsletter", "Shop events": "events"},
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(IMPORT_HEADER)
    adults = Contact.objects.filter(is_child=False).order_by("pk")[100:124]
    for n, contact in enumerate(adults):
        option = "Newsletter" if n % 2 else "Shop events"
        when = (now - timedelta(days=40 + n)).strftime("%Y-%m-%d")
        writer.writerow([f"WS-{1000 + n}", contact.email, option, "yes" if n % 3 else "no", when])
    writer.writerow(["WS-2001", "not an address", "Newsletter", "yes", "2026-01-05"])
    writer.writerow(["WS-2002", "someone@example.org", "Loyalty club", "yes", "2026-01-05"])
    writer.writerow(["WS-2003", "other@example.org", "Newsletter", "maybe", "2026-01-05"])
    run = import_run_start(
        source=source,
        file=ContentFile(buffer.getvalue().encode(), name="webshop-consent.csv"),
        file_name="webshop-consent.csv",
        mode=ImportRun.Mode.VALID_ROWS,
        actor=officer,
    )
    import_run_process(run_id=run.pk)  # here and now; the worker finds it done and does nothing


def live_journey_with_sends(officer, now) -> int:
    """A second journey, live: one email sent to its audience, then a task; some opened and clicked."""
    from django.contrib.auth.models import Group

    from journeys.models import EmailTemplate, Interaction, Journey, Segment
    from journeys.services import (
        interaction_record,
        journey_create,
        journey_go_live,
        journey_step_add,
        journeys_run,
        segment_create,
    )
    from staff.roles import MARKETER
    from subscriptions.models import SubscriptionList

    if Journey.objects.filter(name="Product news").exists():
        return 0
    segment = Segment.objects.filter(name="Product updates").first() or segment_create(
        name="Product updates",
        description="Said yes to product update emails.",
        rules={"all": [{"purpose": "product-updates", "value": True}]},
        actor=officer,
    )
    journey = journey_create(
        name="Product news",
        segment=segment,
        purpose=Purpose.objects.get(slug="product-updates"),
        subscription_list=SubscriptionList.objects.get(slug="product-updates"),
        actor=officer,
    )
    template, _ = EmailTemplate.objects.get_or_create(
        name="Product news",
        defaults={
            "subject": "What changed this month, {{ first_name }}",
            "body": "Hello {{ first_name }},\n\nthree things changed in the products you use.",
        },
    )
    journey_step_add(journey=journey, kind="email", template=template)
    journey_step_add(
        journey=journey,
        kind="task",
        task_title="Follow up on product news",
        task_group=Group.objects.get(name=MARKETER),
    )
    journey_go_live(journey=journey, actor=officer)
    with override_settings(**QUIET_MAIL):
        get_connection()  # the locmem outbox exists from here
        counts = journeys_run(now=now)
    rng = random.Random(7)
    for contact in Contact.objects.filter(tracking_allowed=True, is_child=False).order_by("pk")[:40]:
        if rng.random() < 0.6:
            opened = now - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23))
            interaction_record(
                contact=contact, kind=Interaction.Kind.EMAIL_OPEN, at=opened, detail="Product news"
            )
            if rng.random() < 0.4:
                interaction_record(
                    contact=contact,
                    kind=Interaction.Kind.EMAIL_CLICK,
                    at=opened + timedelta(minutes=rng.randint(1, 30)),
                    detail="Product news: release notes",
                )
    return counts.get("sent", 0)


def breach_with_notices(officer, now) -> None:
    """One breach in the register with every field filled: the web shop's consent export sent to
    the wrong partner, notified to the authority late (with the reasons) and to the people it
    concerned, their notices sent here and now (kept in memory)."""
    from breaches.models import Breach
    from breaches.selectors import notifiable_contacts
    from breaches.services import breach_notices_send, breach_notify_people, breach_save
    from imports.models import ImportSource

    if Breach.objects.exists():
        return
    discovered = now - timedelta(days=6, hours=3)
    breach = breach_save(
        breach=Breach(
            summary="Web shop consent export emailed to the wrong partner",
            discovered_at=discovered,
            occurred_at=discovered - timedelta(hours=20),
            nature="Confidentiality: the web shop's consent export (CSV) was emailed to a partner "
            "agency instead of our own import mailbox.",
            people_categories="Web shop customers",
            people_count=24,
            data_categories="Email addresses, newsletter and shop event consent answers with their dates",
            records_count=27,
            consequences="Unwanted email from a third party; the answers reveal shopping interests.",
            measures="The partner confirmed deletion in writing; exports now go only to our import "
            "mailbox, encrypted. The people concerned are told what happened.",
            dpo_contact="Dana Weber, dpo@example.org",
            risk=Breach.Risk.HIGH,
            authority_notified_at=discovered + timedelta(hours=80),
            authority_reference="LDA-2026-4711",
            delay_reasons="The partner confirmed which file it received only on the third day.",
            people_notice="A file with your email address and your answers about our newsletter and "
            "shop events was emailed to a partner agency by mistake. The agency has deleted it.",
            affected_source=ImportSource.objects.get(name="Web shop"),
        ),
        actor=officer,
    )
    with override_settings(**QUIET_MAIL):
        get_connection()
        breach_notify_people(breach=breach, expected=notifiable_contacts(breach).count(), actor=officer)
        breach_notices_send(breach_id=breach.pk)
    Breach.objects.filter(pk=breach.pk).update(people_notified_at=discovered + timedelta(hours=90))
