-- The pull feed no longer carries NIKs nor names: the replica is keyed
-- by the NIK's lookup hash and holds masked persons. It is emptied and
-- the pull cursor reset, so the next `sigap sync` fills it again.
DROP TABLE replica;
CREATE TABLE replica (
    nik_hash TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    participant INTEGER NOT NULL,
    registered_by TEXT,
    registered_at INTEGER,
    name_masked TEXT,
    kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
    seq INTEGER NOT NULL
);
DELETE FROM config WHERE key IN ('pull_cursor', 'last_pull_at');
