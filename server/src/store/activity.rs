//! What supervisors read about progress and people at work: coverage
//! history rows, agents' days, devices, and the visits agents sync.

use serde::Serialize;
use sigap_shared::AreaCode;
use sigap_shared::coverage::Target;
use time::Date;
use uuid::Uuid;

use super::ByCategory;

/// One day of an area's history as stored: the snapshot's figures (when
/// the day has one) and the registrations received that day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub day: Date,
    /// False for a day with registrations but no snapshot.
    pub snapshot: bool,
    pub by_category: ByCategory,
    pub working_population: Option<u64>,
    pub target: Option<Target>,
    pub registrations: u64,
}

impl HistoryRow {
    pub fn empty(day: Date) -> HistoryRow {
        HistoryRow {
            day,
            snapshot: false,
            by_category: [0; 4],
            working_population: None,
            target: None,
            registrations: 0,
        }
    }
}

/// What one agent (token name) did on one day, in an area.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgentDay {
    pub agent: String,
    /// `YYYY-MM-DD` (UTC).
    #[schema(format = Date)]
    pub day: String,
    pub registrations: u64,
    pub edits: u64,
    pub voids: u64,
    /// Registrations of a NIK the server already held from another source.
    pub merged: u64,
    pub rejections: u64,
    /// Distinct RTs visited (`kelurahan/RW/RT`), from synced visits.
    pub rts_visited: Vec<String>,
}

/// A device an agent syncs from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceSeen {
    pub agent: String,
    pub device_id: Uuid,
    /// Unix milliseconds of the last push, when known.
    pub last_sync_at: Option<i64>,
    /// Changes the device said it still had queued at its last push.
    pub pending: Option<u64>,
}

/// A visit to store, as the field kit sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVisit {
    pub id: Uuid,
    pub kelurahan: AreaCode,
    pub rw: u16,
    pub rt: u16,
    pub households: u32,
    pub note: Option<String>,
    pub visited_at: i64,
}

/// The activity of agents in an area over a range of days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    pub days: Vec<AgentDay>,
    pub devices: Vec<DeviceSeen>,
    /// The RTs known in each kelurahan of the area: those with persons or
    /// visits (the area table does not list RTs).
    pub known_rts: Vec<(AreaCode, u64)>,
}
