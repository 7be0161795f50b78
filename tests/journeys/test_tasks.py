"""The beat job that runs journeys: the issue's journey end to end over real SMTP, and never a
step twice (rerun, failed send, crashed worker, two workers at once)."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from journeys.models import Enrolment, JourneyTask, StepRun
from journeys.services import RETRY_DELAY, AdvanceOutcome, claim_timeout, journey_enrol, journeys_run
from journeys.tasks import run_journeys
from subscriptions.models import SubscriptionList
from tests.conftest import run_together, wait_for
from tests.factories import make_journey

WEEK_LATER = timedelta(days=7, hours=1)


def subjects(inbox, contact):
    return [m["Subject"] for m in inbox.messages if contact.email in m["To"]]


@pytest.mark.django_db
def test_the_journey_job_is_scheduled_every_few_minutes_and_scoring_nightly():
    run = PeriodicTask.objects.get(task="journeys.run_journeys")
    assert run.enabled and run.interval.every == 5 and run.interval.period == "minutes"
    assert PeriodicTask.objects.get(task="journeys.score_leads").crontab.hour == "2"


@pytest.mark.django_db
def test_two_emails_a_week_apart_then_a_task_through_the_beat_task(member, smtp):
    news = SubscriptionList.objects.create(name="News", slug="news")
    journey = make_journey(subscription_list=news)
    anna = member(first_name="<Anna>")
    assert run_journeys.delay().get() == {"batches": 1, "enrolments": 1}
    assert subjects(smtp, anna) == ["Mail 1 for <Anna>"]
    first = smtp.messages[0]
    assert "<https://" in first["List-Unsubscribe"] or "<http://" in first["List-Unsubscribe"]
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "&lt;Anna&gt;" in first.get_body(preferencelist=("html",)).get_content()
    journeys_run(now=timezone.now() + timedelta(days=6))
    assert len(smtp.messages) == 1  # the week is not over
    journeys_run(now=timezone.now() + WEEK_LATER)
    assert subjects(smtp, anna) == ["Mail 1 for <Anna>", "Mail 3 for <Anna>"]
    task = JourneyTask.objects.get()
    assert (task.contact, task.title, task.assigned_group.name) == (anna, "Call them", "Sales")
    assert Enrolment.objects.get(journey=journey).status == "completed"


@pytest.mark.django_db
def test_a_rerun_sends_nothing_twice_and_enrols_nobody_twice(member, smtp):
    make_journey()
    people = [member() for _ in range(3)]
    now = timezone.now()
    first = journeys_run(now=now)
    again = journeys_run(now=now)
    assert first["enrolled"] == 3 and first[AdvanceOutcome.SENT] == 3
    assert again.get("enrolled", 0) == 0 and again.get(AdvanceOutcome.SENT, 0) == 0
    assert sorted(len(subjects(smtp, p)) for p in people) == [1, 1, 1]


@pytest.mark.django_db
def test_a_failed_send_is_released_and_sent_once_on_a_later_run(member, smtp, settings):
    make_journey(steps=("email",))
    anna = member()
    with socket.socket() as closed:  # a port nobody listens on: the SMTP server is "down"
        closed.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = closed.getsockname()[1]
    now = timezone.now()
    assert journeys_run(now=now)[AdvanceOutcome.FAILED] == 1
    assert not StepRun.objects.exists()  # the claim was released, not left behind
    settings.EMAIL_PORT = smtp.port
    assert journeys_run(now=now).get(AdvanceOutcome.SENT, 0) == 0  # not before the retry delay
    assert journeys_run(now=now + RETRY_DELAY)[AdvanceOutcome.SENT] == 1
    journeys_run(now=now + RETRY_DELAY + timedelta(hours=1))
    assert subjects(smtp, anna) == [f"Mail 1 for {anna.first_name}"]


@pytest.mark.django_db
def test_a_dead_workers_claim_is_taken_over_only_if_its_mail_never_reached_the_server(member, smtp):
    """Anna's worker died after handing her mail to the server: it may have gone out, so it is not
    repeated. Carl's died before that: nothing went out, so a later run sends it. Bob's claim is
    fresh (a worker sending right now) and is left alone."""
    journey = make_journey(steps=("email", "task"))
    anna, bob, carl = member(), member(), member()
    now = timezone.now()
    journey_enrol(journey=journey, now=now)
    step = journey.steps.get(position=0)
    dead = now - claim_timeout() - timedelta(minutes=1)
    for contact, status, claimed_at in (
        (anna, "sending", dead),
        (bob, "claimed", now),
        (carl, "claimed", dead),
    ):
        StepRun.objects.create(
            enrolment=Enrolment.objects.get(contact=contact), step=step, status=status, claimed_at=claimed_at
        )
    journeys_run(now=now)
    assert [m["To"] for m in smtp.messages] == [carl.email]
    assert StepRun.objects.get(enrolment__contact=anna, step=step).status == "uncertain"
    assert StepRun.objects.get(enrolment__contact=carl, step=step).status == "done"
    assert sorted(t.contact.pk for t in JourneyTask.objects.all()) == sorted([anna.pk, carl.pk])
    assert Enrolment.objects.get(contact=bob).next_position == 0  # bob waits for his worker


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_every_step_exactly_once(member, smtp):
    make_journey()
    people = [member() for _ in range(12)]
    now = timezone.now()
    results = run_together(lambda: journeys_run(now=now), lambda: journeys_run(now=now))
    assert sum(r.get(AdvanceOutcome.SENT, 0) for r in results) == 12
    assert sum(r.get("enrolled", 0) for r in results) == 12
    assert sorted(len(subjects(smtp, p)) for p in people) == [1] * 12
    later = now + WEEK_LATER
    run_together(lambda: journeys_run(now=later), lambda: journeys_run(now=later))
    assert sorted(len(subjects(smtp, p)) for p in people) == [2] * 12
    assert JourneyTask.objects.count() == 12
    assert StepRun.objects.filter(status="done").count() == 36


@pytest.mark.worker
def test_a_worker_on_the_real_broker_runs_the_journeys(celery_worker, smtp_server, member):
    make_journey(steps=("email",))
    anna = member()
    assert not run_journeys.app.conf.task_always_eager  # it must really cross the broker
    celery_worker.env["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_server.port}"
    celery_worker.start()
    run_journeys.delay()
    wait_for(lambda: smtp_server.messages, seconds=60, message="the worker's journey email")
    assert subjects(smtp_server, anna) == [f"Mail 1 for {anna.first_name}"]
    wait_for(
        lambda: Enrolment.objects.filter(status="completed").exists() or None, seconds=30, message="done"
    )
    assert celery_worker.process.poll() is None


def _outcome(journey, inbox) -> dict:
    """What the people and the staff see of a journey run: every mail received, every task, where
    every enrolment ended."""
    return {
        "mails": sorted((m["To"], m["Subject"]) for m in inbox.messages),
        "tasks": sorted(JourneyTask.objects.filter(journey=journey).values_list("contact_id", "title")),
        "enrolments": sorted(
            Enrolment.objects.filter(journey=journey).values_list("contact_id", "status", "next_position")
        ),
    }


@pytest.mark.worker
@pytest.mark.parametrize("killed", ["in the middle of the conversation", "after the server took the mail"])
def test_a_worker_killed_mid_run_finishes_after_a_restart_and_sends_no_email_twice(
    celery_worker, held_smtp, member, killed
):
    """A real worker on the real broker is killed (SIGKILL) in the middle of a journey run, on the
    eighth of twelve mails: either in the middle of the SMTP conversation (sender and recipient
    given, the message not yet sent: nothing handed over) or after the server took the mail but
    before it answered. Once its claim has expired, the next run on a restarted worker finishes
    the journey exactly as an uninterrupted run does, and nobody gets a mail twice."""
    import signal

    from django.db.models import F

    from journeys.services import journey_stop

    steps = ("email", "email", "task")
    for _ in range(6):
        member()
    reference = make_journey(name="Uninterrupted", steps=steps)
    journeys_run()  # in this process, nobody interrupts it
    expected = _outcome(reference, held_smtp)
    assert len(expected["mails"]) == 12 and len(expected["tasks"]) == 6
    journey_stop(journey=reference)
    held_smtp.messages.clear()

    journey = make_journey(name="Interrupted", steps=steps)
    hold = held_smtp.hold("data" if killed == "in the middle of the conversation" else "accepted", nth=8)
    celery_worker.env["EMAIL_URL"] = f"smtp://127.0.0.1:{held_smtp.port}"
    celery_worker.start()
    run_journeys.delay()
    assert hold.reached.wait(timeout=60), "the worker never reached the eighth mail"
    celery_worker.process.send_signal(signal.SIGKILL)
    celery_worker.process.wait(timeout=30)
    hold.released.set()
    delivered = 7 if killed == "in the middle of the conversation" else 8
    assert len(held_smtp.messages) == delivered  # mid-run: some mails out, the rest not
    assert not JourneyTask.objects.filter(journey=journey).exists()

    # The claim the dead worker left grows older than JOURNEY_CLAIM_MINUTES; then the beat's next
    # run (here queued by hand) goes to a restarted worker.
    StepRun.objects.filter(enrolment__journey=journey, status__in=["claimed", "sending"]).update(
        claimed_at=F("claimed_at") - claim_timeout()
    )
    celery_worker.start()
    run_journeys.delay()
    wait_for(
        lambda: not Enrolment.objects.filter(journey=journey, status="active").exists(),
        seconds=60,
        message="the journey to finish on the restarted worker",
    )
    assert _outcome(journey, held_smtp) == expected
    uncertain = StepRun.objects.filter(enrolment__journey=journey, status="uncertain").count()
    # Recorded as uncertain, not resent.
    assert uncertain == (0 if killed == "in the middle of the conversation" else 1)


@pytest.mark.worker
@pytest.mark.postgres
def test_a_journey_run_that_loses_its_database_connection_is_retried_and_sends_every_email_once(
    celery_worker, cut_worker_connection, held_smtp, member
):
    """The worker's database connection is cut for real right after the fourth of eight mails,
    while it re-checks the next contact before claiming a step: that step's transaction is rolled
    back, the task is retried and the journey ends as an uninterrupted run does."""
    from journeys.services import journey_stop

    steps = ("email", "task")
    for _ in range(8):
        member()
    reference = make_journey(name="Uninterrupted", steps=steps)
    journeys_run()
    expected = _outcome(reference, held_smtp)
    journey_stop(journey=reference)
    held_smtp.messages.clear()

    journey = make_journey(name="Interrupted", steps=steps)
    hold = held_smtp.hold("data", nth=4)
    celery_worker.env["EMAIL_URL"] = f"smtp://127.0.0.1:{held_smtp.port}"
    celery_worker.start()
    run_journeys.delay()
    assert hold.reached.wait(timeout=60), "the worker never reached the fourth mail"
    # contacts_contact is read by the eligibility re-check that opens each step's transaction.
    cut_worker_connection("contacts_contact", once_locked=hold.released.set)
    assert len(held_smtp.messages) == 4  # cut mid-run
    wait_for(
        lambda: not Enrolment.objects.filter(journey=journey, status="active").exists(),
        seconds=60,
        message="the retried run to finish the journey",
    )
    assert _outcome(journey, held_smtp) == expected
