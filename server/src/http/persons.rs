//! `GET /api/v1/persons/{nik}` (supervisors): one merged person, with its
//! change history on request.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::Nik;
use sigap_shared::wire::{ErrorBody, PROTOCOL_VERSION};
use utoipa::{IntoParams, ToSchema};

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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PersonQuery {
    /// With every change that touched the person (default false).
    history: Option<bool>,
}

#[derive(Serialize, ToSchema)]
struct PersonAnswer {
    protocol: u32,
    #[serde(flatten)]
    person: PersonView,
}

/// One merged person, with its change history on request. Personal data:
/// for supervisors of the person's area and admins only.
#[utoipa::path(
    get,
    path = "/api/v1/persons/{nik}",
    tag = "supervision",
    security(("bearer" = [])),
    params(("nik" = Nik, Path, description = "The person's NIK."), PersonQuery),
    responses(
        (status = 200, description = "The merged person.", body = PersonAnswer),
        (status = 400, description = "A NIK that does not parse (`invalid_nik`, `invalid_nik_region`, `invalid_nik_birth_date`, `invalid_nik_serial`), a query value that does not parse, or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "An agent token, or a person outside the token's areas.", body = ErrorBody),
        (status = 404, description = "No person with that NIK.", body = ErrorBody),
    )
)]
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

/// The new address.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    /// A kelurahan code.
    #[schema(
        pattern = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}$",
        example = "33.72.01.1002"
    )]
    kelurahan: String,
    rw: u16,
    rt: u16,
}

#[derive(Serialize, ToSchema)]
struct Moved {
    protocol: u32,
    nik: Nik,
    fields: sigap_shared::Fields,
}

/// A supervisor of both the person's address and the new one moves the
/// person (agents may not move a person out of another's areas).
/// Moves a person to a new address, as a change that syncs. The token
/// must cover both the old address and the new one.
#[utoipa::path(
    post,
    path = "/api/v1/persons/{nik}/move",
    tag = "supervision",
    security(("bearer" = [])),
    params(("nik" = Nik, Path, description = "The person's NIK.")),
    request_body = MoveBody,
    responses(
        (status = 200, description = "The person's NIK and merged fields after the move.", body = Moved),
        (status = 400, description = "A NIK that does not parse, not JSON, no JSON content type, or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "An agent token, or an old or new address outside the token's areas.", body = ErrorBody),
        (status = 404, description = "No person with that NIK.", body = ErrorBody),
        (status = 413, description = "The body is over 8 MiB.", body = ErrorBody),
        (status = 422, description = "The body does not fit (`invalid_body`), the kelurahan is not one (`invalid_kelurahan`), or RW/RT are out of range.", body = ErrorBody),
    )
)]
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
