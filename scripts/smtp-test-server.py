#!/usr/bin/python3
"""A real SMTP server for Tickler's tests, with faults that tests can switch on and off.

Run it with Debian's interpreter (/usr/bin/python3), which sees the python3-aiosmtpd package.

    smtp-test-server.py --port 0 --maildir DIR [--faults FILE] [--reply-delay SECONDS]
                        [--tls-cert PEM --tls-key PEM [--implicit-tls]] [--login USER:PASSWORD]

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

TLS and logins, for the tests of SMTP security:

    --tls-cert/--tls-key: offer STARTTLS with that certificate, and require it before MAIL;
        with --implicit-tls, speak TLS from the first byte instead (smtps).
    --login USER:PASSWORD: offer AUTH PLAIN and LOGIN, and require a login before MAIL. With
        TLS, AUTH is offered only once the connection is encrypted; without it, AUTH is offered
        in the clear: what a client sees when a man in the middle strips STARTTLS. Every AUTH
        attempt is appended to DIR/../logins.jsonl as {"login": ..., "accepted": ..., "tls": ...}
        (never the password), so a test can tell whether credentials travelled in the clear.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult


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


class Authenticator:
    """Checks the one login, and logs every attempt with whether the connection was encrypted."""

    def __init__(self, login, log_path):
        self.user, _, self.password = login.partition(":")
        self.log_path = log_path

    def __call__(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        accepted = login == self.user and auth_data.password.decode("utf-8", "replace") == self.password
        encrypted = server.transport.get_extra_info("sslcontext") is not None
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"login": login, "accepted": accepted, "tls": encrypted}) + "\n")
        return AuthResult(success=accepted)


async def serve(args):
    os.makedirs(args.maildir, exist_ok=True)
    handler = Handler(args.maildir, Faults(args.faults), args.reply_delay)
    loop = asyncio.get_running_loop()
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    starttls = context if context and not args.implicit_tls else None
    security = {}
    if starttls:
        security.update(tls_context=starttls, require_starttls=True)
    if args.login:
        log_path = os.path.join(os.path.dirname(os.path.abspath(args.maildir)), "logins.jsonl")
        security.update(
            authenticator=Authenticator(args.login, log_path),
            auth_required=True,
            # With STARTTLS, AUTH waits for it; implicit TLS is encrypted from the start (which
            # aiosmtpd cannot see), and without TLS this is the stripped-STARTTLS server.
            auth_require_tls=bool(starttls),
        )
    # A fixed hostname: the default looks up the machine's FQDN, which can stall for seconds.
    server = await loop.create_server(
        lambda: SMTP(
            handler, hostname="tickler-test-smtp", decode_data=False, enable_SMTPUTF8=True, **security
        ),
        host=args.host,
        port=args.port,
        ssl=context if args.implicit_tls else None,
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
    # The stripped-STARTTLS server offers AUTH in the clear on purpose; aiosmtpd's warnings
    # about it (and its own deprecations) would only clutter the test output.
    warnings.simplefilter("ignore")
    log = logging.getLogger("mail.log")
    log.setLevel(logging.ERROR)
    # A client refusing the test certificate is what the TLS tests are about, not an error.
    log.addFilter(lambda record: not (record.exc_info and record.exc_info[0].__name__ == "TLSSetupException"))
    parser = argparse.ArgumentParser(description="SMTP server for Tickler's tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--faults")
    parser.add_argument("--reply-delay", type=float, default=0.0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--login")
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
