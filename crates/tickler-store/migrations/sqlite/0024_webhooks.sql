-- Webhooks: receivers registered by admins, the events they subscribe to, and a durable
-- outbox. A change writes its webhook events and one delivery per subscribed receiver in
-- its own transaction, so that nothing is announced that did not happen and nothing that
-- happened is left unannounced; the dispatcher then posts them.
CREATE TABLE webhook_endpoints (
    id          INTEGER PRIMARY KEY,
    url         TEXT   NOT NULL,
    -- Kept as given: signing needs the secret itself. Shown once, when the endpoint is made.
    secret      TEXT   NOT NULL,
    -- Comma-separated event names, canonical order.
    events      TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    removed_at  BIGINT
);

CREATE TABLE webhook_events (
    id           INTEGER PRIMARY KEY,
    event_type   TEXT   NOT NULL,
    subject_type TEXT   NOT NULL,
    subject_id   BIGINT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    -- The event's `data` object, JSON, as it was when the change happened.
    data         TEXT   NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    event_id        BIGINT NOT NULL REFERENCES webhook_events (id),
    endpoint_id     BIGINT NOT NULL REFERENCES webhook_endpoints (id),
    -- The event's subject again: deliveries of one subject to one endpoint go in order.
    subject_type    TEXT   NOT NULL,
    subject_id      BIGINT NOT NULL,
    -- pending, delivered, failed (gave up after the retry period, or the endpoint removed)
    status          TEXT   NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    give_up_at      BIGINT NOT NULL,
    claimed_by      TEXT,
    claimed_until   BIGINT,
    last_attempt_at BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT,
    created_at      BIGINT NOT NULL
);
-- Due deliveries, found without walking the finished ones.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
    WHERE status = 'pending';
-- An earlier pending delivery of the same subject holds the later ones back.
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, subject_type, subject_id, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- Every attempt, for the delivery log: what the receiver answered, or why nothing came.
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id),
    at          BIGINT NOT NULL,
    status      BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Events that no change causes but the calendar does (a contract's end date passing without
-- renewal, an invoice's due date passing unpaid): each announced once per object and date.
CREATE TABLE webhook_milestones (
    event_type TEXT   NOT NULL,
    subject_id BIGINT NOT NULL,
    on_date    TEXT   NOT NULL,
    PRIMARY KEY (event_type, subject_id, on_date)
);
