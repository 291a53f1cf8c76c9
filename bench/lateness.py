#!/usr/bin/env python3
"""Lateness of a burst: how long after their due instant the messages of an outbox were written.

    lateness.py OUTBOX DUE_MS COUNT TIMEOUT_S

Waits until OUTBOX holds COUNT .eml files (at most TIMEOUT_S seconds after the due instant),
then prints `RESULT messages=N p50_s=.. max_s=..`: each message's lateness is its file's
modification time minus DUE_MS (epoch milliseconds). Fails if fewer than COUNT arrived.
"""

import os
import sys
import time


def main(outbox, due_ms, count, timeout_s):
    deadline = due_ms / 1000 + timeout_s
    names = []
    while time.time() < deadline:
        names = [n for n in os.listdir(outbox) if n.endswith(".eml")] if os.path.isdir(outbox) else []
        if len(names) >= count:
            break
        time.sleep(0.05)
    if len(names) < count:
        sys.exit(f"lateness: {len(names)} of {count} messages in {outbox} within {timeout_s} s of the due instant")
    late = sorted(os.stat(os.path.join(outbox, n)).st_mtime - due_ms / 1000 for n in names)
    print(f"RESULT messages={len(late)} p50_s={late[len(late) // 2]:.3f} max_s={late[-1]:.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
