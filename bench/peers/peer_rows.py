"""What the bare peers of `tickler import` write for a contracts CSV, and the tables for it.

Customers (one per distinct email), contracts, and four reminders per contract at the default
plan's steps, 09:00 UTC (the peers do no time zones, no templates, no events: the floor).
"""

import csv
import datetime

# The default plan's steps: days from the end date.
STEPS = [("-60", -60), ("-30", -30), ("-7", -7), ("+7", 7)]


def schema(id_type, date_type, amount_type):
    """CREATE statements for the three tables, in the given column types of the database."""
    return f"""
CREATE TABLE customers (id {id_type} PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
    language TEXT NOT NULL, time_zone TEXT NOT NULL);
CREATE TABLE contracts (id {id_type} PRIMARY KEY, customer_id {id_type} NOT NULL REFERENCES customers (id),
    title TEXT NOT NULL, start_date {date_type} NOT NULL, end_date {date_type} NOT NULL,
    owner_email TEXT NOT NULL, amount {amount_type} NOT NULL, currency TEXT NOT NULL);
CREATE TABLE reminders (id {id_type} PRIMARY KEY, contract_id {id_type} NOT NULL REFERENCES contracts (id),
    step_key TEXT NOT NULL, status TEXT NOT NULL, due_at BIGINT NOT NULL, to_addrs TEXT NOT NULL);
CREATE INDEX reminders_due ON reminders (status, due_at) WHERE status = 'scheduled';
"""


def read(csv_path, customer, contract, reminder):
    """Calls customer(row), contract(row) and reminder(row) with each table's rows as tuples,
    ids numbered from 1; returns the number of contracts."""
    customers = {}
    contracts = 0
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            email = row["customer_email"]
            if email not in customers:
                customers[email] = len(customers) + 1
                customer((customers[email], row["customer_name"], email, row["language"], row["time_zone"]))
            contracts += 1
            contract((contracts, customers[email], row["title"], row["start"], row["end"],
                      row["owner_email"], row["amount"], row["currency"]))
            end = datetime.datetime.fromisoformat(row["end"] + "T09:00:00+00:00")
            for position, (key, days) in enumerate(STEPS):
                due_ms = int((end + datetime.timedelta(days=days)).timestamp() * 1000)
                reminder(((contracts - 1) * len(STEPS) + position + 1, contracts,
                          key, "scheduled", due_ms, f'["{email}"]'))
    return contracts
