-- The dashboard's and review queue's lists: pending reminders of one mode in send order, and
-- finished ones newest first, each read from an index instead of a scan.
CREATE INDEX reminders_status_mode_send_at ON reminders (status, mode, send_at);
CREATE INDEX reminders_status_updated_at ON reminders (status, updated_at);
