//! `GET /api/v1/coverage` (supervisors).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use sigap_shared::AreaCode;
use sigap_shared::wire::PROTOCOL_VERSION;

use super::auth::Auth;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::{AppState, blocking};
use crate::coverage::{CoverageReport, MAX_DEPTH, build};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/coverage", get(coverage))
}

#[derive(Deserialize)]
struct CoverageQuery {
    area: Option<String>,
    year: Option<i32>,
    depth: Option<u8>,
}

async fn coverage(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CoverageQuery>,
) -> Result<Json<CoverageReport>, ApiError> {
    auth.require_supervisor()?;
    let text = q.area.ok_or_else(|| {
        ApiError::bad_request("missing_area", "give the area, e.g. ?area=33.72&year=2025")
    })?;
    let area =
        AreaCode::parse(&text).map_err(|e| ApiError::bad_request("invalid_area", e.to_string()))?;
    let year = q.year.unwrap_or_else(|| sigap_shared::today().year());
    if !(1900..=9999).contains(&year) {
        return Err(ApiError::bad_request(
            "invalid_year",
            format!("year {year} is not valid; give a year like 2025"),
        ));
    }
    let depth = q.depth.unwrap_or(0);
    if depth > MAX_DEPTH {
        return Err(ApiError::bad_request(
            "invalid_depth",
            format!("depth must be 0 to {MAX_DEPTH} (kota → kecamatan → kelurahan → RW → RT)"),
        ));
    }
    auth.require_area(&area)?;
    let store = state.store.clone();
    let data = blocking(move || store.area_data(&area, year)).await?;
    Ok(Json(CoverageReport {
        protocol: PROTOCOL_VERSION,
        root: build(&area, year, depth, &data),
    }))
}
