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

-- Wake-ups between instances. A reminder that becomes due work (inserted, rescheduled, put
-- back for a retry) notifies `tickler_due`; PostgreSQL folds identical notifications of one
-- transaction into one, so a 100,000-row import wakes each listener once, at its commit.
CREATE FUNCTION tickler_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tickler_due', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER reminders_notify_due
    AFTER INSERT OR UPDATE OF status, due_at ON reminders
    FOR EACH ROW WHEN (NEW.status = 'scheduled')
    EXECUTE FUNCTION tickler_notify_due();

-- Saved settings and holidays notify `tickler_settings`, so that every instance applies an
-- admin's change at once instead of at its next restart.
CREATE FUNCTION tickler_notify_settings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tickler_settings', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER settings_notify
    AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION tickler_notify_settings();

CREATE TRIGGER holidays_notify
    AFTER INSERT OR UPDATE OR DELETE ON holidays
    FOR EACH STATEMENT EXECUTE FUNCTION tickler_notify_settings();
