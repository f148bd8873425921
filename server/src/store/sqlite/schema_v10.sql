-- A person's open conflict, found by NIK: every identity write to a
-- person with two sources looks it up (`open_conflict`), which scanned
-- every open conflict through `conflicts_status` (PostgreSQL has had this
-- index from its first schema, there unique).
CREATE INDEX conflicts_open_nik ON conflicts(nik) WHERE status = 'open';
