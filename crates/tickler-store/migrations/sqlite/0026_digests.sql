-- The morning digest: each member of the team gets one email a day listing what goes out in
-- their name, what waits for them and what is at stake, unless they turn it off or take it
-- on weekdays only. `digest_time` is a local time in the user's zone (the organisation's when
-- they have none).
ALTER TABLE users ADD COLUMN digest TEXT NOT NULL DEFAULT 'daily'
    CHECK (digest IN ('daily', 'weekdays', 'off'));
ALTER TABLE users ADD COLUMN digest_time TEXT NOT NULL DEFAULT '08:00';

-- One row per user and local day whose digest was decided: the reminder that carries it, or
-- NULL when every list was empty and nothing was sent. The key makes a digest once per user
-- per day, whichever dispatcher gets there first, and spares the dispatcher from computing
-- an empty day's digest again on every pass.
CREATE TABLE digests (
    user_id     BIGINT NOT NULL REFERENCES users (id),
    day         TEXT   NOT NULL,
    reminder_id BIGINT REFERENCES reminders (id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, day)
);

-- "Customers' answers since yesterday": without it, every digest run reads every term.
CREATE INDEX contract_terms_answered_at ON contract_terms (answered_at)
    WHERE answered_at IS NOT NULL;
