#!/usr/bin/env python3
"""A webhook receiver for Tickler that checks every delivery's signature.

Run it:    python3 receiver.py PORT SECRET
It prints each verified event as one JSON line on standard output and answers 204;
a delivery whose signature does not verify gets 400 and is not printed. Only the
standard library is needed. Copy `verify` into your own receiver.
"""

import hashlib
import hmac
import http.server
import sys
import time

# Deliveries signed longer ago than this (or this far in the future) are refused: an
# old delivery replayed by someone who captured it does not verify.
TOLERANCE_SECONDS = 300


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """True if `header` (the Tickler-Signature header) signs `body` under `secret`."""
    parts = [part.strip().split("=", 1) for part in header.split(",")]
    timestamp = next((value for key, value in parts if key == "t"), None)
    signatures = [value for key, value in parts if key == "v1"]
    if timestamp is None or not timestamp.isdigit() or not signatures:
        return False
    if abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


class Receiver(http.server.BaseHTTPRequestHandler):
    secret = ""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not verify(self.secret, self.headers.get("Tickler-Signature", ""), body):
            self.send_response(400)
            self.end_headers()
            return
        # The same event may come twice (a retry after a lost answer): deduplicate on
        # the Tickler-Event-Id header (also the body's "id") before acting on it.
        print(body.decode(), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    Receiver.secret = sys.argv[2]
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
