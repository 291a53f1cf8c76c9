-- Searching lists without reading every row (issue 11, item 11): a LIKE '%text%' cannot use
-- a B-tree index, so the contracts and customers lists' searches read trigram indexes
-- instead: SQLite's FTS5 with its trigram tokenizer, where a quoted phrase of three or more
-- characters matches any text containing it, case-insensitively. One row per contract
-- (its title) and per customer (their name and every address), under the same id, kept
-- in step by triggers.
CREATE VIRTUAL TABLE contracts_search USING fts5(title, tokenize = 'trigram');
CREATE VIRTUAL TABLE customers_search USING fts5(name, emails, tokenize = 'trigram');

INSERT INTO contracts_search (rowid, title) SELECT id, title FROM contracts;
INSERT INTO customers_search (rowid, name, emails)
    SELECT id, name, COALESCE((SELECT group_concat(email, ' ') FROM customer_emails e
                               WHERE e.customer_id = customers.id), '')
    FROM customers;

CREATE TRIGGER contracts_search_insert AFTER INSERT ON contracts BEGIN
    INSERT INTO contracts_search (rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER contracts_search_update AFTER UPDATE OF title ON contracts BEGIN
    UPDATE contracts_search SET title = new.title WHERE rowid = new.id;
END;
CREATE TRIGGER contracts_search_delete AFTER DELETE ON contracts BEGIN
    DELETE FROM contracts_search WHERE rowid = old.id;
END;

CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_search (rowid, name, emails) VALUES (new.id, new.name, '');
END;
CREATE TRIGGER customers_search_update AFTER UPDATE OF name ON customers BEGIN
    UPDATE customers_search SET name = new.name WHERE rowid = new.id;
END;
CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN
    DELETE FROM customers_search WHERE rowid = old.id;
END;

CREATE TRIGGER customer_emails_search_insert AFTER INSERT ON customer_emails BEGIN
    UPDATE customers_search SET emails = COALESCE((SELECT group_concat(email, ' ')
        FROM customer_emails WHERE customer_id = new.customer_id), '')
    WHERE rowid = new.customer_id;
END;
CREATE TRIGGER customer_emails_search_delete AFTER DELETE ON customer_emails BEGIN
    UPDATE customers_search SET emails = COALESCE((SELECT group_concat(email, ' ')
        FROM customer_emails WHERE customer_id = old.customer_id), '')
    WHERE rowid = old.customer_id;
END;
CREATE TRIGGER customer_emails_search_update AFTER UPDATE ON customer_emails BEGIN
    UPDATE customers_search SET emails = COALESCE((SELECT group_concat(email, ' ')
        FROM customer_emails WHERE customer_id = old.customer_id), '')
    WHERE rowid = old.customer_id;
    UPDATE customers_search SET emails = COALESCE((SELECT group_concat(email, ' ')
        FROM customer_emails WHERE customer_id = new.customer_id), '')
    WHERE rowid = new.customer_id;
END;
