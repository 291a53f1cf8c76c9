-- The renewal pipeline page (issue 16) counts the invoices issued in the last twelve months
-- by month: by issue date, with what the page needs of an invoice in the index itself.
-- (An index of terms by end date was measured and left out: at 1,000,000 contracts SQLite
-- read the terms through it and their contracts in scattered order, 1.0-1.9 s, against
-- 0.8-0.9 s reading every term in table order; docs/performance.md.)
CREATE INDEX invoices_issue_date ON invoices (issue_date, status, due_date);
