//! `GET /api/v1/review` (supervisors): what needs a supervisor's decision
//! in the token's areas: persons whose merged record breaks a rule that
//! needs the whole record, and the open identity conflicts.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::AreaCode;
use sigap_shared::wire::PROTOCOL_VERSION;

use super::auth::Auth;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::{AppState, blocking};
use crate::store::{Conflict, ReviewItem};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/review", get(review))
}

#[derive(Deserialize)]
struct ReviewQuery {
    area: Option<String>,
}

#[derive(Serialize)]
struct ReviewList {
    protocol: u32,
    persons: Vec<ReviewItem>,
    conflicts: Vec<Conflict>,
}

async fn review(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> Result<Json<ReviewList>, ApiError> {
    auth.require_supervisor()?;
    let areas: Option<Vec<AreaCode>> = match q.area.as_deref() {
        Some(text) => {
            let area = AreaCode::parse(text).map_err(|e| {
                ApiError::bad_request(
                    "invalid_area",
                    format!("{e}; give an area code like 33.72 or 33.72.01.1001"),
                )
            })?;
            auth.require_area(&area)?;
            Some(vec![area])
        }
        None => auth.area_filter(),
    };
    let store = state.store.clone();
    let (persons, conflicts) = blocking(move || {
        let persons = store.review(areas.as_deref())?;
        let conflicts = store
            .conflicts(Some("open"))?
            .into_iter()
            .filter(|c| match (&areas, &c.kelurahan) {
                (None, _) => true,
                (Some(list), Some(k)) => list.iter().any(|a| a.contains(k)),
                (Some(_), None) => false,
            })
            .collect();
        Ok((persons, conflicts))
    })
    .await?;
    Ok(Json(ReviewList {
        protocol: PROTOCOL_VERSION,
        persons,
        conflicts,
    }))
}
