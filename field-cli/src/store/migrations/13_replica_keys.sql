-- The replica's hash index as a table of its own (store/replica.rs).
-- Under migration 12 every pulled person went into a unique index of
-- `hash_key` as it arrived: random places in a tree of 24 MB at a
-- million persons, which the pull had to keep in its page cache (32 MiB)
-- or read, decrypt, encrypt and write again a page per person. Rows now
-- go to the end of `replica` with no index at all, and the pull adds
-- their keys to `replica_keys` in the order of the keys when it commits:
-- each page of it is then visited once per commit, whatever the cache
-- holds. `id` is declared so that VACUUM keeps the numbers
-- `replica_keys` points at.
PRAGMA cache_size = -32768;
CREATE TABLE replica_v13 (
    id INTEGER PRIMARY KEY,
    nik_hash BLOB NOT NULL,
    nik_masked TEXT NOT NULL,
    name_masked TEXT,
    participant INTEGER NOT NULL,
    registered_by TEXT,
    registered_at INTEGER,
    kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
    seq INTEGER NOT NULL,
    voided_at INTEGER, void_reason TEXT, last_changed_by TEXT, erased_at INTEGER
);
-- The first 60 bits of a lookup hash, and the row of the person whose
-- hash begins so (another with the same 60 bits is in
-- `replica_collisions`).
CREATE TABLE replica_keys (
    hash_key INTEGER PRIMARY KEY,
    person INTEGER NOT NULL
);
INSERT INTO replica_v13 (id, nik_hash, nik_masked, name_masked, participant, registered_by,
                         registered_at, kelurahan, rw, rt, category, status, seq, voided_at,
                         void_reason, last_changed_by, erased_at)
    SELECT rowid, nik_hash, nik_masked, name_masked, participant, registered_by,
           registered_at, kelurahan, rw, rt, category, status, seq, voided_at,
           void_reason, last_changed_by, erased_at
    FROM replica ORDER BY rowid;
INSERT INTO replica_keys (hash_key, person)
    SELECT hash_key, rowid FROM replica ORDER BY hash_key;
DROP TABLE replica;
ALTER TABLE replica_v13 RENAME TO replica;
