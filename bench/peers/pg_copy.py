#!/usr/bin/env python3
"""The PostgreSQL peer of `tickler import`: COPY of the same customers, contracts and reminders.

    pg_copy.py CSV DATABASE_URL

Writes the three tables' rows (peer_rows.py) as CSV files beside CSV (not timed), then times
one `psql` session that creates the tables and COPYs the three files in one transaction.
Prints `RESULT rows=N seconds=S rows_per_s=R` (N = contracts).
"""

import csv
import os
import subprocess
import sys
import time

import peer_rows


def main(csv_path, url):
    folder = os.path.dirname(os.path.abspath(csv_path))
    paths = {name: os.path.join(folder, f"copy_{name}.csv") for name in ("customers", "contracts", "reminders")}
    files = {name: open(path, "w", newline="", encoding="utf-8") for name, path in paths.items()}
    writers = {name: csv.writer(f) for name, f in files.items()}
    contracts = peer_rows.read(csv_path, writers["customers"].writerow, writers["contracts"].writerow,
                               writers["reminders"].writerow)
    for f in files.values():
        f.close()
    copies = "\n".join(f"\\copy {name} FROM '{path}' (FORMAT csv)" for name, path in paths.items())
    script = f"""\\set ON_ERROR_STOP 1
BEGIN;
{peer_rows.schema("BIGINT", "DATE", "NUMERIC")}
{copies}
COMMIT;
"""
    start = time.monotonic()
    subprocess.run(["psql", "-q", "-X", url], input=script, text=True, check=True)
    seconds = time.monotonic() - start
    print(f"RESULT rows={contracts} seconds={seconds:.3f} rows_per_s={contracts / seconds:.0f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
