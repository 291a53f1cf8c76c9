-- The claim query's index leads with `status`: with an equality column to count, SQLite picks
-- it without statistics (it chose the review queue's (status, mode, send_at) index before,
-- read every pending reminder and sorted them inside the write lock: 16 ms per claim at 40,000
-- pending, 300 ms at 400,000). It now reads due reminders in due order, as PostgreSQL already
-- did. Measured by crates/tickler-store/benches/claim_after_million_sends.rs.
DROP INDEX reminders_due;
CREATE INDEX reminders_due ON reminders (status, due_at) WHERE status = 'scheduled';
