-- Recurring jobs (lease take-over, clean-up): one row per job. An instance runs a job only
-- when its conditional UPDATE of the row moves `next_run_at` on, so each run happens once
-- however many instances share the database.
CREATE TABLE recurring_jobs (
    name TEXT PRIMARY KEY,
    next_run_at BIGINT NOT NULL,
    last_started_at BIGINT,
    last_finished_at BIGINT,
    last_run_by TEXT,
    last_outcome TEXT
);
