-- Searching lists without reading every row (issue 11, item 11): a LIKE '%text%' cannot use
-- a B-tree index, so the searched columns get trigram indexes (pg_trgm, a trusted
-- extension: a database owner may create it), which ILIKE '%text%' of three or more
-- characters reads directly.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contracts_title_trgm ON contracts USING gin (title gin_trgm_ops);
CREATE INDEX customers_name_trgm ON customers USING gin (name gin_trgm_ops);
CREATE INDEX customer_emails_email_trgm ON customer_emails USING gin (email gin_trgm_ops);
