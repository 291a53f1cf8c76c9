#!/usr/bin/env python3
"""Writes a contracts CSV for `tickler import contracts` to standard output, one row at a time.

    gen_contracts.py ROWS --owner EMAIL [--end YYYY-MM-DD | --first-end YYYY-MM-DD] [--seed N]
    gen_contracts.py ROWS --owner EMAIL --recurring monthly [--start YYYY-MM-DD]

- About ROWS/4 distinct customers (customer k = row % customers), so customers repeat; each
  customer always has the same name, language and time zone (rows are matched by email).
- Languages en/ja/el and time zones Asia/Tokyo, Europe/Athens, America/New_York, UTC, mixed.
- Without --end, end dates are spread over 2027-01-01 .. 2029-12-28 (all in the future relative
  to 2026-11-25), or over the same three years from --first-end (bench/run.sh moves them out
  of reach of the wall clock, so that `serve` has nothing to send while it is measured); with
  --end, every contract ends on that date (for dispatch benchmarks).
- Each term starts one year before it ends (day + 1), amounts fit the currency (JPY has no
  decimals).
- With --recurring monthly, every row is a recurring sale (the import's billing columns) billed
  monthly in advance and issued at once, with one invoice line or two, every one starting on
  --start (default 2027-01-01) for a year: all first invoices fall due on that day, at the
  billing time (09:00) in the customer's zone, so by 15:00Z of that day in every zone used
  here (America/New_York is the latest, at 14:00Z), and the second ones a month later.

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
RECURRING = {"monthly": "1m"}
BILLING_HEADER = ["bill_every", "lines"]


def invoice_lines(i, currency):
    """One or two `DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT` lines, in the currency's decimals."""
    price, hourly = ("12000", "5000") if currency == "JPY" else ("100.00", "40.00")
    lines = [f"Monthly support|1|{price}|24"]
    if i % 2:
        lines.append(f"On-site hours|2.5|{hourly}|24")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--end", help="one end date for every contract, YYYY-MM-DD")
    parser.add_argument("--first-end", default="2027-01-01",
                        help="the earliest end date when --end is not given, YYYY-MM-DD")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--recurring", choices=sorted(RECURRING),
                        help="make every row a recurring sale billed at this interval")
    parser.add_argument("--start", default="2027-01-01",
                        help="with --recurring, the start date of every sale, YYYY-MM-DD")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    customers = max(1, args.rows // 4)
    fixed_end = datetime.date.fromisoformat(args.end) if args.end else None
    recurring_start = datetime.date.fromisoformat(args.start) if args.recurring else None
    if recurring_start:
        # A year's term: the day before the same date next year (Feb 29 ends on Feb 28).
        try:
            fixed_end = recurring_start.replace(year=recurring_start.year + 1)
        except ValueError:
            fixed_end = datetime.date(recurring_start.year + 1, 3, 1)
        fixed_end -= datetime.timedelta(days=1)
    first = datetime.date.fromisoformat(args.first_end).toordinal()
    last = first + (datetime.date(2029, 12, 28) - datetime.date(2027, 1, 1)).days

    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(HEADER + (BILLING_HEADER if args.recurring else []))
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
        billing = [RECURRING[args.recurring], invoice_lines(i, currency)] if args.recurring else []
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
        ] + billing)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(1)
