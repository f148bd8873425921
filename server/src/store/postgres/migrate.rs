//! The PostgreSQL schema's versions, in files, applied in order once each.
//! Several servers may start at once on one database: an advisory lock
//! lets one migrate while the others wait, then find nothing to do.

use deadpool_postgres::Pool;
use sigap_shared::ReplicaKey;

use crate::store::StoreError;

/// The schema's versions, oldest first: (version, SQL).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_schema.sql")),
    (2, include_str!("migrations/0002_counter_stripes.sql")),
    (3, include_str!("migrations/0003_counters_fillfactor.sql")),
    (4, include_str!("migrations/0004_stamps_as_masks.sql")),
];

/// The advisory lock key of migrations ("sigap" in ASCII).
const MIGRATION_LOCK: i64 = 0x73_69_67_61_70;

/// The newest schema version this build knows.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Creates `schema` if needed, applies the migrations it lacks, makes the
/// deployment's replica key once, and returns the key.
pub async fn to_latest(pool: &Pool, schema: &str) -> Result<ReplicaKey, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    // The name was checked when the URL was read (letters, digits, _).
    tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at BIGINT NOT NULL
         )",
    )
    .await?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    if current > latest() {
        return Err(StoreError::Migration(format!(
            "the database is at schema version {current}, newer than this sigap-server knows ({}); run a newer sigap-server",
            latest()
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::Migration(format!("version {version}: {e:?}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[version, &super::super::sqlite::now_millis()],
        )
        .await?;
        tracing::info!(version, "database schema migrated");
    }
    let mut fresh = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut fresh);
    tx.execute(
        "INSERT INTO secrets (name, value) VALUES ('replica_key', $1) ON CONFLICT DO NOTHING",
        &[&fresh.as_slice()],
    )
    .await?;
    let key: Vec<u8> = tx
        .query_one("SELECT value FROM secrets WHERE name = 'replica_key'", &[])
        .await?
        .get(0);
    tx.commit().await?;
    let key: [u8; 32] = key.try_into().map_err(|_| {
        StoreError::Corrupt("the replica key in the secrets table is not 32 bytes".into())
    })?;
    Ok(ReplicaKey::from_bytes(key))
}

/// The schema version the database is at (for `sigap-server migrate`).
pub async fn current(pool: &Pool) -> Result<i32, StoreError> {
    let client = pool.get().await?;
    Ok(client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0))
}
