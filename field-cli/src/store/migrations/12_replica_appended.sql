-- The replica for pulls of a whole kota (a million persons). Keyed by
-- its lookup hash, every pulled person went to a random place of one
-- large tree: past the page cache, each insert read, decrypted,
-- re-encrypted and wrote a page. Rows now go to the end of the table in
-- the order they arrive, and a small unique index holds the first 60
-- bits of the hash (`hash_key`, 8 bytes a person instead of 64), which
-- fits in the cache. The hash is kept in full as 32 bytes, to tell apart
-- the (never yet seen) two persons whose hashes begin alike: the second
-- of them goes to `replica_collisions`, keyed by the whole hash
-- (see store/replica.rs). The rows are kept: lookups answer as before.
-- Room for the new index while the rows move (this connection only;
-- the cache grows only as far as it is used).
PRAGMA cache_size = -32768;
CREATE TABLE replica_v12 (
    hash_key INTEGER NOT NULL,
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
CREATE UNIQUE INDEX replica_by_hash_key ON replica_v12(hash_key);
CREATE TABLE replica_collisions (
    nik_hash BLOB PRIMARY KEY,
    nik_masked TEXT NOT NULL,
    name_masked TEXT,
    participant INTEGER NOT NULL,
    registered_by TEXT,
    registered_at INTEGER,
    kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
    seq INTEGER NOT NULL,
    voided_at INTEGER, void_reason TEXT, last_changed_by TEXT, erased_at INTEGER
) WITHOUT ROWID;
-- `hash_key` of the 64 hex digits: the first 15 as a number. A row whose
-- hash is not 64 hex digits could never be found: it is left behind.
CREATE TEMP VIEW replica_moved AS
    SELECT (instr('0123456789abcdef', substr(lower(nik_hash), 1, 1)) - 1) * 72057594037927936
        + (instr('0123456789abcdef', substr(lower(nik_hash), 2, 1)) - 1) * 4503599627370496
        + (instr('0123456789abcdef', substr(lower(nik_hash), 3, 1)) - 1) * 281474976710656
        + (instr('0123456789abcdef', substr(lower(nik_hash), 4, 1)) - 1) * 17592186044416
        + (instr('0123456789abcdef', substr(lower(nik_hash), 5, 1)) - 1) * 1099511627776
        + (instr('0123456789abcdef', substr(lower(nik_hash), 6, 1)) - 1) * 68719476736
        + (instr('0123456789abcdef', substr(lower(nik_hash), 7, 1)) - 1) * 4294967296
        + (instr('0123456789abcdef', substr(lower(nik_hash), 8, 1)) - 1) * 268435456
        + (instr('0123456789abcdef', substr(lower(nik_hash), 9, 1)) - 1) * 16777216
        + (instr('0123456789abcdef', substr(lower(nik_hash), 10, 1)) - 1) * 1048576
        + (instr('0123456789abcdef', substr(lower(nik_hash), 11, 1)) - 1) * 65536
        + (instr('0123456789abcdef', substr(lower(nik_hash), 12, 1)) - 1) * 4096
        + (instr('0123456789abcdef', substr(lower(nik_hash), 13, 1)) - 1) * 256
        + (instr('0123456789abcdef', substr(lower(nik_hash), 14, 1)) - 1) * 16
        + (instr('0123456789abcdef', substr(lower(nik_hash), 15, 1)) - 1)
        AS hash_key,
        unhex(nik_hash) AS hash, nik_masked, name_masked, participant, registered_by, registered_at, kelurahan, rw, rt, category, status, seq, voided_at, void_reason, last_changed_by, erased_at
    FROM replica
    WHERE length(nik_hash) = 64 AND unhex(nik_hash) IS NOT NULL;
INSERT INTO replica_v12 (hash_key, nik_hash, nik_masked, name_masked, participant, registered_by, registered_at, kelurahan, rw, rt, category, status, seq, voided_at, void_reason, last_changed_by, erased_at)
    SELECT hash_key, hash, nik_masked, name_masked, participant, registered_by, registered_at, kelurahan, rw, rt, category, status, seq, voided_at, void_reason, last_changed_by, erased_at
    FROM replica_moved WHERE true
    ON CONFLICT (hash_key) DO NOTHING;
INSERT INTO replica_collisions (nik_hash, nik_masked, name_masked, participant, registered_by, registered_at, kelurahan, rw, rt, category, status, seq, voided_at, void_reason, last_changed_by, erased_at)
    SELECT m.hash, m.nik_masked, m.name_masked, m.participant, m.registered_by, m.registered_at, m.kelurahan, m.rw, m.rt, m.category, m.status, m.seq, m.voided_at, m.void_reason, m.last_changed_by, m.erased_at
    FROM replica_moved m
    WHERE NOT EXISTS (SELECT 1 FROM replica_v12 r WHERE r.hash_key = m.hash_key AND r.nik_hash = m.hash);
DROP VIEW replica_moved;
DROP TABLE replica;
ALTER TABLE replica_v12 RENAME TO replica;
