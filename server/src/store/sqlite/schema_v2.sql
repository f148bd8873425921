-- Persons keyed by their feed seq: a write moves the person to the end of
-- the table, so the pull feed reads the table in order and a write touches
-- one index fewer (the separate seq index is gone).
CREATE TABLE persons_v2 (
    seq INTEGER PRIMARY KEY,
    nik TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL,           -- sigap_shared::PersonRecord as JSON
    kelurahan TEXT,
    cov_area TEXT,                  -- RT code when the person counts
    category TEXT,
    participant INTEGER NOT NULL DEFAULT 0,
    registered_by TEXT,
    registered_hlc TEXT,
    registered_at INTEGER
);
INSERT INTO persons_v2 (seq, nik, record, kelurahan, cov_area, category, participant,
                        registered_by, registered_hlc, registered_at)
    SELECT seq, nik, record, kelurahan, cov_area, category, participant,
           registered_by, registered_hlc, registered_at
    FROM persons ORDER BY seq;
DROP TABLE persons;
ALTER TABLE persons_v2 RENAME TO persons;
-- Entries of a rowid table's index end with the rowid (seq), so this
-- serves "kelurahan = ? AND seq > ? ORDER BY seq".
CREATE INDEX persons_kelurahan ON persons(kelurahan);
