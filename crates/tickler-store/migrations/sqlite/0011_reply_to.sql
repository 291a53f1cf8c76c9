-- Where the customer's replies to a step's email go (issue 10, "replies reach a person"):
-- a team mailbox instead of the contract's owner. NULL: the owner.
ALTER TABLE plan_steps ADD COLUMN reply_to TEXT;
