"""The issue's scene: contacts in Germany who said yes to the newsletter, at Marketing."""

import pytest

from consent.models import Source
from consent.services import consent_change
from tests.factories import ContactFactory, PurposeFactory


@pytest.fixture
def newsletter(db):
    return PurposeFactory(slug="newsletter", name="Newsletter")


@pytest.fixture
def member(newsletter):
    """make a contact who belongs to the issue's segment: member(level=4, country="DE", ...)."""

    def make(level=4, newsletter_yes=True, country="DE", **fields):
        contact = ContactFactory(country=country, **fields)
        consent_change(
            contact=contact, level=level, purposes={newsletter: newsletter_yes}, source=Source.IMPORT
        )
        contact.refresh_from_db()
        return contact

    return make


@pytest.fixture
def eager_tasks():
    """Queued Celery tasks run in-process (the broker and a real worker are tested elsewhere)."""
    from config.celery import app

    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = False, False


class Hold:
    """Stops the SMTP conversation at one point of the nth mail until the test releases it, so a
    test knows exactly where a worker is when it kills it."""

    def __init__(self, point: str, nth: int):
        import threading

        self.point, self.nth, self.count = point, nth, 0
        self.reached, self.released = threading.Event(), threading.Event()

    async def at(self, point: str) -> None:
        import asyncio

        if point != self.point:
            return
        self.count += 1
        if self.count == self.nth:
            self.reached.set()
            for _ in range(1200):  # at most a minute: a failed test must not hang the server
                if self.released.is_set():
                    return
                await asyncio.sleep(0.05)


@pytest.fixture
def held_smtp(settings):
    """A real SMTP server, as smtp_server, whose conversation can be held on the nth mail:
    `hold("greeting", 3)` holds the third connection before the server greets it (the client is
    still connecting, nothing handed over); `hold("data", 3)` holds the third message's DATA
    command before the server answers it (sender and recipient given, the message not yet
    sent: mid-conversation, nothing handed over); `hold("accepted", 3)` holds the third message after
    the server has it, before it answers 250 (the client does not know it was delivered)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    from tests.conftest import Inbox, serve_smtp

    class HeldInbox(Inbox):
        held = None

        def hold(self, point: str, nth: int) -> Hold:
            self.held = Hold(point, nth)
            return self.held

        async def at(self, point: str) -> None:
            if self.held is not None:
                await self.held.at(point)

        async def handle_DATA(self, server, session, envelope):
            answer = await super().handle_DATA(server, session, envelope)
            await self.at("accepted")
            return answer

    class HeldSMTP(SMTP):
        greeted = False

        async def smtp_DATA(self, arg):
            await self.event_handler.at("data")
            await super().smtp_DATA(arg)

        async def push(self, status):
            if not self.greeted and str(status).startswith("220 "):
                self.greeted = True
                await self.event_handler.at("greeting")
            await super().push(status)

    class HeldController(Controller):
        def factory(self):
            return HeldSMTP(self.handler, **self.SMTP_kwargs)

    inbox = HeldInbox()
    controller = serve_smtp(settings, inbox, HeldController)
    yield inbox
    if inbox.held is not None:
        inbox.held.released.set()
    controller.stop()
