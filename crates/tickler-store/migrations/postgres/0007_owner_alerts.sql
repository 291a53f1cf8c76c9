-- Steps in `approval` or `task` mode are never sent by themselves: at their time the contract's
-- owner is alerted (an internal notice), once. `alerted_at` records that alert, so several
-- dispatchers never alert twice.
ALTER TABLE reminders ADD COLUMN alerted_at BIGINT;
