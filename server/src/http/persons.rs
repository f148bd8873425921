//! `GET /api/v1/persons/{nik}` (supervisors): one merged person, with its
//! change history on request.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::Nik;
use sigap_shared::wire::PROTOCOL_VERSION;

use super::auth::Auth;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::{AppState, blocking};
use crate::store::PersonView;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/persons/{nik}", get(person))
        .route("/api/v1/persons/{nik}/move", post(move_person))
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
    require_person_area(&auth, &person)?;
    Ok(Json(PersonAnswer {
        protocol: PROTOCOL_VERSION,
        person,
    }))
}

/// The token must cover the person's address; a person without one is
/// for admins only.
pub(crate) fn require_person_area(auth: &Auth, person: &PersonView) -> Result<(), ApiError> {
    match &person.fields.kelurahan {
        Some(k) => auth.require_area(k),
        None if auth.area_filter().is_some() => Err(ApiError::Forbidden(
            "the person has no address in this token's areas".into(),
        )),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    kelurahan: String,
    rw: u16,
    rt: u16,
}

#[derive(Serialize)]
struct Moved {
    protocol: u32,
    nik: Nik,
    fields: sigap_shared::Fields,
}

/// A supervisor of both the person's address and the new one moves the
/// person (agents may not move a person out of another's areas).
async fn move_person(
    State(state): State<AppState>,
    auth: Auth,
    Path(nik): Path<String>,
    ApiJson(body): ApiJson<MoveBody>,
) -> Result<Json<Moved>, ApiError> {
    auth.require_supervisor()?;
    let nik = Nik::parse(&nik).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let to = sigap_shared::AreaCode::parse_kelurahan(&body.kelurahan).map_err(|e| {
        ApiError::unprocessable(
            "invalid_kelurahan",
            format!("{e}; give a kelurahan code like 33.72.01.1001"),
        )
    })?;
    auth.require_area(&to)?;
    let store = state.store.clone();
    let masked = nik.masked();
    let key = nik.clone();
    let person = blocking(move || store.person(&key, false))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no person with NIK {masked}")))?;
    require_person_area(&auth, &person)?;
    let fields = sigap_shared::Fields {
        kelurahan: Some(to),
        rw: Some(body.rw),
        rt: Some(body.rt),
        ..Default::default()
    };
    let store = state.store.clone();
    let by = auth.0.name.clone();
    let key = nik.clone();
    let record = blocking(move || store.move_person(&key, &fields, &by)).await?;
    tracing::info!(nik = %nik.masked(), to = %to, "person moved by a supervisor");
    Ok(Json(Moved {
        protocol: PROTOCOL_VERSION,
        nik: record.nik,
        fields: record.fields,
    }))
}
