//! `GET /api/v1/review` (supervisors): what needs a supervisor's decision
//! in the token's areas: persons whose merged record breaks a rule that
//! needs the whole record, and the open identity conflicts.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::AreaCode;
use sigap_shared::wire::{ErrorBody, PROTOCOL_VERSION};
use utoipa::{IntoParams, ToSchema};

use super::auth::Auth;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::{AppState, blocking};
use crate::store::{Conflict, ReviewItem};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/review", get(review))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReviewQuery {
    /// One area inside the token's (default: all of the token's areas).
    #[param(value_type = Option<AreaCode>)]
    area: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ReviewList {
    protocol: u32,
    persons: Vec<ReviewItem>,
    conflicts: Vec<Conflict>,
}

/// What needs a supervisor's decision: persons whose merged record
/// breaks a rule, and the open identity conflicts.
#[utoipa::path(
    get,
    path = "/api/v1/review",
    tag = "supervision",
    security(("bearer" = [])),
    params(ReviewQuery),
    responses(
        (status = 200, description = "Persons to review and open conflicts.", body = ReviewList),
        (status = 400, description = "A bad area code (`invalid_area`), or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "An agent token, or an area outside the token's areas.", body = ErrorBody),
    )
)]
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
