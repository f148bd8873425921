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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Visit {
    /// UUIDv7 made on the device: a visit sent twice is stored once.
    pub id: Uuid,
    /// The kelurahan visited: a kelurahan code inside the token's areas
    /// (otherwise the visit is rejected, `invalid_area` or
    /// `area_not_allowed`).
    pub kelurahan: AreaCode,
    /// RW number, 1 to 999 (otherwise the visit is rejected, `invalid_area`).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 999))]
    pub rw: u16,
    /// RT number, 1 to 999 (otherwise the visit is rejected, `invalid_area`).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 999))]
    pub rt: u16,
    /// Households visited: at least 1 (otherwise the visit is rejected,
    /// `invalid_households`).
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub households: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the visit was made (RFC 3339); not ahead of the server's clock
    /// by more than the allowed skew (otherwise rejected, `clock_ahead`).
    #[serde(with = "time::serde::rfc3339")]
    pub visited_at: OffsetDateTime,
}

/// A batch of one device's visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitsRequest {
    pub protocol: u32,
    pub device_id: Uuid,
    /// At most 1000 (`MAX_VISITS`); more are refused with 422.
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub visits: Vec<Visit>,
}

/// What the server did with one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitResult {
    pub id: Uuid,
    #[serde(flatten)]
    pub outcome: VisitOutcome,
}

/// The answer of `POST /api/v1/visits`, one result per visit in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitsResponse {
    pub protocol: u32,
    pub results: Vec<VisitResult>,
}
