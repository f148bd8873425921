//! Reading stored values back: what a row holds that does not parse is
//! corrupt data, not bad input.

use sigap_shared::{AreaCode, Level, PersonRecord};

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

/// `text` as a `LIKE` pattern that matches only itself.
pub(super) fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The `LIKE` pattern of what lies inside `area` in the counters,
/// baselines and targets (whose keys are areas of every level), besides
/// `area` itself: `GLOB` on SQLite.
pub(super) fn inside_pattern(area: &AreaCode) -> String {
    let code = like_literal(&area.to_string());
    match area.level() {
        Level::Province | Level::Kota | Level::Kecamatan => format!("{code}.%"),
        Level::Kelurahan | Level::Rw => format!("{code}/%"),
        Level::Rt => code,
    }
}

/// A read-only transaction that sees one state of the database, for
/// answers built from several queries.
pub(super) async fn snapshot(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn inside_patterns_match_what_lies_inside_each_level() {
        let p = |code: &str| inside_pattern(&AreaCode::parse(code).unwrap());
        assert_eq!(p("33.72.01"), "33.72.01.%");
        assert_eq!(p("33.72.01.1001"), "33.72.01.1001/%");
        assert_eq!(like_literal("a_b%c\\"), "a\\_b\\%c\\\\");
    }
}
