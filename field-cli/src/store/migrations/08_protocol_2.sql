-- Protocol 2. A change answered `superseded` keeps which of its fields
-- the server holds differently and who wrote them, for `sigap show`.
-- Changes refused without being held stay pending with the code; an
-- index of them alone lets every sync ask for them without reading
-- every pending change.
-- The replica keeps how a person was voided (a voided person is no
-- longer covered) and who wrote the person last. Rows pulled before
-- lack those, so the pull cursor starts again: the next `sigap sync`
-- pulls the areas afresh and overwrites every row once.
ALTER TABLE changes ADD COLUMN held_differently TEXT;
CREATE INDEX changes_refused ON changes(device_seq)
    WHERE state = 'pending' AND reject_code IS NOT NULL;
ALTER TABLE replica ADD COLUMN voided_at INTEGER;
ALTER TABLE replica ADD COLUMN void_reason TEXT;
ALTER TABLE replica ADD COLUMN last_changed_by TEXT;
DELETE FROM config WHERE key = 'pull_cursor';
