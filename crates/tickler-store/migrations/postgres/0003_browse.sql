-- The web app's lists page by keyset (after or before a row, in the list's order): every
-- sort order of the contracts and customers lists has an index ending in the id, so a deep
-- page reads no more than the first. Indexes these replace are dropped.

DROP INDEX contracts_end_date;
CREATE INDEX contracts_end_id ON contracts (end_date, id);
CREATE INDEX contracts_title_id ON contracts (title, id);
CREATE INDEX contracts_created_id ON contracts (created_at, id);
DROP INDEX contracts_customer;
CREATE INDEX contracts_customer_id ON contracts (customer_id, id);
-- "My contracts, soonest first": the owner filter with the default order.
DROP INDEX contracts_owner;
CREATE INDEX contracts_owner_end ON contracts (owner_id, end_date, id);
CREATE INDEX customers_name_id ON customers (name, id);
