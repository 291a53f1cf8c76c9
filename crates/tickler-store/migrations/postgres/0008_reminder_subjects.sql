-- Reminders belong to a subject (a contract term today; an invoice, a quote, a task or a digest
-- soon), not to a contract: the unique key and the catch-up sequences follow the subject.
-- Every existing reminder keeps its id, its state and its edits; events point at reminders by
-- id and are unchanged.

-- A contract term gets its own id, so that it can be a reminder's subject.
ALTER TABLE contract_terms ADD COLUMN id BIGSERIAL;
ALTER TABLE contract_terms DROP CONSTRAINT contract_terms_pkey;
ALTER TABLE contract_terms ADD PRIMARY KEY (id);
ALTER TABLE contract_terms ADD CONSTRAINT contract_terms_contract_term UNIQUE (contract_id, term_number);
-- A reminder of a term that has no row of its own (none are known; this is a safety net)
-- gets one with its contract's dates, rather than being lost.
INSERT INTO contract_terms (contract_id, term_number, start_date, end_date, created_at)
SELECT DISTINCT r.contract_id, r.term_number, c.start_date, c.end_date, c.created_at
FROM reminders r JOIN contracts c ON c.id = r.contract_id
WHERE NOT EXISTS (SELECT 1 FROM contract_terms t
                  WHERE t.contract_id = r.contract_id AND t.term_number = r.term_number);

-- What the reminder is about: 'contract_term' and the term's id, ...
ALTER TABLE reminders ADD COLUMN subject_type TEXT;
ALTER TABLE reminders ADD COLUMN subject_id BIGINT;
UPDATE reminders r SET subject_type = 'contract_term', subject_id = t.id
FROM contract_terms t WHERE t.contract_id = r.contract_id AND t.term_number = r.term_number;
ALTER TABLE reminders ALTER COLUMN subject_type SET NOT NULL;
ALTER TABLE reminders ALTER COLUMN subject_id SET NOT NULL;
-- The contract the subject belongs to, if any: for lists, owners and search.
ALTER TABLE reminders ALTER COLUMN contract_id DROP NOT NULL;
ALTER TABLE reminders DROP CONSTRAINT IF EXISTS reminders_contract_id_term_number_step_key_key;
ALTER TABLE reminders DROP COLUMN term_number;
ALTER TABLE reminders ADD CONSTRAINT reminders_subject_step UNIQUE (subject_type, subject_id, step_key);
