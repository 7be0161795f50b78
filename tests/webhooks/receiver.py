"""A real HTTP receiver on loopback that verifies Standard Webhooks signatures, and can be told
to answer with an error or to go away entirely."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self, secret: str = ""):
        self.secret = secret
        self.received: list[dict] = []  # verified events, in arrival order, with their webhook-id
        self.rejected: list[str] = []  # why a post did not verify
        self.posted: list[str] = []  # the webhook-id of every post, answered or not
        self.answer = 204
        self.location = ""  # with answer 3xx: where the redirect points
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's hook name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                verified = receiver.take(body, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(receiver.answer if verified else 401)
                if receiver.location:
                    self.send_header("location", receiver.location)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self):  # a followed redirect arrives as a GET: it must never count
                receiver.posted.append("GET")
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self, body: bytes, headers: dict) -> bool:
        """Verify a post; keep it when the receiver is answering 2xx. False: the signature failed."""
        self.posted.append(headers.get("webhook-id", ""))
        try:
            event = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as refusal:
            self.rejected.append(str(refusal))
            return False
        if 200 <= self.answer < 300:
            self.received.append({"id": headers["webhook-id"], "raw": body.decode(), **event})
        return True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def types(self) -> list[str]:
        return [e["type"] for e in self.received]

    def body(self) -> str:
        return json.dumps(self.received)
