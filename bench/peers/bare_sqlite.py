#!/usr/bin/env python3
"""The bare Python sqlite3 peers of `tickler import` and `tickler dispatch --once`.

    bare_sqlite.py insert CSV DB      customers, contracts and 4 reminders per contract from the
                                      contracts CSV (peer_rows.py), executemany in one transaction
    bare_sqlite.py claim DB NOW       claim-and-complete loop over a copy of Tickler's database:
                                      batches of 200 due reminders marked sent, one transaction each

Each prints one line `RESULT rows=N seconds=S rows_per_s=R`. This is what a cron script with
sqlite3 would do, with none of Tickler's checks, rendering or events: the floor to compare with.
"""

import datetime
import sqlite3
import sys
import time

import peer_rows

BATCH = 200


def insert(csv_path, db_path):
    start = time.monotonic()
    db = sqlite3.connect(db_path, isolation_level=None)
    db.executescript("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                     + peer_rows.schema("INTEGER", "TEXT", "TEXT"))
    customers, contracts, reminders = [], [], []
    peer_rows.read(csv_path, customers.append, contracts.append, reminders.append)
    db.execute("BEGIN")
    db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", customers)
    db.executemany("INSERT INTO contracts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", contracts)
    db.executemany("INSERT INTO reminders VALUES (?, ?, ?, ?, ?, ?)", reminders)
    db.execute("COMMIT")
    db.close()
    report(len(contracts), time.monotonic() - start)


def claim(db_path, now):
    now_ms = int(datetime.datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp() * 1000)
    start = time.monotonic()
    db = sqlite3.connect(db_path, isolation_level=None)
    done = 0
    while True:
        db.execute("BEGIN IMMEDIATE")
        ids = db.execute("SELECT id FROM reminders WHERE status = 'scheduled' AND due_at <= ? "
                         "ORDER BY due_at LIMIT ?", (now_ms, BATCH)).fetchall()
        db.executemany("UPDATE reminders SET status = 'sent' WHERE id = ?", ids)
        db.execute("COMMIT")
        if not ids:
            break
        done += len(ids)
    db.close()
    report(done, time.monotonic() - start)


def report(rows, seconds):
    print(f"RESULT rows={rows} seconds={seconds:.3f} rows_per_s={rows / seconds:.0f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "insert":
        insert(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "claim":
        claim(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
