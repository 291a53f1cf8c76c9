-- The renewal pipeline page (issue 16) reads the terms ending in the next twelve months and
-- the invoices issued in the last twelve: by end date and by issue date, with what the page
-- needs of a term in the index itself, rather than every term's and every invoice's row.
CREATE INDEX contract_terms_end ON contract_terms (end_date, contract_id, term_number, answer);
CREATE INDEX invoices_issue_date ON invoices (issue_date, status, due_date);
