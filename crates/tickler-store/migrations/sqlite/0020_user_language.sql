-- Each member of the team's own language: the dates in what the web app tells them ("1 February
-- 2027", "2027年2月1日") and, later, their morning digest.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
