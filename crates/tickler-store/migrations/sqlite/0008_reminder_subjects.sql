-- Reminders belong to a subject (a contract term today; an invoice, a quote, a task or a digest
-- soon), not to a contract: the unique key and the catch-up sequences follow the subject.
-- Every existing reminder keeps its id, its state and its edits; events point at reminders by
-- id and are unchanged.

-- A contract term gets its own id, so that it can be a reminder's subject.
CREATE TABLE contract_terms_with_id (
    id          INTEGER PRIMARY KEY,
    contract_id BIGINT  NOT NULL REFERENCES contracts (id),
    term_number INTEGER NOT NULL,
    start_date  TEXT    NOT NULL,
    end_date    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    UNIQUE (contract_id, term_number)
);
INSERT INTO contract_terms_with_id (contract_id, term_number, start_date, end_date, created_at)
SELECT contract_id, term_number, start_date, end_date, created_at
FROM contract_terms ORDER BY contract_id, term_number;
-- A reminder of a term that has no row of its own (none are known; this is a safety net)
-- gets one with its contract's dates, rather than being lost.
INSERT INTO contract_terms_with_id (contract_id, term_number, start_date, end_date, created_at)
SELECT DISTINCT r.contract_id, r.term_number, c.start_date, c.end_date, c.created_at
FROM reminders r JOIN contracts c ON c.id = r.contract_id
WHERE NOT EXISTS (SELECT 1 FROM contract_terms_with_id t
                  WHERE t.contract_id = r.contract_id AND t.term_number = r.term_number);
DROP TABLE contract_terms;
ALTER TABLE contract_terms_with_id RENAME TO contract_terms;

CREATE TABLE reminders_by_subject (
    id                INTEGER PRIMARY KEY,
    -- What the reminder is about: 'contract_term' and the term's id, ...
    subject_type      TEXT    NOT NULL,
    subject_id        BIGINT  NOT NULL,
    -- The contract the subject belongs to, if any: for lists, owners and search.
    contract_id       BIGINT  REFERENCES contracts (id),
    kind              TEXT    NOT NULL CHECK (kind IN ('step', 'notice')),
    step_key          TEXT    NOT NULL,
    position          INTEGER NOT NULL,
    label             TEXT    NOT NULL,
    template          TEXT    NOT NULL,
    offset_days       INTEGER NOT NULL,
    mode              TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('scheduled', 'sending', 'sent', 'failed', 'skipped', 'cancelled', 'superseded')),
    status_reason     TEXT,
    send_at           BIGINT  NOT NULL,
    send_at_edited    BIGINT  NOT NULL DEFAULT 0,
    due_at            BIGINT  NOT NULL,
    to_addrs          TEXT    NOT NULL,
    cc_addrs          TEXT    NOT NULL,
    recipients_edited BIGINT  NOT NULL DEFAULT 0,
    subject           TEXT,
    body              TEXT,
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
    alerted_at        BIGINT,
    UNIQUE (subject_type, subject_id, step_key)
);
INSERT INTO reminders_by_subject (id, subject_type, subject_id, contract_id, kind, step_key,
    position, label, template, offset_days, mode, status, status_reason, send_at, send_at_edited,
    due_at, to_addrs, cc_addrs, recipients_edited, subject, body, message_id, attempts,
    claimed_by, claimed_until, last_error, smtp_reply, sent_subject, sent_body, sent_at,
    lateness_ms, created_at, updated_at, alerted_at)
SELECT r.id, 'contract_term', t.id, r.contract_id, r.kind, r.step_key, r.position, r.label,
    r.template, r.offset_days, r.mode, r.status, r.status_reason, r.send_at, r.send_at_edited,
    r.due_at, r.to_addrs, r.cc_addrs, r.recipients_edited, r.subject, r.body, r.message_id,
    r.attempts, r.claimed_by, r.claimed_until, r.last_error, r.smtp_reply, r.sent_subject,
    r.sent_body, r.sent_at, r.lateness_ms, r.created_at, r.updated_at, r.alerted_at
FROM reminders r
JOIN contract_terms t ON t.contract_id = r.contract_id AND t.term_number = r.term_number;
DROP TABLE reminders;
ALTER TABLE reminders_by_subject RENAME TO reminders;

-- The indexes of migrations 0001 to 0006, as they were.
CREATE INDEX reminders_due ON reminders (status, due_at) WHERE status = 'scheduled';
CREATE INDEX reminders_leases ON reminders (claimed_until) WHERE status = 'sending';
CREATE INDEX reminders_send_at ON reminders (send_at);
CREATE INDEX reminders_contract ON reminders (contract_id, send_at);
CREATE INDEX reminders_status_send_at ON reminders (status, send_at);
CREATE INDEX reminders_sent_at ON reminders (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX reminders_status_mode_send_at ON reminders (status, mode, send_at);
CREATE INDEX reminders_status_updated_at ON reminders (status, updated_at);
