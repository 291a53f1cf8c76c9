-- Instants are UTC epoch milliseconds, civil dates ISO text, money integer minor units:
-- the same schema as the PostgreSQL migration.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'sales', 'viewer')),
    password_hash TEXT,
    active        BIGINT  NOT NULL DEFAULT 1,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    name       TEXT   NOT NULL,
    language   TEXT   NOT NULL,
    time_zone  TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per address, so that imports can match a customer by any of its addresses.
CREATE TABLE customer_emails (
    email       TEXT    NOT NULL PRIMARY KEY,
    customer_id BIGINT  NOT NULL REFERENCES customers (id),
    position    INTEGER NOT NULL
);
CREATE INDEX customer_emails_customer ON customer_emails (customer_id, position);

CREATE TABLE plans (
    id          INTEGER PRIMARY KEY,
    name        TEXT   NOT NULL UNIQUE,
    description TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE plan_steps (
    plan_id     BIGINT  NOT NULL REFERENCES plans (id),
    position    INTEGER NOT NULL,
    step_key    TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    anchor      TEXT    NOT NULL,
    offset_days INTEGER NOT NULL,
    offset_unit TEXT    NOT NULL,
    send_time   TEXT    NOT NULL,
    to_customer BIGINT  NOT NULL,
    to_owner    BIGINT  NOT NULL,
    to_team     BIGINT  NOT NULL,
    cc_owner    BIGINT  NOT NULL,
    mode        TEXT    NOT NULL,
    template    TEXT    NOT NULL,
    PRIMARY KEY (plan_id, position),
    UNIQUE (plan_id, step_key)
);

CREATE TABLE contracts (
    id            INTEGER PRIMARY KEY,
    customer_id   BIGINT  NOT NULL REFERENCES customers (id),
    title         TEXT    NOT NULL,
    owner_id      BIGINT  REFERENCES users (id),
    plan_id       BIGINT  NOT NULL REFERENCES plans (id),
    status        TEXT    NOT NULL CHECK (status IN ('active', 'terminated')),
    term_number   INTEGER NOT NULL,
    start_date    TEXT    NOT NULL,
    end_date      TEXT    NOT NULL,
    amount_minor  BIGINT,
    currency      TEXT,
    custom_fields TEXT    NOT NULL DEFAULT '{}',
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX contracts_customer ON contracts (customer_id);
CREATE INDEX contracts_end_date ON contracts (end_date);

-- Every term a contract has had; the contract row carries the current one.
CREATE TABLE contract_terms (
    contract_id BIGINT  NOT NULL REFERENCES contracts (id),
    term_number INTEGER NOT NULL,
    start_date  TEXT    NOT NULL,
    end_date    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (contract_id, term_number)
);

CREATE TABLE reminders (
    id                INTEGER PRIMARY KEY,
    contract_id       BIGINT  NOT NULL REFERENCES contracts (id),
    term_number       INTEGER NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('step', 'notice')),
    step_key          TEXT    NOT NULL,
    position          INTEGER NOT NULL,
    label             TEXT    NOT NULL,
    template          TEXT    NOT NULL,
    offset_days       INTEGER NOT NULL,
    mode              TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('scheduled', 'sending', 'sent', 'failed', 'skipped', 'cancelled', 'superseded')),
    status_reason     TEXT,
    -- When the reminder is meant to go out (computed from the plan, or set by a person).
    send_at           BIGINT  NOT NULL,
    send_at_edited    BIGINT  NOT NULL DEFAULT 0,
    -- When the dispatcher may next claim it: send_at, or the next retry after a transient failure.
    due_at            BIGINT  NOT NULL,
    to_addrs          TEXT    NOT NULL,
    cc_addrs          TEXT    NOT NULL,
    recipients_edited BIGINT  NOT NULL DEFAULT 0,
    -- A person's wording; NULL means "render the template at send time".
    subject           TEXT,
    body              TEXT,
    -- Fixed at creation, so that the one unavoidable re-send carries the same id.
    message_id        TEXT    NOT NULL UNIQUE,
    attempts          INTEGER NOT NULL DEFAULT 0,
    claimed_by        TEXT,
    claimed_until     BIGINT,
    last_error        TEXT,
    smtp_reply        TEXT,
    sent_subject      TEXT,
    sent_body         TEXT,
    sent_at           BIGINT,
    lateness_ms       BIGINT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    UNIQUE (contract_id, term_number, step_key)
);
-- Only pending reminders are in these indexes, so finished ones never slow the claim down.
CREATE INDEX reminders_due ON reminders (due_at) WHERE status = 'scheduled';
CREATE INDEX reminders_leases ON reminders (claimed_until) WHERE status = 'sending';
CREATE INDEX reminders_send_at ON reminders (send_at);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor        TEXT   NOT NULL,
    subject_type TEXT   NOT NULL,
    subject_id   BIGINT NOT NULL,
    action       TEXT   NOT NULL,
    detail       TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX events_subject ON events (subject_type, subject_id, id);
