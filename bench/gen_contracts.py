#!/usr/bin/env python3
"""Writes a contracts CSV for `tickler import contracts` to standard output, one row at a time.

    gen_contracts.py ROWS --owner EMAIL [--end YYYY-MM-DD | --first-end YYYY-MM-DD] [--seed N]

- About ROWS/4 distinct customers (customer k = row % customers), so customers repeat; each
  customer always has the same name, language and time zone (rows are matched by email).
- Languages en/ja/el and time zones Asia/Tokyo, Europe/Athens, America/New_York, UTC, mixed.
- Without --end, end dates are spread over 2027-01-01 .. 2029-12-28 (all in the future relative
  to 2026-11-25), or over the same three years from --first-end (bench/run.sh moves them out
  of reach of the wall clock, so that `serve` has nothing to send while it is measured); with
  --end, every contract ends on that date (for dispatch benchmarks).
- Each term starts one year before it ends (day + 1), amounts fit the currency (JPY has no
  decimals).

Nothing is held in memory but the current row: the output streams, whatever ROWS is.
"""

import argparse
import csv
import datetime
import random
import sys

HEADER = [
    "customer_name", "customer_email", "language", "time_zone", "title",
    "start", "end", "owner_email", "amount", "currency",
]
LANGUAGES = ["en", "ja", "el"]
ZONES = ["Asia/Tokyo", "Europe/Athens", "America/New_York", "UTC"]
NAMES = {
    "en": "Customer {k} Ltd",
    "ja": "株式会社カスタマー{k}",
    "el": "Πελάτης {k} Α.Ε.",
}
TITLES = [
    "Maintenance, copier fleet",
    "Annual support: servers",
    "HVAC service contract",
    "保守契約 (複合機)",
    "Συντήρηση ανελκυστήρα",
    "Software licence \"Pro\"",
]
CURRENCIES = ["EUR", "USD", "JPY"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--end", help="one end date for every contract, YYYY-MM-DD")
    parser.add_argument("--first-end", default="2027-01-01",
                        help="the earliest end date when --end is not given, YYYY-MM-DD")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    customers = max(1, args.rows // 4)
    fixed_end = datetime.date.fromisoformat(args.end) if args.end else None
    first = datetime.date.fromisoformat(args.first_end).toordinal()
    last = first + (datetime.date(2029, 12, 28) - datetime.date(2027, 1, 1)).days

    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(HEADER)
    for i in range(args.rows):
        k = i % customers
        # Fixed per customer; k mod 12 runs through all 12 language/zone pairs.
        language = LANGUAGES[k % 3]
        zone = ZONES[k % 4]
        end = fixed_end or datetime.date.fromordinal(rng.randint(first, last))
        # One year back, plus a day: 2027-06-30 -> 2026-07-01. Feb 29 ends start on Mar 1.
        try:
            start = end.replace(year=end.year - 1) + datetime.timedelta(days=1)
        except ValueError:
            start = datetime.date(end.year - 1, 3, 1)
        currency = CURRENCIES[i % 3]
        if currency == "JPY":
            amount = str(rng.randint(10, 5000) * 1000)
        else:
            amount = f"{rng.randint(100, 50000)}.{rng.randint(0, 99):02d}"
        out.writerow([
            NAMES[language].format(k=k),
            f"customer-{k}@example.com",
            language,
            zone,
            f"{TITLES[i % len(TITLES)]} #{i}",
            start.isoformat(),
            end.isoformat(),
            args.owner,
            amount,
            currency,
        ])


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(1)
