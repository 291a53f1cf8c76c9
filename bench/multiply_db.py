#!/usr/bin/env python3
"""Grows an imported Tickler SQLite database FACTOR times by copying its rows, for measuring
pages, start-up and bursts at a million contracts without waiting for a million-row import.

    multiply_db.py DB FACTOR

Each copy k (1 .. FACTOR-1) of the customers, their addresses, the contracts, their terms and
their reminders gets ids shifted by k times the largest id, addresses and Message-IDs a `k-`
prefix, so that every unique key stays unique; the search tables fill through their triggers.
Events are not copied (a fresh import's history is one line per contract). Run it on a
database that nothing else has open; `PRAGMA integrity_check` at the end says whether the
copy is sound. A measurement fixture: Tickler's own import remains what `bench/run.sh` times.
"""

import sqlite3
import sys


def columns(db, table):
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def copy(db, table, shifted, k):
    names = columns(db, table)
    select = ", ".join(shifted.get(name, name) for name in names)
    db.execute(
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {select} FROM {table} "
        f"WHERE {shifted.get('_original', '1')}".replace(":k", str(k))
    )


def main():
    if len(sys.argv) != 3 or not sys.argv[2].isdigit() or int(sys.argv[2]) < 2:
        sys.exit("usage: multiply_db.py DB FACTOR   (FACTOR >= 2)")
    path, factor = sys.argv[1], int(sys.argv[2])
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")
    top = {
        table: db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
        for table in ("customers", "contracts", "contract_terms", "reminders")
    }
    db.execute("BEGIN")
    for k in range(1, factor):
        shift = lambda table: f"id + :k * {top[table]}"
        copy(db, "customers", {"id": shift("customers"), "_original": f"id <= {top['customers']}"}, k)
        copy(db, "customer_emails", {
            "email": "':k-' || email",
            "customer_id": f"customer_id + :k * {top['customers']}",
            "_original": f"customer_id <= {top['customers']}",
        }, k)
        copy(db, "contracts", {
            "id": shift("contracts"),
            "customer_id": f"customer_id + :k * {top['customers']}",
            "_original": f"id <= {top['contracts']}",
        }, k)
        copy(db, "contract_terms", {
            "id": shift("contract_terms"),
            "contract_id": f"contract_id + :k * {top['contracts']}",
            "previous_term_id": f"previous_term_id + :k * {top['contract_terms']}",
            "_original": f"id <= {top['contract_terms']}",
        }, k)
        copy(db, "reminders", {
            "id": shift("reminders"),
            "contract_id": f"contract_id + :k * {top['contracts']}",
            "subject_id": f"CASE subject_type WHEN 'contract_term' "
                          f"THEN subject_id + :k * {top['contract_terms']} ELSE subject_id END",
            "message_id": "':k-' || message_id",
            "_original": f"id <= {top['reminders']} AND subject_type = 'contract_term'",
        }, k)
        print(f"copy {k} of {factor - 1} done", file=sys.stderr)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in top}
    print(" ".join(f"{t}={n}" for t, n in counts.items()))
    print("integrity:", db.execute("PRAGMA quick_check").fetchone()[0])


if __name__ == "__main__":
    main()
