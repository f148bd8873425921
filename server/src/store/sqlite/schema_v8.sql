-- Secrets of the deployment, made once when the database is created or
-- upgraded. `replica_key`: 32 random bytes keying the lookup hash of the
-- agents' replicas (`sigap_shared::nik_lookup_hash`); the migration's
-- hook fills it from the operating system's random source.
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
