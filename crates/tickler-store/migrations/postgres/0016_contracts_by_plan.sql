-- The plan page counts the active contracts that follow a plan: without this index it read
-- every active contract's row (2 to 3 s for the plans page at 100,000 contracts).
CREATE INDEX contracts_plan_status ON contracts (plan_id, status);
