-- The one-line confirmation ("Contract entered.") the next page of a session shows once,
-- kept with the session instead of in the URL (issue 11, item 10: a `?notice=` link could
-- make any page say anything). NULL: nothing to show.
ALTER TABLE sessions ADD COLUMN notice TEXT;
