"""Growing past one machine: three real workers share one journey run on the real broker, one of
them is killed (SIGKILL, as a machine that dies) in the middle, and nobody gets the journey's email
twice; everyone gets it once except at most the one send the kill cut in its last bytes, which is
recorded as uncertain and never repeated (issue 24)."""

import os
import re
import signal
from collections import Counter

import pytest
from django.db import connection
from django.db.models import F

from consent.models import Purpose, Source
from consent.services import contacts_create_with_consent
from core.models import ComplianceSettings
from journeys.models import Enrolment, SendConsent, StepRun
from journeys.services import claim_timeout
from journeys.tasks import run_journeys
from tests.conftest import serve_smtp, wait_for
from tests.factories import make_journey

# The issue asks for 100,000; every send still costs about 29 SQL statements (claim, consent
# proof, eligibility, tracking) and one rendered message, so on CI's two cores that scale would take
# many minutes of a PostgreSQL pass that has almost none left. 300 in fifteen batches still kills a
# worker in the middle of a batch with more queued behind it. Override to measure another scale.
CONTACTS = int(os.environ.get("JOURNEY_WORKERS_CONTACTS", "300"))
BATCH = max(CONTACTS // 15, 1)  # fifteen batches: five for each worker
PATIENCE = max(600, CONTACTS // 20)  # seconds per wait: 100,000 sends take many minutes here


class Tally:
    """An SMTP server's count of what it accepted: messages per recipient and per Message-ID."""

    message_id = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)

    def __init__(self):
        self.per_recipient, self.per_message_id, self.total = Counter(), Counter(), 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.total += 1
        self.per_recipient.update(envelope.rcpt_tos)
        found = self.message_id.search(envelope.content)
        self.per_message_id[found.group(1) if found else b""] += 1
        return "250 Message accepted for delivery"


def _seed(count: int) -> None:
    """`count` contacts in the journey's segment (newsletter yes, Germany, level 4), with their
    sealed consent change records, set-based through the consent service's bulk path."""
    rows = (
        {
            "first_name": f"Ada{i}",
            "last_name": "Lovelace",
            "email": f"c{i}@workers.example",
            "country": "DE",
            "consent_given": 4,
            "purposes": {"newsletter": True},
        }
        for i in range(count)
    )
    contacts_create_with_consent(rows=rows, source=Source.IMPORT, batch_size=10_000)


def _busy(app, names: list[str]) -> bool:
    """Whether the broker still holds queued tasks or any of these workers is running one."""
    from kombu.exceptions import ChannelError

    with app.connection_for_write() as conn:
        try:
            queued = conn.default_channel.queue_declare(queue="celery", passive=True).message_count
        except ChannelError:  # Redis: an empty queue does not exist
            queued = 0
    if queued:
        return True
    active = app.control.inspect(destination=names, timeout=2).active() or {}
    return len(active) < len(names) or any(active.values())


def _forget_unacked(app) -> None:
    # Redis keeps the dead worker's unacknowledged batch for visibility_timeout (an hour), then
    # redelivers it: a later test's worker must not get a batch of this test's enrolments.
    with app.connection_for_write() as conn:
        if conn.transport.driver_type == "redis":
            conn.default_channel.client.delete("unacked", "unacked_index")


@pytest.mark.worker
@pytest.mark.postgres
def test_three_workers_one_killed_mid_run_send_every_email_exactly_once(celery_workers, settings):
    """A journey's run over CONTACTS eligible contacts is shared out in batches to three workers;
    when a third of the mails are out, one worker dies (SIGKILL). The other two finish the queue;
    the next run, once the dead worker's claim has expired, finishes its batch. The mail server
    got every done send exactly once and nothing twice; the database records each send once."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: several worker processes writing one database at once")
    from config.celery import app

    row = ComplianceSettings.load()
    row.log_consent_changes = True
    row.save()
    Purpose.objects.create(slug="newsletter", name="Newsletter")
    _seed(CONTACTS)
    journey = make_journey(steps=("email",))

    tally = Tally()
    controller = serve_smtp(settings, tally)
    workers = celery_workers(3)
    names = []
    try:
        for number, worker in enumerate(workers, 1):
            worker.env["EMAIL_URL"] = f"smtp://127.0.0.1:{tally.port}"
            worker.env["JOURNEY_BATCH_SIZE"] = str(BATCH)
            names.append(f"journeys{number}@test")
            worker.start(name=names[-1])
        run_journeys.delay()  # the beat's job: enrols everyone, queues the batches

        wait_for(lambda: tally.total >= CONTACTS // 3, seconds=PATIENCE, message="a third of the mails")
        dead = workers[0]
        dead.process.send_signal(signal.SIGKILL)
        dead.process.wait(timeout=30)
        assert tally.total < CONTACTS  # mid-run

        wait_for(
            lambda: not _busy(app, names[1:]), seconds=PATIENCE, message="the survivors to finish the queue"
        )
        # At most the dead worker's batch is unfinished (prefetch 1, acks late: it held only the
        # batch it was on; Redis redelivers that after visibility_timeout, RabbitMQ at once).
        assert Enrolment.objects.filter(journey=journey, status="active").count() <= BATCH
        # Its claim grows older than JOURNEY_CLAIM_MINUTES; then the beat's next run (here queued
        # by hand) hands the rest of its batch to the survivors.
        StepRun.objects.filter(enrolment__journey=journey, status__in=["claimed", "sending"]).update(
            claimed_at=F("claimed_at") - claim_timeout()
        )
        run_journeys.delay()
        wait_for(
            lambda: not Enrolment.objects.filter(journey=journey, status="active").exists(),
            seconds=PATIENCE,
            message="the next run to finish the journey",
        )
    finally:
        _forget_unacked(app)
        controller.stop()

    expected = {f"c{i}@workers.example" for i in range(CONTACTS)}
    runs = StepRun.objects.filter(enrolment__journey=journey)
    assert runs.count() == CONTACTS == SendConsent.objects.filter(step_run__in=runs).count()
    by_status = {
        status: set(runs.filter(status=status).values_list("enrolment__contact__email", flat=True))
        for status in ("done", "uncertain")
    }
    # The killed worker may have died in the few bytes between the hand-over mark and the end of
    # the message's data (core.mail_handover): that one send is recorded "uncertain" and never
    # repeated; the server may or may not have it (the 100,000 run of 2026-12-03 had one, not
    # delivered). Every other send is done and arrived exactly once; nobody got it twice.
    assert len(by_status["uncertain"]) <= 1
    assert by_status["done"] | by_status["uncertain"] == expected
    received = set(tally.per_recipient)
    assert by_status["done"] <= received <= expected
    assert set(tally.per_recipient.values()) == {1}, "somebody got the email twice"
    assert tally.total == len(received)
    assert len(tally.per_message_id) == tally.total and b"" not in tally.per_message_id
    assert Enrolment.objects.filter(journey=journey, status="completed").count() == CONTACTS
