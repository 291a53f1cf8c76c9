-- The shipped renewal plan's steps get names that read naturally ("Acknowledgement of
-- renewal: please renew X" read oddly as a subject's label). Only names nobody changed are
-- replaced, in the plan and on its scheduled emails.
UPDATE plan_steps SET label = CASE label
        WHEN 'Acknowledgement of renewal' THEN 'Renewal notice'
        WHEN 'Reminder: service expiring' THEN 'Reminder'
        WHEN 'Notice of service expiration' THEN 'Final notice'
        WHEN 'Thank you for your long use of our service' THEN 'Thank you'
        ELSE label END
    WHERE plan_id IN (SELECT id FROM plans WHERE name = 'renewal');
UPDATE reminders SET label = CASE label
        WHEN 'Acknowledgement of renewal' THEN 'Renewal notice'
        WHEN 'Reminder: service expiring' THEN 'Reminder'
        WHEN 'Notice of service expiration' THEN 'Final notice'
        WHEN 'Thank you for your long use of our service' THEN 'Thank you'
        ELSE label END
    WHERE status = 'scheduled' AND kind = 'step' AND step_key IN ('before_60', 'before_30', 'before_7', 'after_7');
