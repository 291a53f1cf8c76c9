-- Backups of the database taken by `tickler backup` or by `serve`'s daily schedule. A row
-- is written before the copy starts, so the copy carries the moment it was taken: a restore
-- reads it there to tell which reminders fell due after it.
CREATE TABLE backups (
    id          BIGSERIAL PRIMARY KEY,
    file        TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    -- In bytes, once the copy was checked.
    size        BIGINT,
    -- 'started', 'done' or 'failed'; 'restored' in a database restored from it.
    status      TEXT   NOT NULL,
    error       TEXT,
    taken_by    TEXT   NOT NULL
);
