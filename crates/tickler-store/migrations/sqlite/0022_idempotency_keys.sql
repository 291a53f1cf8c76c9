-- A POST to the API with an Idempotency-Key, kept with what it created, in the same
-- transaction: the same key and request again get the same resource, not a second one.
CREATE TABLE idempotency_keys (
    id              INTEGER PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    idempotency_key TEXT   NOT NULL,
    request_hash    TEXT   NOT NULL,
    resource_kind   TEXT   NOT NULL,
    resource_id     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
