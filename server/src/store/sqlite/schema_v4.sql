-- The device that made every write a person has had, while only one has
-- (NULL once a second device, the roll or a supervisor writes it). A pull
-- naming that device skips the person: the agent holds it already.
-- Persons stored before this column are sent to everybody, as before.
ALTER TABLE persons ADD COLUMN sole_device BLOB;
