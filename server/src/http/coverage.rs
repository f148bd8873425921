//! `GET /api/v1/coverage` (supervisors).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sigap_shared::AreaCode;
use sigap_shared::wire::{ErrorBody, PROTOCOL_VERSION};
use utoipa::IntoParams;

use super::AppState;
use super::auth::Bearer;
use super::error::ApiError;
use super::extract::ApiQuery;
use crate::coverage::{MAX_DEPTH, counted_through, write_report};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/coverage", get(coverage))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CoverageQuery {
    /// The area: a kota, kecamatan, kelurahan, RW or RT code.
    #[param(required = true, value_type = AreaCode)]
    area: Option<String>,
    /// The year (default this year): a past year counts those covered at
    /// its end, this year everyone covered now.
    #[param(minimum = 1900, maximum = 9999)]
    year: Option<i32>,
    /// Levels of children (default 0): kota → kecamatan → kelurahan → RW → RT.
    #[param(minimum = 0, maximum = 4)]
    depth: Option<u8>,
}

/// Most bytes of answers kept.
const CACHE_BYTES: usize = 32 << 20;

/// Area, year, depth and the last start year counted
/// ([`counted_through`]): the same year asked for counts differently once
/// the calendar year turns over, without any write to the data.
type CacheKey = (AreaCode, i32, u8, i32);

/// Answers already serialised, valid while the store's data generation
/// stays the same: a dashboard asks for the same tree again and again,
/// and a kota down to RT is thousands of nodes of JSON.
#[derive(Default)]
pub struct CoverageCache {
    inner: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    generation: u64,
    bytes: usize,
    answers: HashMap<CacheKey, Bytes>,
}

impl CoverageCache {
    fn get(&self, generation: u64, key: &CacheKey) -> Option<Bytes> {
        let c = self.inner.lock().ok()?;
        (c.generation == generation)
            .then(|| c.answers.get(key).cloned())
            .flatten()
    }

    fn put(&self, generation: u64, key: CacheKey, answer: Bytes) {
        let Ok(mut c) = self.inner.lock() else {
            return;
        };
        if c.generation != generation || c.bytes + answer.len() > CACHE_BYTES {
            c.answers.clear();
            c.bytes = 0;
            c.generation = generation;
        }
        c.bytes += answer.len();
        if let Some(old) = c.answers.insert(key, answer) {
            c.bytes -= old.len();
        }
    }
}

/// Coverage (UCJ) figures of an area, by category, with children down to
/// `depth` levels.
#[utoipa::path(
    get,
    path = "/api/v1/coverage",
    tag = "supervision",
    security(("bearer" = [])),
    params(CoverageQuery),
    responses(
        (status = 200, description = "The area's figures and its children's.", body = crate::coverage::CoverageReport),
        (status = 400, description = "No area (`missing_area`), a bad area code (`invalid_area`), year (`invalid_year`) or depth (`invalid_depth`), a query value that does not parse, or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "An agent token, or an area outside the token's areas.", body = ErrorBody),
    )
)]
async fn coverage(
    State(state): State<AppState>,
    bearer: Bearer,
    query: Result<ApiQuery<CoverageQuery>, ApiError>,
) -> Result<Response, ApiError> {
    // The token, the cache and (on a miss) the answer are all store work,
    // done in one hop off the async threads: on two cores each hop was a
    // thread to wake, and a cached answer's p90 doubled with the second.
    let body = match tokio::task::spawn_blocking(move || answer(&state, &bearer, query)).await {
        Ok(r) => r?,
        Err(e) => return Err(ApiError::Internal(format!("store task failed: {e}"))),
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The answer to one coverage request, refused in the order it was when
/// the token was checked by an extractor: the token, a query that does
/// not parse, the token's role, the query's values, the token's areas.
fn answer(
    state: &AppState,
    bearer: &Bearer,
    query: Result<ApiQuery<CoverageQuery>, ApiError>,
) -> Result<Bytes, ApiError> {
    let auth = bearer.authenticate(state)?;
    let ApiQuery(q) = query?;
    auth.require_supervisor()?;
    let text = q.area.ok_or_else(|| {
        ApiError::bad_request("missing_area", "give the area, e.g. ?area=33.72&year=2025")
    })?;
    let area =
        AreaCode::parse(&text).map_err(|e| ApiError::bad_request("invalid_area", e.to_string()))?;
    let this_year = sigap_shared::today().year();
    let year = q.year.unwrap_or(this_year);
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
    let store = &state.store;
    // The day's first read takes the day's history snapshot.
    store.snapshot_coverage(false)?;
    // The generation is read before the data, so an answer is never
    // older than the generation it is kept under.
    let generation = store.data_generation()?;
    let through = counted_through(year, this_year);
    let key = (area, year, depth, through);
    if let Some(answer) = state.coverage.get(generation, &key) {
        return Ok(answer);
    }
    let data = store.area_data(&area, year, through)?;
    let answer = Bytes::from(
        write_report(PROTOCOL_VERSION, &area, year, depth, &data)
            .map_err(|e| ApiError::Internal(format!("coverage answer: {e}")))?,
    );
    state.coverage.put(generation, key, answer.clone());
    Ok(answer)
}
