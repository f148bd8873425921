//! Reading stored values back: what a row holds that does not parse is
//! corrupt data, not bad input.

use sigap_shared::{AreaCode, PersonRecord};

use crate::store::StoreError;

pub(super) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(super) fn parse_area(text: &str) -> Result<AreaCode, StoreError> {
    AreaCode::parse(text).map_err(corrupt)
}

pub(super) fn parse_record(text: &str) -> Result<PersonRecord, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("person record: {e}")))
}

/// A stored count or time (never negative when the store wrote it).
pub(super) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
