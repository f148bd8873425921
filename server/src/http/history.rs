//! `GET /api/v1/coverage/history` (supervisors): an area's coverage per
//! day from the daily snapshots, and per ISO week for charts.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::coverage::Figures;
use sigap_shared::wire::{ErrorBody, PROTOCOL_VERSION};
use sigap_shared::{AreaCode, Level};
use time::Date;
use utoipa::{IntoParams, ToSchema};

use super::auth::Auth;
use super::days::{self, format_day};
use super::error::ApiError;
use super::extract::ApiQuery;
use super::{AppState, blocking};
use crate::coverage::{CategoryCounts, area_display_name};
use crate::store::HistoryRow;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/coverage/history", get(history))
}

/// Days answered when `from` is not given.
const DEFAULT_DAYS: i64 = 90;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// The area: a kota, kecamatan or kelurahan code inside the token's
    /// areas (history is not kept per RW or RT).
    #[param(required = true, value_type = AreaCode)]
    area: Option<String>,
    /// The first day, `YYYY-MM-DD` (default: 89 days before `to`). The
    /// range spans at most 3 years.
    #[param(value_type = Option<String>, format = Date, example = "2025-01-01")]
    from: Option<String>,
    /// The last day, `YYYY-MM-DD` (default today, UTC); not before `from`.
    #[param(value_type = Option<String>, format = Date, example = "2025-03-31")]
    to: Option<String>,
}

/// One day: the figures at its latest snapshot (carried from the day
/// before when it has none), and the registrations received that day.
#[derive(Debug, Serialize, ToSchema)]
struct Day {
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    date: String,
    /// False when the figures are carried over from an earlier day.
    snapshot: bool,
    baseline_set: bool,
    #[serde(flatten)]
    figures: Figures,
    by_category: CategoryCounts,
    registrations: u64,
}

/// One ISO week: its registrations and the figures of its last day.
#[derive(Debug, Serialize, ToSchema)]
struct Week {
    /// `2025-W07`.
    #[schema(pattern = r"^[0-9]{4}-W[0-9]{2}$", example = "2025-W07")]
    week: String,
    /// The week's Monday, `YYYY-MM-DD`.
    #[schema(format = Date)]
    start: String,
    /// The week's Sunday, `YYYY-MM-DD`.
    #[schema(format = Date)]
    end: String,
    registrations: u64,
    covered: u64,
    working_population: u64,
    coverage_bp: u32,
    coverage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_bp: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
struct HistoryAnswer {
    protocol: u32,
    area: AreaCode,
    /// The area's name, when the area table knows it.
    name: Option<String>,
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    /// Days from `from` to `to`; days before the area's first snapshot
    /// are left out.
    days: Vec<Day>,
    weeks: Vec<Week>,
}

/// An area's coverage per day from the daily snapshots, and per ISO week.
#[utoipa::path(
    get,
    path = "/api/v1/coverage/history",
    tag = "supervision",
    security(("bearer" = [])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "The area's days and weeks from `from` to `to`.", body = HistoryAnswer),
        (status = 400, description = "No area (`missing_area`), a bad area code (`invalid_area`), an RW or RT (`area_too_fine`), a day that is not `YYYY-MM-DD` (`invalid_date`), `to` before `from` (`invalid_range`), a range over 3 years (`range_too_long`), a query value that does not parse, or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "An agent token, or an area outside the token's areas.", body = ErrorBody),
    )
)]
async fn history(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<HistoryAnswer>, ApiError> {
    auth.require_supervisor()?;
    let area = days::area(&auth, q.area.as_deref())?;
    if matches!(area.level(), Level::Rw | Level::Rt) {
        return Err(ApiError::bad_request(
            "area_too_fine",
            format!(
                "history is kept per kelurahan and above, not per RW or RT; ask for the kelurahan, e.g. area={}",
                area.kelurahan().map(|k| k.to_string()).unwrap_or_default()
            ),
        ));
    }
    let (from, to) = days::range(
        q.from.as_deref(),
        q.to.as_deref(),
        sigap_shared::today(),
        DEFAULT_DAYS,
    )?;
    let store = state.store.clone();
    let rows = blocking(move || store.coverage_history(&area, from, to)).await?;
    let days = fill(&rows, from, to);
    Ok(Json(HistoryAnswer {
        protocol: PROTOCOL_VERSION,
        area,
        name: area_display_name(&area),
        from: format_day(from),
        to: format_day(to),
        weeks: crate::weekly::weeks(&rows, from, to)
            .into_iter()
            .map(Week::from)
            .collect(),
        days: days.into_iter().map(|(_, d)| d).collect(),
    }))
}

/// Every day from `from` to `to` once a snapshot is known (the rows may
/// start with the last snapshot before `from`, which seeds the figures).
fn fill(rows: &[HistoryRow], from: Date, to: Date) -> Vec<(Date, Day)> {
    let mut out = Vec::new();
    let mut last: Option<&HistoryRow> = None;
    let mut rows = rows.iter().peekable();
    let mut day = from;
    loop {
        let mut registrations = 0;
        let mut fresh = false;
        // Rows before `from` only seed the figures.
        while let Some(r) = rows.next_if(|r| r.day <= day) {
            if r.snapshot {
                last = Some(r);
                fresh = r.day == day;
            }
            if r.day == day {
                registrations = r.registrations;
            }
        }
        if let Some(s) = last {
            let covered = s.by_category.iter().sum();
            out.push((
                day,
                Day {
                    date: format_day(day),
                    snapshot: fresh,
                    baseline_set: s.working_population.is_some(),
                    figures: Figures::compute(covered, s.working_population.unwrap_or(0), s.target),
                    by_category: s.by_category.into(),
                    registrations,
                },
            ));
        }
        match day.next_day() {
            Some(next) if next <= to => day = next,
            _ => break,
        }
    }
    out
}

impl From<crate::weekly::Week> for Week {
    fn from(w: crate::weekly::Week) -> Week {
        Week {
            week: w.label,
            start: format_day(w.start),
            end: format_day(w.end),
            registrations: w.registrations,
            covered: w.figures.covered,
            working_population: w.figures.working_population,
            coverage_bp: w.figures.coverage_bp,
            target_bp: w.figures.target_percent.map(|p| p.basis_points()),
            coverage: w.figures.coverage,
        }
    }
}
