-- The team's web app: sessions, login throttling, organisation settings, edited templates.

ALTER TABLE users ADD COLUMN time_zone TEXT;

-- Only a hash of each session token is kept, so a copy of the database opens no session.
CREATE TABLE sessions (
    token_hash   TEXT   NOT NULL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    csrf_token   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Failed logins per account ("email:...") and per address ("ip:..."), to slow guessing down.
CREATE TABLE login_failures (
    throttle_key     TEXT   NOT NULL PRIMARY KEY,
    failures         BIGINT NOT NULL,
    first_failure_at BIGINT NOT NULL,
    last_failure_at  BIGINT NOT NULL
);

-- Organisation settings edited in the app; they take precedence over the environment's defaults.
CREATE TABLE settings (
    setting_key TEXT   NOT NULL PRIMARY KEY,
    value       TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE holidays (
    day  TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL DEFAULT ''
);

-- A template as the team rewrote it; without a row the built-in text is used.
CREATE TABLE template_overrides (
    template   TEXT   NOT NULL,
    language   TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL,
    PRIMARY KEY (template, language)
);

CREATE INDEX contracts_owner ON contracts (owner_id);
CREATE INDEX contracts_status_end ON contracts (status, end_date);
CREATE INDEX reminders_contract ON reminders (contract_id, send_at);
CREATE INDEX reminders_status_send_at ON reminders (status, send_at);
CREATE INDEX reminders_sent_at ON reminders (sent_at) WHERE sent_at IS NOT NULL;
