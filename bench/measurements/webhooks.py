"""Events for downstream systems: what the outbox adds to a consent change, and how fast
deliveries reach a receiver on loopback next to a bare POST loop to the same receiver."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.measurements.common import Result, timed
from consent.models import Source
from consent.services import ConsentWish, consent_changes_apply
from contacts.models import Contact
from webhooks.delivery import deliveries_run
from webhooks.models import Delivery, Endpoint, Event


class _Accept(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_POST(self):  # http.server's hook name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def webhook_delivery(repeat: int, batch: int) -> list[Result]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    ids = list(
        Contact.objects.filter(consent_given__in=[1, 2]).order_by("id").values_list("id", flat=True)[:batch]
    )
    flip = {"value": 1}

    def changes():
        flip["value"] = 2 if flip["value"] == 1 else 1
        consent_changes_apply(
            groups=[[ConsentWish(contact_id=pk, level=flip["value"])] for pk in ids], source=Source.IMPORT
        )
        return len(ids)

    try:
        without_s, n = timed(changes, repeat)
        Endpoint.objects.create(name="bench receiver", url=url)
        with_s, _ = timed(changes, repeat)
        overhead = Result(
            "consent changes with the outbox (one batch)",
            n,
            with_s,
            without_s,
            extra={
                "per_s": round(n / with_s),
                "baseline_per_s": round(n / without_s),
                "baseline": "no endpoint",
            },
        )
        delivery = _delivery(repeat, url, changes)
    finally:
        Event.objects.all().delete()
        Endpoint.objects.filter(name="bench receiver").delete()
        server.shutdown()
        server.server_close()
    return [overhead, delivery]


def _delivery(repeat: int, url: str, changes) -> Result:
    """Product: deliveries_run over a batch of fresh events (claim, sign, POST, record). Baseline: the
    same number of unsigned POSTs of a similar body in a plain loop, no database."""

    def product():
        Delivery.objects.all().delete()
        changes()
        return deliveries_run(limit=500, rounds=10_000)

    body = json.dumps({"type": "consent.changed", "data": {"contact": {"id": 1}, "new": 2}}).encode()

    def bare():
        for _ in range(count):
            request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})  # noqa: S310
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (our loopback receiver)
                answer.read()
        return count

    # The timed product includes writing the events; time that part alone and take it off.
    write_s, count = timed(changes, repeat)
    product_s, delivered = timed(product, repeat)
    baseline_s, _ = timed(bare, repeat)
    sending_s = max(product_s - write_s, 1e-9)
    return Result(
        "webhook deliveries to a loopback receiver",
        delivered,
        sending_s,
        baseline_s,
        extra={
            "per_s": round(delivered / sending_s),
            "baseline_per_s": round(count / baseline_s),
            "baseline": "bare POST loop",
        },
    )
