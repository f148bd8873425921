//! The `from` and `to` days of the supervisors' range queries.

use time::macros::format_description;
use time::{Date, Duration};

use super::error::ApiError;
use crate::store::sqlite::history::MAX_HISTORY_DAYS;

const DAY: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// A `YYYY-MM-DD` day (UTC).
pub fn format_day(d: Date) -> String {
    d.format(DAY).unwrap_or_default()
}

fn parse_day(name: &str, text: &str) -> Result<Date, ApiError> {
    Date::parse(text.trim(), DAY).map_err(|_| {
        ApiError::bad_request(
            "invalid_date",
            format!("{name}={text:?} is not a date; give YYYY-MM-DD, e.g. {name}=2025-01-31"),
        )
    })
}

/// The days asked for: `to` defaults to `today`, `from` to `default_days`
/// before `to`; `to` before `from` and ranges longer than
/// [`MAX_HISTORY_DAYS`] are refused.
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
    today: Date,
    default_days: i64,
) -> Result<(Date, Date), ApiError> {
    let to = to.map(|t| parse_day("to", t)).transpose()?.unwrap_or(today);
    let from = from
        .map(|f| parse_day("from", f))
        .transpose()?
        .unwrap_or_else(|| to - Duration::days(default_days - 1));
    if to < from {
        return Err(ApiError::bad_request(
            "invalid_range",
            format!(
                "to={} is before from={}; give from first, e.g. from=2025-01-01&to=2025-03-31",
                format_day(to),
                format_day(from)
            ),
        ));
    }
    if (to - from).whole_days() >= MAX_HISTORY_DAYS {
        return Err(ApiError::bad_request(
            "range_too_long",
            format!(
                "from={} to={} spans more than {MAX_HISTORY_DAYS} days (3 years); ask for a shorter range",
                format_day(from),
                format_day(to)
            ),
        ));
    }
    Ok((from, to))
}

/// The area of a supervisors' query: given, valid, and the token's.
pub fn area(
    auth: &super::auth::Auth,
    text: Option<&str>,
) -> Result<sigap_shared::AreaCode, ApiError> {
    let text = text
        .ok_or_else(|| ApiError::bad_request("missing_area", "give the area, e.g. ?area=33.72"))?;
    let area = sigap_shared::AreaCode::parse(text)
        .map_err(|e| ApiError::bad_request("invalid_area", e.to_string()))?;
    auth.require_area(&area)?;
    Ok(area)
}

/// Unix milliseconds as RFC 3339 (UTC), for scripts.
pub fn rfc3339(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
