//! `GET /api/v1/persons/{nik}` (supervisors): one merged person, with its
//! change history on request.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::Nik;
use sigap_shared::wire::PROTOCOL_VERSION;

use super::auth::Auth;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::{AppState, blocking};
use crate::store::PersonView;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/persons/{nik}", get(person))
}

#[derive(Deserialize)]
struct PersonQuery {
    history: Option<bool>,
}

#[derive(Serialize)]
struct PersonAnswer {
    protocol: u32,
    #[serde(flatten)]
    person: PersonView,
}

async fn person(
    State(state): State<AppState>,
    auth: Auth,
    Path(nik): Path<String>,
    ApiQuery(q): ApiQuery<PersonQuery>,
) -> Result<Json<PersonAnswer>, ApiError> {
    auth.require_supervisor()?;
    let nik = Nik::parse(&nik).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let store = state.store.clone();
    let masked = nik.masked();
    let history = q.history.unwrap_or(false);
    let person = blocking(move || store.person(&nik, history))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no person with NIK {masked}")))?;
    match &person.fields.kelurahan {
        Some(k) => auth.require_area(k)?,
        None if auth.area_filter().is_some() => {
            return Err(ApiError::Forbidden(
                "the person has no address in this token's areas".into(),
            ));
        }
        None => {}
    }
    Ok(Json(PersonAnswer {
        protocol: PROTOCOL_VERSION,
        person,
    }))
}
