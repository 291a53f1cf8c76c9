-- Recurring sales and their invoices (issue 9). Dates are ISO text, instants epoch
-- milliseconds, money integer minor units: the same schema as the PostgreSQL migration.

-- A contract invoiced on a schedule: at most one schedule per contract.
CREATE TABLE billing_schedules (
    contract_id    BIGINT  NOT NULL PRIMARY KEY REFERENCES contracts (id),
    interval_count INTEGER NOT NULL CHECK (interval_count > 0),
    interval_unit  TEXT    NOT NULL CHECK (interval_unit IN ('d', 'w', 'm', 'y')),
    timing         TEXT    NOT NULL CHECK (timing IN ('in_advance', 'in_arrears')),
    cycles         INTEGER CHECK (cycles IS NULL OR cycles > 0),
    invoice_mode   TEXT    NOT NULL CHECK (invoice_mode IN ('issue', 'draft')),
    payment_days   INTEGER NOT NULL CHECK (payment_days >= 0),
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

-- The lines every invoice of the sale starts from.
CREATE TABLE billing_lines (
    contract_id          BIGINT  NOT NULL REFERENCES contracts (id),
    position             INTEGER NOT NULL,
    description          TEXT    NOT NULL,
    quantity_thousandths BIGINT  NOT NULL,
    unit_price_minor     BIGINT  NOT NULL,
    tax_rate_hundredths  INTEGER NOT NULL,
    PRIMARY KEY (contract_id, position)
);

-- Every period of a sale, planned when the sale is entered: the subject of its "about to be
-- issued" notice, and the unit of "one invoice per contract and period, ever" (the unique
-- key, and `invoice_id` set once in the transaction that creates the invoice).
CREATE TABLE billing_periods (
    id           INTEGER PRIMARY KEY,
    contract_id  BIGINT  NOT NULL REFERENCES contracts (id),
    term_id      BIGINT  NOT NULL REFERENCES contract_terms (id),
    cycle        INTEGER NOT NULL,
    period_start TEXT    NOT NULL,
    period_end   TEXT    NOT NULL,
    issue_date   TEXT    NOT NULL,
    -- When the dispatcher bills it: the issue date at the organisation's send time in the
    -- customer's zone.
    bill_at      BIGINT  NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'invoiced', 'cancelled')),
    status_reason TEXT,
    invoice_id   BIGINT,
    UNIQUE (contract_id, period_start)
);
-- Due billing is found through pending periods only, as due reminders are (migration 0006).
CREATE INDEX billing_periods_due ON billing_periods (status, bill_at) WHERE status = 'pending';
CREATE INDEX billing_periods_term ON billing_periods (term_id, cycle);

CREATE TABLE invoices (
    id              INTEGER PRIMARY KEY,
    contract_id     BIGINT  NOT NULL REFERENCES contracts (id),
    period_id       BIGINT  UNIQUE REFERENCES billing_periods (id),
    customer_id     BIGINT  NOT NULL REFERENCES customers (id),
    status          TEXT    NOT NULL CHECK (status IN ('draft', 'issued', 'paid', 'void')),
    -- Given at issue, never reused: a voided invoice keeps it. NULL for a draft (and for a
    -- draft discarded before it was ever issued).
    number          TEXT    UNIQUE,
    number_year     INTEGER,
    number_sequence BIGINT,
    period_start    TEXT    NOT NULL,
    period_end      TEXT    NOT NULL,
    issue_date      TEXT    NOT NULL,
    due_date        TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    subtotal_minor  BIGINT  NOT NULL,
    tax_minor       BIGINT  NOT NULL,
    total_minor     BIGINT  NOT NULL,
    paid_minor      BIGINT  NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
    -- Why a draft was discarded or an issued invoice voided.
    void_reason     TEXT,
    issued_at       BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    UNIQUE (number_year, number_sequence)
);
CREATE INDEX invoices_contract ON invoices (contract_id, period_start);
CREATE INDEX invoices_status_due ON invoices (status, due_date);

CREATE TABLE invoice_lines (
    invoice_id           BIGINT  NOT NULL REFERENCES invoices (id),
    position             INTEGER NOT NULL,
    description          TEXT    NOT NULL,
    quantity_thousandths BIGINT  NOT NULL,
    unit_price_minor     BIGINT  NOT NULL,
    tax_rate_hundredths  INTEGER NOT NULL,
    net_minor            BIGINT  NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

CREATE TABLE invoice_payments (
    id           INTEGER PRIMARY KEY,
    invoice_id   BIGINT  NOT NULL REFERENCES invoices (id),
    amount_minor BIGINT  NOT NULL CHECK (amount_minor > 0),
    paid_on      TEXT    NOT NULL,
    reference    TEXT,
    recorded_by  TEXT    NOT NULL,
    recorded_at  BIGINT  NOT NULL
);
CREATE INDEX invoice_payments_invoice ON invoice_payments (invoice_id, id);

-- One gapless sequence per calendar year of the issue date. The row is written in the
-- issuing transaction, so a number is used exactly when its invoice commits.
CREATE TABLE invoice_number_counters (
    year          INTEGER NOT NULL PRIMARY KEY,
    last_sequence BIGINT  NOT NULL
);

-- The anchor a step reminder counts from, for lists and the API; NULL for notices.
ALTER TABLE reminders ADD COLUMN anchor TEXT;
UPDATE reminders SET anchor = (
    SELECT ps.anchor FROM plan_steps ps JOIN contracts c ON c.plan_id = ps.plan_id
    WHERE c.id = reminders.contract_id AND ps.step_key = reminders.step_key
) WHERE kind = 'step';
UPDATE reminders SET anchor = 'end_date' WHERE kind = 'step' AND anchor IS NULL;
