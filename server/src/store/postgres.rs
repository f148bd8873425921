//! The PostgreSQL store: several `sigap-server` processes on one database
//! (a province, the country). tokio-postgres through a deadpool pool; the
//! sync protocol itself is [`crate::protocol`], shared with SQLite, and
//! this module holds only SQL.
//!
//! The [`super::Store`] methods block (callers run them in
//! `spawn_blocking`), so the store drives its connections on a small
//! runtime of its own and waits for each call's answer.

use std::future::Future;
use std::sync::Mutex;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use sigap_shared::ReplicaKey;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::StoreError;
use super::sqlite::Clock;

mod history;
mod migrate;
mod pipeline;
mod read;
mod rows;
mod stripes;
mod write;

/// The most connections one server process holds.
const POOL_SIZE: usize = 16;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        let retry = e.code().is_some_and(|c| {
            *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::UNIQUE_VIOLATION
        });
        // The server's own words (the `Display` of a db error is only
        // "db error").
        let text = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        };
        if retry {
            StoreError::Retry(text)
        } else {
            StoreError::Database(text)
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Database(format!("cannot get a database connection: {other}")),
        }
    }
}

/// The PostgreSQL implementation of [`super::Store`].
pub struct PgStore {
    pool: Pool,
    /// Drives the pool's connections; `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    /// Unix milliseconds now: the wall clock, or a test's.
    clock: Clock,
    /// The schema the store lives in (`public` unless the URL names one).
    schema: String,
    /// The last coverage snapshot this process took.
    taken: Mutex<super::snapshots::Taken>,
    replica_key: ReplicaKey,
    /// Notified after every push of this process commits, for a push
    /// that waits for its device's earlier page.
    pushed: tokio::sync::Notify,
    /// The counters' stripes this process's write transactions add to.
    stripes: stripes::Stripes,
    /// Holds this server's claim on its block of stripes (see
    /// [`stripes::claim_block`]) for as long as the store is open.
    _stripe_claim: Option<tokio_postgres::Client>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // A runtime may not be dropped inside another's async context
        // (where a server's last reference can go).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Splits our own `schema=NAME` query parameter off a database URL
/// (tokio-postgres does not know it).
fn split_schema(url: &str) -> Result<(String, Option<String>), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None));
    };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("schema=") {
            Some(name) => schema = Some(name.to_string()),
            None => rest.push(pair),
        }
    }
    if let Some(name) = &schema
        && (name.is_empty()
            || name.len() > 63
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit()))
    {
        return Err(StoreError::Invalid {
            code: "invalid_database_url".into(),
            message: format!(
                "schema {name:?} in the database URL: use lower-case letters, digits and _ (not first), at most 63"
            ),
        });
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, schema))
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`, optionally with
    /// `?schema=NAME`, created when missing) and brings its schema up to
    /// date.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let (url, schema) = split_schema(url)?;
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Invalid {
            code: "invalid_database_url".into(),
            message: format!("cannot read the database URL: {e}"),
        })?;
        let schema = schema.unwrap_or_else(|| "public".to_string());
        // Notices ("already exists, skipping") are not worth a log line.
        config.options(format!(
            "-c search_path={schema} -c client_min_messages=warning"
        ));
        // An unreachable host is said within seconds, not after the OS's
        // minutes-long TCP time-out.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("sigap-server");
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sigap-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Task(format!("cannot start the database runtime: {e}")))?;
        let claim_config = config.clone();
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _enter = rt.enter();
            Pool::builder(manager)
                .max_size(POOL_SIZE)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(|e| StoreError::Task(format!("cannot make the connection pool: {e}")))?
        };
        let mut store = PgStore {
            pool,
            rt: Some(rt),
            clock: std::sync::Arc::new(super::sqlite::now_millis),
            schema,
            taken: Mutex::default(),
            replica_key: ReplicaKey::from_bytes([0; 32]),
            pushed: tokio::sync::Notify::new(),
            stripes: stripes::Stripes::new(POOL_SIZE, 0),
            _stripe_claim: None,
        };
        store.replica_key = store.block_on(migrate::to_latest(&store.pool, &store.schema))?;
        store.claim_stripes(claim_config);
        store.backfill_history()?;
        Ok(store)
    }

    /// Claims a block of counter stripes of this server's own, on a
    /// connection kept for it. Without one (the claim failed), the store
    /// adds to block 0, as a server beyond the blocks does: correct, and
    /// at worst waiting for another server's transaction on a shared row.
    fn claim_stripes(&mut self, config: tokio_postgres::Config) {
        let schema = self.schema.clone();
        let claimed = self.block_on(async move {
            let (client, conn) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::warn!(error = %e, "the connection holding the counters' stripe block closed");
                }
            });
            let block = stripes::claim_block(&client, &schema).await?;
            Ok::<_, StoreError>((client, block))
        });
        match claimed {
            Ok((client, block)) => {
                self.stripes = stripes::Stripes::new(POOL_SIZE, block);
                self._stripe_claim = Some(client);
            }
            Err(e) => tracing::warn!(
                error = %e,
                "no block of counter stripes claimed; adding to block 0"
            ),
        }
    }

    /// The same store reading the time from `clock` (tests).
    pub fn with_clock(mut self, clock: Clock) -> PgStore {
        self.clock = clock;
        self
    }

    /// Unix milliseconds now, by the store's clock.
    pub(super) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(i64::from(self.block_on(migrate::current(&self.pool))?))
    }

    /// The schema the store lives in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub(super) fn replica_key_impl(&self) -> ReplicaKey {
        self.replica_key.clone()
    }

    /// Runs `f` to completion on the store's runtime.
    ///
    /// The server calls the store from its blocking threads, which carry
    /// the server runtime's handle but run no task of it: there
    /// `block_in_place` runs its closure as it is and the store's runtime
    /// may block the thread. On a multi-threaded runtime's own thread it
    /// hands that thread's tasks to another first. Only a current-thread
    /// runtime (a test calling the store from async code) cannot lend its
    /// thread: `f` then waits on a thread of its own. That thread had been
    /// spawned for every call from inside any runtime, the server's too: a
    /// cached coverage answer, two store calls, took p50 1.3–1.5 ms by
    /// curl with it and 1.0–1.2 ms without (BENCHMARKS.md, issue 16).
    pub(super) fn block_on<F: Future + Send>(&self, f: F) -> F::Output
    where
        F::Output: Send,
    {
        let Some(rt) = self.rt.as_ref() else {
            unreachable_runtime()
        };
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Err(_) => return rt.block_on(f),
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                return tokio::task::block_in_place(|| rt.block_on(f));
            }
            Ok(_) => {}
        }
        std::thread::scope(|s| {
            match s.spawn(|| rt.block_on(f)).join() {
                Ok(out) => out,
                // The panic goes on as it would have on this thread.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// A connection from the pool.
    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Fills the coverage history's past days once (see
    /// `sqlite/history.rs`).
    fn backfill_history(&self) -> Result<(), StoreError> {
        self.backfill_history_impl()
    }
}

impl super::Store for PgStore {
    fn find_token(&self, hash: &str) -> Result<Option<super::TokenInfo>, StoreError> {
        self.find_token_impl(hash)
    }
    fn create_token(&self, token: &super::NewToken) -> Result<super::TokenInfo, StoreError> {
        self.create_token_impl(token)
    }
    fn list_tokens(&self) -> Result<Vec<super::TokenInfo>, StoreError> {
        self.list_tokens_impl()
    }
    fn revoke_token(&self, id_or_name: &str) -> Result<Option<super::TokenInfo>, StoreError> {
        self.revoke_token_impl(id_or_name)
    }
    fn push(
        &self,
        by: &super::Pusher<'_>,
        req: &sigap_shared::wire::PushRequest,
    ) -> Result<sigap_shared::wire::PushResponse, StoreError> {
        self.push_impl(by, req)
    }
    fn pull(
        &self,
        areas: Option<&[sigap_shared::AreaCode]>,
        cursor: u64,
        limit: usize,
        skip: Option<uuid::Uuid>,
    ) -> Result<sigap_shared::wire::PullPage, StoreError> {
        self.pull_impl(areas, cursor, limit, skip)
    }
    fn claim_device(&self, device: uuid::Uuid, token_id: i64) -> Result<(), StoreError> {
        self.claim_device_impl(device, token_id)
    }
    fn assign_device(&self, device: uuid::Uuid, token_id: i64) -> Result<(), StoreError> {
        self.assign_device_impl(device, token_id)
    }
    fn move_person(
        &self,
        nik: &sigap_shared::Nik,
        to: &sigap_shared::Fields,
        by: &str,
    ) -> Result<sigap_shared::PersonRecord, StoreError> {
        self.move_person_impl(nik, to, by)
    }
    fn review(
        &self,
        areas: Option<&[sigap_shared::AreaCode]>,
    ) -> Result<Vec<super::ReviewItem>, StoreError> {
        self.review_impl(areas)
    }
    fn erase_person(
        &self,
        nik: &sigap_shared::Nik,
        by: &str,
        reason: &str,
    ) -> Result<super::Erasure, StoreError> {
        self.erase_person_impl(nik, by, reason)
    }
    fn registrations_per_day(
        &self,
        areas: Option<&[sigap_shared::AreaCode]>,
        from_millis: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.registrations_per_day_impl(areas, from_millis)
    }
    fn replica_key(&self) -> Result<sigap_shared::ReplicaKey, StoreError> {
        Ok(self.replica_key_impl())
    }
    fn device_receipt(
        &self,
        device: uuid::Uuid,
    ) -> Result<sigap_shared::wire::Receipt, StoreError> {
        self.device_receipt_impl(device)
    }
    fn device_changes(
        &self,
        device: uuid::Uuid,
        after_seq: u64,
        limit: usize,
    ) -> Result<(Vec<super::DeviceChange>, bool), StoreError> {
        self.device_changes_impl(device, after_seq, limit)
    }
    fn set_baselines(&self, rows: &[super::Baseline]) -> Result<(), StoreError> {
        self.set_baselines_impl(rows)
    }
    fn set_target(
        &self,
        area: &sigap_shared::AreaCode,
        year: i32,
        target: sigap_shared::coverage::Target,
    ) -> Result<(), StoreError> {
        self.set_target_impl(area, year, target)
    }
    fn import_participants_as_of(
        &self,
        rows: &[super::RollRow],
        as_of: time::Date,
    ) -> Result<super::ImportSummary, StoreError> {
        self.import_participants_impl(rows, as_of)
    }
    fn area_data(
        &self,
        area: &sigap_shared::AreaCode,
        year: i32,
        counted_through: i32,
    ) -> Result<super::AreaData, StoreError> {
        self.area_data_impl(area, year, counted_through)
    }
    fn data_generation(&self) -> Result<u64, StoreError> {
        self.data_generation_impl()
    }
    fn verify_counters(&self) -> Result<super::VerifyReport, StoreError> {
        self.verify_counters_impl()
    }
    fn database_bytes(&self) -> Result<u64, StoreError> {
        self.database_bytes_impl()
    }
    fn conflicts(&self, status: Option<&str>) -> Result<Vec<super::Conflict>, StoreError> {
        self.conflicts_impl(status)
    }
    fn conflict(&self, id: i64) -> Result<Option<super::Conflict>, StoreError> {
        self.conflict_impl(id)
    }
    fn resolve_conflict(
        &self,
        id: i64,
        fields: &sigap_shared::Fields,
        note: Option<&str>,
        by: &str,
    ) -> Result<super::Conflict, StoreError> {
        self.resolve_conflict_impl(id, fields, note, by)
    }
    fn resolve_at(
        &self,
        nik: &sigap_shared::Nik,
        fields: &sigap_shared::Fields,
        hlc: sigap_shared::Hlc,
        by: &str,
    ) -> Result<(), StoreError> {
        self.resolve_at_impl(nik, fields, hlc, by)
    }
    fn person(
        &self,
        nik: &sigap_shared::Nik,
        history: bool,
    ) -> Result<Option<super::PersonView>, StoreError> {
        self.person_impl(nik, history)
    }
    fn now_millis(&self) -> i64 {
        self.now()
    }
    fn snapshot_coverage(&self, retake: bool) -> Result<(), StoreError> {
        self.roll_history(retake)
    }
    fn coverage_history(
        &self,
        area: &sigap_shared::AreaCode,
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<super::HistoryRow>, StoreError> {
        self.history_impl(area, from, to)
    }
    fn add_visits(
        &self,
        token_id: i64,
        agent: &str,
        device: uuid::Uuid,
        visits: &[super::NewVisit],
    ) -> Result<Vec<bool>, StoreError> {
        self.add_visits_impl(token_id, agent, device, visits)
    }
    fn activity(
        &self,
        area: &sigap_shared::AreaCode,
        from: time::Date,
        to: time::Date,
    ) -> Result<super::Activity, StoreError> {
        self.activity_impl(area, from, to)
    }
}

/// The runtime is only taken in `drop`, after which no method runs.
fn unreachable_runtime() -> ! {
    panic!("the PostgreSQL store's runtime is gone")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_schema_parameter_is_taken_off_the_url() {
        let (url, schema) = split_schema("postgres://h/db?schema=t_1&sslmode=disable").unwrap();
        assert_eq!(url, "postgres://h/db?sslmode=disable");
        assert_eq!(schema.as_deref(), Some("t_1"));
        let (url, schema) = split_schema("postgres://h/db").unwrap();
        assert_eq!((url.as_str(), schema), ("postgres://h/db", None));
        assert!(split_schema("postgres://h/db?schema=x;drop").is_err());
        assert!(split_schema("postgres://h/db?schema=1x").is_err());
    }
}
