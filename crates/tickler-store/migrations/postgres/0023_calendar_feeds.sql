-- Each user's calendar feed address is derived from the link secret and this number: a
-- revocation counts it up, so that the old address stops working and a new one is given.
ALTER TABLE users ADD COLUMN calendar_generation BIGINT NOT NULL DEFAULT 0;
