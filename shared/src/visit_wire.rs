//! The wire types of `POST /api/v1/visits`: the field kit's RT visits,
//! sent after its changes, stored once each by id.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::area::AreaCode;

/// Most visits in one request.
pub const MAX_VISITS: usize = 1000;

/// One visit of an RT round, as the device recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// UUIDv7 made on the device: a visit sent twice is stored once.
    pub id: Uuid,
    pub kelurahan: AreaCode,
    pub rw: u16,
    pub rt: u16,
    pub households: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub visited_at: OffsetDateTime,
}

/// A batch of one device's visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitsRequest {
    pub protocol: u32,
    pub device_id: Uuid,
    pub visits: Vec<Visit>,
}

/// What the server did with one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum VisitOutcome {
    /// Stored now.
    Stored,
    /// Already stored (same id): nothing stored again.
    Duplicate,
    /// Refused for good; `code` is stable, `reason` says how to fix it.
    Rejected { code: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitResult {
    pub id: Uuid,
    #[serde(flatten)]
    pub outcome: VisitOutcome,
}

/// The answer of `POST /api/v1/visits`, one result per visit in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitsResponse {
    pub protocol: u32,
    pub results: Vec<VisitResult>,
}
