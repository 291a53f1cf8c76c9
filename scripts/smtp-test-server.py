#!/usr/bin/python3
"""A real SMTP server for Tickler's tests, with faults that tests can switch on and off.

Run it with Debian's interpreter (/usr/bin/python3), which sees the python3-aiosmtpd package.

    smtp-test-server.py --port 0 --maildir DIR [--faults FILE] [--reply-delay SECONDS]

--port 0 picks a free port and prints "LISTENING <port>" once the server accepts connections,
so a harness never races the start-up. Each accepted message is written atomically to
DIR/<counter>.eml (the exact bytes received), with DIR/<counter>.json beside it holding the
envelope: {"mail_from": ..., "rcpt_tos": [...]}. The JSON file is written first, so a reader
that sees the .eml also sees its envelope.

The faults file is re-read at every step of every transaction, so a test can change it while
the server runs:

    {"data_reply": "451 4.3.0 Try later", "remaining": 3}
        answer the next 3 DATA commands with that reply, then accept again. Without
        "remaining" the reply is given until the file changes. The count restarts whenever
        the file's content changes.
    {"data_reply": "disconnect"}
        drop the connection instead of answering DATA (a lost connection).
    {"mail_reply": "421 4.7.0 Too busy"}
        answer MAIL FROM with that reply.
    {"reject_rcpt": {"bad@example.com": "550 5.1.1 No such user"}}
        answer RCPT TO for that address with that reply.
"""

import argparse
import asyncio
import json
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Faults:
    """The faults file, with the countdown of "remaining" kept in memory.

    The file is never written back: the test owns it, and writing it from two processes would
    race. A changed content restarts the countdown instead.
    """

    def __init__(self, path):
        self.path = path
        self.text = None
        self.remaining = None

    def current(self):
        if not self.path:
            return {}
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            text = ""
        if text != self.text:
            self.text = text
            try:
                faults = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError as e:
                print(f"smtp-test-server: ignoring bad faults file: {e}", file=sys.stderr, flush=True)
                faults = {}
            self.parsed = faults if isinstance(faults, dict) else {}
            self.remaining = self.parsed.get("remaining")
        return self.parsed

    def take_data_reply(self):
        """The reply to force on this DATA command, or None to accept the message."""
        reply = self.current().get("data_reply")
        if not reply:
            return None
        if self.remaining is None:
            return reply
        if self.remaining <= 0:
            return None
        self.remaining -= 1
        return reply


class Handler:
    def __init__(self, maildir, faults, reply_delay):
        self.maildir = maildir
        self.faults = faults
        self.reply_delay = reply_delay
        existing = [int(n.split(".")[0]) for n in os.listdir(maildir) if n.split(".")[0].isdigit()]
        self.counter = max(existing, default=0)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.faults.current().get("mail_reply")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rejects = self.faults.current().get("reject_rcpt") or {}
        reply = rejects.get(address) or rejects.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        reply = self.faults.take_data_reply()
        if reply == "disconnect":
            server.transport.close()
            return "421 4.4.2 Connection dropped"
        if reply:
            return reply
        self.counter += 1
        n = self.counter
        self._write(f"{n}.json", json.dumps({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}).encode())
        self._write(f"{n}.eml", envelope.original_content)
        return f"250 2.0.0 OK queued as {n}"

    def _write(self, name, data):
        # A temporary name first, so a reader polling the folder never sees half a message.
        tmp = os.path.join(self.maildir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.maildir, name))


async def serve(args):
    os.makedirs(args.maildir, exist_ok=True)
    handler = Handler(args.maildir, Faults(args.faults), args.reply_delay)
    loop = asyncio.get_running_loop()
    # A fixed hostname: the default looks up the machine's FQDN, which can stall for seconds.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="tickler-test-smtp", decode_data=False, enable_SMTPUTF8=True),
        host=args.host,
        port=args.port,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    # Newer Pythons wait for open client connections here; a pooled client may never hang up.
    try:
        await asyncio.wait_for(server.wait_closed(), timeout=2)
    except asyncio.TimeoutError:
        pass


def main():
    parser = argparse.ArgumentParser(description="SMTP server for Tickler's tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--faults")
    parser.add_argument("--reply-delay", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
