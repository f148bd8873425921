//! Personal data requests (UU 27/2022 PDP): everything held about one
//! person, for the supervisor of the person's area who answers an access
//! request (`GET /api/v1/persons/{nik}/export`), and the erasure of the
//! person's personal fields by an admin (`POST /api/v1/persons/{nik}/erase`).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::Nik;
use sigap_shared::wire::{ErrorBody, PROTOCOL_VERSION};
use utoipa::ToSchema;

use super::auth::Auth;
use super::error::ApiError;
use super::extract::ApiJson;
use super::{AppState, blocking};
use crate::store::{Conflict, Erasure, PersonView, Role};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/persons/{nik}/export", get(export))
        .route("/api/v1/persons/{nik}/erase", post(erase))
}

#[derive(Serialize, ToSchema)]
struct Export {
    protocol: u32,
    /// When the export was made (Unix milliseconds).
    exported_at: u64,
    exported_by: String,
    /// The merged record, with every change that touched it: who sent
    /// it, from which device, when, and what it wrote.
    person: PersonView,
    /// Identity conflicts about the person, open and resolved, with what
    /// each source said.
    conflicts: Vec<Conflict>,
}

fn parse_nik(text: &str) -> Result<Nik, ApiError> {
    Nik::parse(text).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))
}

/// Everything held about one person, for an access request: the merged
/// record with its full history and the identity conflicts about it.
/// Personal data: for supervisors of the person's area and admins only.
#[utoipa::path(
    get,
    path = "/api/v1/persons/{nik}/export",
    tag = "supervision",
    security(("bearer" = [])),
    params(("nik" = Nik, Path, description = "The person's NIK.")),
    responses(
        (status = 200, description = "The person, every change that touched it, and its conflicts.", body = Export),
        (status = 400, description = "A NIK that does not parse (`invalid_nik`, `invalid_nik_region`, `invalid_nik_birth_date`, `invalid_nik_serial`), or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "An agent token, or a person outside the token's areas.", body = ErrorBody),
        (status = 404, description = "No person with that NIK.", body = ErrorBody),
    )
)]
async fn export(
    State(state): State<AppState>,
    auth: Auth,
    Path(nik): Path<String>,
) -> Result<Json<Export>, ApiError> {
    auth.require_supervisor()?;
    let nik = parse_nik(&nik)?;
    let store = state.store.clone();
    let masked = nik.masked();
    let key = nik.clone();
    let (person, conflicts) = blocking(move || {
        let person = store.person(&key, true)?;
        let conflicts = store
            .conflicts(None)?
            .into_iter()
            .filter(|c| c.nik == key)
            .collect::<Vec<_>>();
        Ok((person, conflicts))
    })
    .await?;
    let person =
        person.ok_or_else(|| ApiError::NotFound(format!("no person with NIK {masked}")))?;
    super::persons::require_person_area(&auth, &person)?;
    // An export is an explicit act on personal data: it is logged (masked).
    tracing::info!(nik = %masked, by = %auth.0.name, "personal data exported");
    Ok(Json(Export {
        protocol: PROTOCOL_VERSION,
        exported_at: sigap_shared::hlc::wall_millis(),
        exported_by: auth.0.name.clone(),
        person,
        conflicts,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    /// Why (the request's reference, say): kept with the change. 1 to 300
    /// characters once trimmed.
    #[schema(min_length = 1, max_length = 300, example = "PDP request 2025/014")]
    reason: String,
}

#[derive(Serialize, ToSchema)]
struct Erased {
    protocol: u32,
    /// The erased person's NIK, masked.
    nik: String,
    #[serde(flatten)]
    erasure: Erasure,
}

/// Erases a person's personal fields (name, phone, ...) from the merged
/// record, the changes and the conflicts. Admins only. The agents' feed
/// then sends the person with `erased_at`, and each laptop that holds its
/// own record of the person overwrites it at its next sync.
#[utoipa::path(
    post,
    path = "/api/v1/persons/{nik}/erase",
    tag = "supervision",
    security(("bearer" = [])),
    params(("nik" = Nik, Path, description = "The person's NIK.")),
    request_body = EraseBody,
    responses(
        (status = 200, description = "The person's masked NIK and what the erasure overwrote besides the merged record.", body = Erased),
        (status = 400, description = "A NIK that does not parse, not JSON, no JSON content type, or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "Not an admin token.", body = ErrorBody),
        (status = 404, description = "No person with that NIK.", body = ErrorBody),
        (status = 413, description = "The body is over 8 MiB.", body = ErrorBody),
        (status = 422, description = "The body does not fit (`invalid_body`), or the reason is empty or over 300 characters (`invalid_reason`).", body = ErrorBody),
    )
)]
async fn erase(
    State(state): State<AppState>,
    auth: Auth,
    Path(nik): Path<String>,
    ApiJson(body): ApiJson<EraseBody>,
) -> Result<Json<Erased>, ApiError> {
    if auth.0.role != Role::Admin {
        return Err(ApiError::Forbidden(format!(
            "token {:?} has role {}; erasing a person's data needs an admin token",
            auth.0.name,
            auth.0.role.as_str()
        )));
    }
    let nik = parse_nik(&nik)?;
    let reason = body.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 300 {
        return Err(ApiError::unprocessable(
            "invalid_reason",
            "give the reason for the erasure (the request's reference, say), 1 to 300 characters",
        ));
    }
    let store = state.store.clone();
    let by = auth.0.name.clone();
    let key = nik.clone();
    let erasure = blocking(move || store.erase_person(&key, &by, &reason)).await?;
    tracing::info!(nik = %nik.masked(), by = %auth.0.name, "personal data erased");
    Ok(Json(Erased {
        protocol: PROTOCOL_VERSION,
        nik: nik.masked(),
        erasure,
    }))
}
