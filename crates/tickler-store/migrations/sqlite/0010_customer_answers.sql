-- The customer's answers (issue 10): how a contract renews, what the customer answered about
-- each term, renewal quotes and follow-up tasks. Dates are ISO text, instants epoch
-- milliseconds, money integer minor units: the same schema on SQLite and PostgreSQL.

-- What happens at the end of a term: 'expires' (today's behaviour), 'auto' (the next term
-- starts by itself unless declined by the notice date, notice_days before the end) or
-- 'evergreen' (no end: terms roll on silently, a year at a time, for invoicing).
ALTER TABLE contracts ADD COLUMN renewal_type TEXT NOT NULL DEFAULT 'expires'
    CHECK (renewal_type IN ('expires', 'auto', 'evergreen'));
ALTER TABLE contracts ADD COLUMN notice_days INTEGER CHECK (notice_days IS NULL OR notice_days >= 0);
-- The customer's latest answer about renewing (of the current term, or of the term whose
-- renewal started it): NULL, 'renew', 'decline' or 'quote'.
ALTER TABLE contracts ADD COLUMN answer TEXT CHECK (answer IS NULL OR answer IN ('renew', 'decline', 'quote'));

-- Each term's own answer: renew and decline are taken once; a quote request may precede them.
ALTER TABLE contract_terms ADD COLUMN answer TEXT CHECK (answer IS NULL OR answer IN ('renew', 'decline', 'quote'));
ALTER TABLE contract_terms ADD COLUMN answered_at BIGINT;
ALTER TABLE contract_terms ADD COLUMN answered_by TEXT;
ALTER TABLE contract_terms ADD COLUMN answer_note TEXT;
-- Where a term came from: the term it renews, and the accepted quote that started it.
ALTER TABLE contract_terms ADD COLUMN previous_term_id BIGINT REFERENCES contract_terms (id);
ALTER TABLE contract_terms ADD COLUMN quote_id BIGINT;

-- A renewal quote: the next term of a contract as the team offers it.
CREATE TABLE quotes (
    id             INTEGER PRIMARY KEY,
    contract_id    BIGINT  NOT NULL REFERENCES contracts (id),
    -- The term the quote would renew; acceptance starts the term after it.
    term_id        BIGINT  NOT NULL REFERENCES contract_terms (id),
    status         TEXT    NOT NULL CHECK (status IN ('draft', 'sent', 'accepted', 'declined', 'expired')),
    -- The next term offered.
    start_date     TEXT    NOT NULL,
    end_date       TEXT    NOT NULL,
    valid_until    TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    subtotal_minor BIGINT  NOT NULL,
    tax_minor      BIGINT  NOT NULL,
    total_minor    BIGINT  NOT NULL,
    -- The billing schedule of the next term; NULL interval for a contract that is not a
    -- recurring sale (the quote's total becomes the term's amount).
    interval_count INTEGER CHECK (interval_count IS NULL OR interval_count > 0),
    interval_unit  TEXT    CHECK (interval_unit IS NULL OR interval_unit IN ('d', 'w', 'm', 'y')),
    timing         TEXT    CHECK (timing IS NULL OR timing IN ('in_advance', 'in_arrears')),
    invoice_mode   TEXT    CHECK (invoice_mode IS NULL OR invoice_mode IN ('issue', 'draft')),
    payment_days   INTEGER CHECK (payment_days IS NULL OR payment_days >= 0),
    sent_at        BIGINT,
    decided_on     TEXT,
    decided_by     TEXT,
    decline_reason TEXT,
    -- The term its acceptance started; set once, in the accepting transaction.
    next_term_id   BIGINT  UNIQUE REFERENCES contract_terms (id),
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX quotes_contract ON quotes (contract_id, id);
-- Sent quotes are found by validity to expire them.
CREATE INDEX quotes_sent_valid ON quotes (status, valid_until) WHERE status = 'sent';

CREATE TABLE quote_lines (
    quote_id             BIGINT  NOT NULL REFERENCES quotes (id),
    position             INTEGER NOT NULL,
    description          TEXT    NOT NULL,
    quantity_thousandths BIGINT  NOT NULL,
    unit_price_minor     BIGINT  NOT NULL,
    tax_rate_hundredths  INTEGER NOT NULL,
    net_minor            BIGINT  NOT NULL,
    PRIMARY KEY (quote_id, position)
);

-- A to-do for a person: call the customer, prepare a quote, chase an unpaid invoice.
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    contract_id   BIGINT  REFERENCES contracts (id),
    -- What it is about, as reminders name their subjects ('contract_term', 'invoice', ...).
    subject_type  TEXT    NOT NULL,
    subject_id    BIGINT  NOT NULL,
    -- What made it, e.g. 'reminder:42' or 'answer:quote:7': a task is made once per source.
    source        TEXT    NOT NULL UNIQUE,
    title         TEXT    NOT NULL,
    owner_id      BIGINT  REFERENCES users (id),
    due_date      TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
    -- The note of the person who did it, or why it was cancelled.
    note          TEXT,
    closed_at     BIGINT,
    closed_by     TEXT,
    escalated_at  BIGINT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX tasks_open_due ON tasks (status, due_date) WHERE status = 'open';
CREATE INDEX tasks_owner ON tasks (owner_id, status, due_date);
CREATE INDEX tasks_subject ON tasks (subject_type, subject_id);
CREATE INDEX tasks_contract ON tasks (contract_id, id);

-- Auto-renewing and evergreen contracts are found by their end date to start the next term.
CREATE INDEX contracts_rolling_end ON contracts (end_date) WHERE status = 'active' AND renewal_type <> 'expires';
