-- The replica keyed by its lookup hash alone (no rowid and no separate
-- index), and without a JSON copy of each person beside the columns:
-- a pull writes a third of the bytes it wrote.
CREATE TABLE replica_v3 (
    nik_hash TEXT PRIMARY KEY,
    nik_masked TEXT NOT NULL,
    name_masked TEXT,
    participant INTEGER NOT NULL,
    registered_by TEXT,
    registered_at INTEGER,
    kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO replica_v3 (nik_hash, nik_masked, name_masked, participant, registered_by,
       registered_at, kelurahan, rw, rt, category, status, seq)
    SELECT nik_hash, COALESCE(json_extract(state, '$.nik_masked'), ''), name_masked,
       participant, registered_by, registered_at, kelurahan, rw, rt, category, status, seq
    FROM replica;
DROP TABLE replica;
ALTER TABLE replica_v3 RENAME TO replica;
