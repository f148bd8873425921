//! The narrow storage interface of the server. Everything the HTTP layer
//! and the admin commands need goes through [`Store`], so that a PostgreSQL
//! backend can follow the SQLite one. The merge and coverage rules stay in
//! [`crate::engine`] and [`crate::coverage`], pure functions both backends
//! reuse.

use std::collections::HashMap;

use serde::Serialize;
use sigap_shared::coverage::Target;
use sigap_shared::merge::{Field, Fields};
use sigap_shared::wire::{PullPage, PushRequest, PushResponse, Receipt};
use sigap_shared::{AreaCode, Category, Nik};
use uuid::Uuid;

mod activity;
pub mod postgres;
pub(crate) mod snapshots;
pub mod sqlite;

pub use activity::{Activity, AgentDay, DeviceSeen, HistoryRow, NewVisit};
pub use postgres::PgStore;
pub use sqlite::{BackupSummary, SqliteStore};

/// A storage failure. Bad input is never reported as one of these except
/// through [`StoreError::Invalid`] and [`StoreError::NotFound`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (its message; no backend type leaks here).
    #[error("database error: {0}")]
    Database(String),
    /// The transaction lost a race with another server's (serialisation
    /// failure, deadlock, a unique key taken meanwhile): running it again
    /// from the start is safe and is what the caller does.
    #[error("database conflict with a concurrent transaction: {0}")]
    Retry(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    NotFound(String),
    /// Input refused by a domain rule: a stable code and a message.
    #[error("{message}")]
    Invalid { code: String, message: String },
    /// The caller may not do this (another token's device, …).
    #[error("{message}")]
    Denied { code: String, message: String },
    #[error("a background task failed: {0}")]
    Task(String),
}

/// The role a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub areas: Vec<AreaCode>,
    /// Unix milliseconds.
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// Unix milliseconds from which the token is refused; `None` never
    /// expires. Always serialised (as `null` too) so that scripts see
    /// "no expiry" explicitly.
    pub expires_at: Option<i64>,
}

impl TokenInfo {
    /// Whether the token has expired at `now` (Unix milliseconds).
    pub fn expired_at(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    /// Whether this token may see `area` (admins see everything).
    pub fn covers(&self, area: &AreaCode) -> bool {
        self.role == Role::Admin || self.areas.iter().any(|a| a.contains(area))
    }
}

/// A token to store: its hash only.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub areas: Vec<AreaCode>,
    pub hash: String,
    /// Unix milliseconds; `None` never expires.
    pub expires_at: Option<i64>,
}

/// The agent on whose behalf a push is made.
#[derive(Debug, Clone)]
pub struct Pusher<'a> {
    pub token_id: i64,
    pub token_name: &'a str,
    /// Areas the token may write to; `None` means everywhere.
    pub areas: Option<&'a [AreaCode]>,
    /// How far ahead of the server's clock a change may be stamped.
    pub max_skew_millis: u64,
    /// How long a push waits for the device's earlier changes (on their
    /// way in another request) before answering `pending`.
    pub gap_wait: std::time::Duration,
}

/// The default of [`Pusher::gap_wait`]: `sigap sync` sends two pages at
/// once, and the earlier one is usually a moment behind.
pub const DEFAULT_GAP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The default of `serve --max-clock-skew`: a day.
pub const DEFAULT_MAX_CLOCK_SKEW_MILLIS: u64 = 24 * 60 * 60 * 1000;

/// One row of the device log, as `GET /sync/device/{id}/changes` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeviceChange {
    pub device_seq: u64,
    pub id: Uuid,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A working-population baseline for an area and year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Baseline {
    pub area: AreaCode,
    pub year: i32,
    pub working_population: u64,
}

/// One membership-roll row: an existing participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollRow {
    pub nik: Nik,
    pub kelurahan: AreaCode,
    pub rw: u16,
    pub rt: u16,
    pub category: Category,
}

/// What a roll import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Persons new to the server.
    pub created: u64,
    /// Persons already known (from the field or an earlier import).
    pub joined: u64,
    /// Rows that changed nothing (already imported).
    pub unchanged: u64,
}

/// Covered head counts by category, in [`Category::ALL`] order.
pub type ByCategory = [u64; 4];

/// Index of a category in [`ByCategory`].
pub fn category_index(c: Category) -> usize {
    match c {
        Category::Pu => 0,
        Category::Bpu => 1,
        Category::Jakon => 2,
        Category::Pmi => 3,
    }
}

/// Counters, baselines and targets of an area and everything inside it.
#[derive(Debug, Clone, Default)]
pub struct AreaData {
    pub counters: HashMap<AreaCode, ByCategory>,
    pub baselines: HashMap<AreaCode, u64>,
    pub targets: HashMap<AreaCode, Target>,
}

/// A stored counter that differs from a recount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterDiff {
    pub area: String,
    pub category: String,
    /// The year of the bucket: persons whose coverage started that year
    /// (0: roll participants imported without a date).
    pub since_year: i32,
    pub stored: i64,
    pub expected: i64,
}

/// The result of recounting coverage from the persons.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub persons: u64,
    pub counters: u64,
    pub differences: Vec<CounterDiff>,
}

/// One source's view of the identity fields in a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ConflictSide {
    /// Device id, or `roll` / `server`.
    pub source: String,
    /// Token name of the agent, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub fields: Fields,
}

/// An identity disagreement for a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Conflict {
    pub id: i64,
    pub nik: Nik,
    pub kelurahan: Option<AreaCode>,
    pub fields: Vec<Field>,
    pub existing: ConflictSide,
    pub incoming: ConflictSide,
    pub change_id: Uuid,
    pub status: String,
    pub opened_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Fields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One entry of a person's history: a change that touched the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub change_id: Uuid,
    pub device_id: Uuid,
    pub device_seq: u64,
    pub agent: String,
    pub kind: String,
    pub hlc: String,
    pub received_at: i64,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub fields: serde_json::Value,
}

/// A merged person as a supervisor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub nik: Nik,
    pub fields: Fields,
    pub stamps: serde_json::Value,
    pub participant: bool,
    pub covered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<u64>,
    pub seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEntry>>,
}

/// Everything the server keeps. Methods block; async callers run them in
/// `spawn_blocking`.
pub trait Store: Send + Sync + 'static {
    fn find_token(&self, hash: &str) -> Result<Option<TokenInfo>, StoreError>;
    fn create_token(&self, token: &NewToken) -> Result<TokenInfo, StoreError>;
    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;
    /// Revokes by id or name; `None` when there is no such token.
    fn revoke_token(&self, id_or_name: &str) -> Result<Option<TokenInfo>, StoreError>;

    /// Handles one push in one transaction (docs/sync-api.md).
    fn push(&self, by: &Pusher<'_>, req: &PushRequest) -> Result<PushResponse, StoreError>;
    /// Persons in `areas` (everywhere when `None`) with feed seq > cursor,
    /// but for those only `skip` (the pulling device) has written.
    fn pull(
        &self,
        areas: Option<&[AreaCode]>,
        cursor: u64,
        limit: usize,
        skip: Option<Uuid>,
    ) -> Result<PullPage, StoreError>;
    /// Binds `device` to `token_id` when no token holds it yet; refuses
    /// (`Denied`, code `device_not_yours`) when another token does.
    fn claim_device(&self, device: Uuid, token_id: i64) -> Result<(), StoreError>;
    /// An admin gives `device` to `token_id`, whoever held it.
    fn assign_device(&self, device: Uuid, token_id: i64) -> Result<(), StoreError>;
    fn device_receipt(&self, device: Uuid) -> Result<Receipt, StoreError>;
    /// The deployment's secret that keys the feed's lookup hashes (made
    /// once with the database); only enrolled devices are given it.
    fn replica_key(&self) -> Result<sigap_shared::ReplicaKey, StoreError>;
    /// The device log after `after_seq`, and whether more follow.
    fn device_changes(
        &self,
        device: Uuid,
        after_seq: u64,
        limit: usize,
    ) -> Result<(Vec<DeviceChange>, bool), StoreError>;

    fn set_baselines(&self, rows: &[Baseline]) -> Result<(), StoreError>;
    fn set_target(&self, area: &AreaCode, year: i32, target: Target) -> Result<(), StoreError>;
    /// Imports membership-roll rows that say who was a participant on
    /// `as_of`; a person keeps the earliest such date seen.
    fn import_participants_as_of(
        &self,
        rows: &[RollRow],
        as_of: time::Date,
    ) -> Result<ImportSummary, StoreError>;
    /// Imports a roll that stands for today.
    fn import_participants(&self, rows: &[RollRow]) -> Result<ImportSummary, StoreError> {
        self.import_participants_as_of(rows, sigap_shared::today())
    }
    /// Counters, baselines and targets of `area` and everything inside it
    /// for `year`. The counters are of the persons whose coverage started
    /// in or before `counted_through` (see
    /// [`crate::coverage::counted_through`]).
    fn area_data(
        &self,
        area: &AreaCode,
        year: i32,
        counted_through: i32,
    ) -> Result<AreaData, StoreError>;
    /// A number that changes whenever anything `area_data` reads changes
    /// (counters, baselines, targets), from any process: answers built
    /// from the data may be reused while it stays the same.
    fn data_generation(&self) -> Result<u64, StoreError>;
    fn verify_counters(&self) -> Result<VerifyReport, StoreError>;

    /// Bytes the server's data takes where it is kept: the SQLite file and
    /// its write-ahead log; on PostgreSQL, the tables of the server's
    /// schema with their indexes and TOAST (not other schemas sharing the
    /// database). For the `sigap_database_bytes` metric.
    fn database_bytes(&self) -> Result<u64, StoreError>;

    /// Conflicts, optionally only those with `status`, newest first.
    fn conflicts(&self, status: Option<&str>) -> Result<Vec<Conflict>, StoreError>;
    fn conflict(&self, id: i64) -> Result<Option<Conflict>, StoreError>;
    /// Applies the supervisor's chosen identity values and closes the
    /// conflict.
    fn resolve_conflict(
        &self,
        id: i64,
        fields: &Fields,
        note: Option<&str>,
        by: &str,
    ) -> Result<Conflict, StoreError>;
    /// A supervisor's write of `fields` to `nik` stamped `hlc`, as a
    /// server that receives it applies it (order tests replay
    /// resolutions with it).
    #[doc(hidden)]
    fn resolve_at(
        &self,
        nik: &Nik,
        fields: &Fields,
        hlc: sigap_shared::Hlc,
        by: &str,
    ) -> Result<(), StoreError>;
    fn person(&self, nik: &Nik, history: bool) -> Result<Option<PersonView>, StoreError>;
    /// A supervisor's move of a person to the address in `to` (kelurahan,
    /// RW, RT), written as a change with an author; the merged record.
    fn move_person(
        &self,
        nik: &Nik,
        to: &Fields,
        by: &str,
    ) -> Result<sigap_shared::PersonRecord, StoreError>;
    /// Persons whose merged record needs a supervisor's review, in
    /// `areas` (everywhere when `None`), by NIK.
    fn review(&self, areas: Option<&[AreaCode]>) -> Result<Vec<ReviewItem>, StoreError>;

    /// Unix milliseconds now, by the store's clock (a test's may differ
    /// from the wall's).
    fn now_millis(&self) -> i64 {
        i64::try_from(sigap_shared::hlc::wall_millis()).unwrap_or(i64::MAX)
    }
    /// Takes today's coverage snapshot if the day turned since the last
    /// one, or with `retake` if the data changed since (see
    /// `sqlite/history.rs`).
    fn snapshot_coverage(&self, retake: bool) -> Result<(), StoreError>;
    /// The stored days of `area` (kelurahan or above) from `from` to `to`.
    fn coverage_history(
        &self,
        area: &AreaCode,
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<HistoryRow>, StoreError>;
    /// Stores the visits of `device` (which must be the token's), once
    /// each by id; per visit, whether it was new.
    fn add_visits(
        &self,
        token_id: i64,
        agent: &str,
        device: Uuid,
        visits: &[NewVisit],
    ) -> Result<Vec<bool>, StoreError>;
    /// What agents did in `area` from `from` to `to`.
    fn activity(
        &self,
        area: &AreaCode,
        from: time::Date,
        to: time::Date,
    ) -> Result<Activity, StoreError>;
    /// An admin's erasure of a person's personal data (name, phone,
    /// occupation, employer, void reason), written as a change with an
    /// author and scrubbed from the change log, conflicts and claims;
    /// what the coverage count needs is kept.
    fn erase_person(&self, nik: &Nik, by: &str, reason: &str) -> Result<Erasure, StoreError>;
    /// Field registrations per UTC day (days since 1970-01-01) from
    /// `from_millis` on, of persons addressed in `areas` (everywhere when
    /// `None`), by each person's registration time: the dashboard's pace.
    fn registrations_per_day(
        &self,
        areas: Option<&[AreaCode]>,
        from_millis: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError>;
}

/// What an erasure overwrote besides the merged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Erasure {
    pub changes_scrubbed: usize,
    pub conflicts_scrubbed: usize,
}

/// A person whose merged record breaks a rule that needs the whole record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    pub nik: Nik,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kelurahan: Option<AreaCode>,
    /// Counted towards coverage by its merged status.
    pub covered: bool,
    pub issues: Vec<sigap_shared::Issue>,
}
