"""The person's last real action (issue 21, scope 2): a click in a journey email moves it, an open
never does. Sent over real SMTP and clicked through the real views, with a frozen clock."""

import datetime as dt
import re
from urllib.parse import urlparse

import pytest
import time_machine

from journeys.models import EmailTemplate
from journeys.services import journeys_run
from tests.factories import make_journey, with_consent

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
PERSON = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def links(smtp, kind):
    (message,) = smtp.messages
    part = "html" if kind == "o" else "plain"  # the open image is in the HTML, links in both
    body = message.get_body(preferencelist=(part,)).get_content()
    found = re.findall(rf"https?://[^\s<>\"]*?/t/{kind}/[^/\s<>\"]+/?", body)
    return list(dict.fromkeys(urlparse(u).path for u in found))


def test_a_click_is_the_persons_last_action_and_an_open_is_not(client, member, smtp):
    EmailTemplate.objects.create(
        name="Mail 1", subject="Spring", body="Sale: https://shop.example.org/spring"
    )
    make_journey(steps=("email",))
    with time_machine.travel(SENT - dt.timedelta(days=400), tick=False):
        ada = with_consent(member(email="ada@example.org"), tracking_allowed=True)
    signed_up = ada.last_action_at
    with time_machine.travel(SENT, tick=False):
        journeys_run()
    (pixel,) = links(smtp, "o")
    (click,) = links(smtp, "c")

    with time_machine.travel(SENT + dt.timedelta(days=2), tick=False):
        assert client.get(pixel).status_code == 200
    ada.refresh_from_db()
    assert ada.last_action_at == signed_up  # the open was the mail client, not Ada

    with time_machine.travel(SENT + dt.timedelta(days=3), tick=False):
        assert client.get(click, HTTP_USER_AGENT=PERSON).status_code == 302
    ada.refresh_from_db()
    assert ada.last_action_at == SENT + dt.timedelta(days=3)

    with time_machine.travel(SENT + dt.timedelta(days=9), tick=False):
        client.get(pixel)  # a later open still moves nothing
    ada.refresh_from_db()
    assert ada.last_action_at == SENT + dt.timedelta(days=3)
