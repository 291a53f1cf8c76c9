#!/usr/bin/env python3
"""A trivial SMTP client: what the SMTP test server accepts by itself, the peer of Tickler's sends.

    smtp_client.py PORT MESSAGES CONNECTIONS

Sends MESSAGES small messages to 127.0.0.1:PORT over CONNECTIONS connections at once (threads,
one smtplib session each, one message after another on each, with TCP_NODELAY as any client
should), and prints `RESULT messages=N seconds=S messages_per_s=R`.
"""

import smtplib
import socket
import sys
import threading
import time

MESSAGE = """From: Tickler <tickler@firm.example>
To: customer@example.com
Subject: Your contract ends on 30 June 2027
Message-ID: <{n}@bench.firm.example>

Dear customer, your contract ends on 30 June 2027.
"""


def send(port, numbers):
    session = smtplib.SMTP("127.0.0.1", port)
    session.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for n in numbers:
        session.sendmail("tickler@firm.example", ["customer@example.com"], MESSAGE.format(n=n))
    session.quit()


def main(port, messages, connections):
    threads = [threading.Thread(target=send, args=(port, range(c, messages, connections)))
               for c in range(connections)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    print(f"RESULT messages={messages} seconds={seconds:.3f} messages_per_s={messages / seconds:.0f}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
