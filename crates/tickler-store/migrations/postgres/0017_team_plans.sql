-- Plans made by the team: an archived plan is kept for the contracts that follow it but
-- offered for no new one; a plan's noun ("maintenance contract", "subscription") is what its
-- emails call the contract; a customer may have a plan their new contracts follow.
ALTER TABLE plans ADD COLUMN archived_at BIGINT;
ALTER TABLE plans ADD COLUMN noun TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN default_plan_id BIGINT REFERENCES plans (id);
