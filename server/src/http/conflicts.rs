//! `/api/v1/conflicts` (supervisors): identity disagreements to resolve.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::merge::Fields;
use sigap_shared::wire::PROTOCOL_VERSION;

use super::auth::Auth;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::{AppState, blocking};
use crate::store::Conflict;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conflicts", get(list))
        .route("/api/v1/conflicts/{id}/resolve", post(resolve))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
}

#[derive(Serialize)]
struct ConflictList {
    protocol: u32,
    conflicts: Vec<Conflict>,
}

#[derive(Serialize)]
struct OneConflict {
    protocol: u32,
    conflict: Conflict,
}

pub(crate) fn visible(auth: &Auth, c: &Conflict) -> bool {
    match &c.kelurahan {
        Some(k) => auth.0.covers(k),
        None => auth.area_filter().is_none(),
    }
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ConflictList>, ApiError> {
    auth.require_supervisor()?;
    let status = match q.status.as_deref().unwrap_or("open") {
        "all" => None,
        s @ ("open" | "resolved") => Some(s.to_string()),
        other => {
            return Err(ApiError::bad_request(
                "invalid_status",
                format!("status {other:?} is not valid; use open, resolved or all"),
            ));
        }
    };
    let store = state.store.clone();
    let all = blocking(move || store.conflicts(status.as_deref())).await?;
    let conflicts = all.into_iter().filter(|c| visible(&auth, c)).collect();
    Ok(Json(ConflictList {
        protocol: PROTOCOL_VERSION,
        conflicts,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    fields: Fields,
    #[serde(default)]
    note: Option<String>,
}

async fn resolve(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> Result<Json<OneConflict>, ApiError> {
    auth.require_supervisor()?;
    let id: i64 = id.parse().map_err(|_| {
        ApiError::bad_request("invalid_id", format!("conflict id {id:?} is not a number"))
    })?;
    let conflict = resolve_as(&state, &auth, id, body.fields, body.note).await?;
    Ok(Json(OneConflict {
        protocol: PROTOCOL_VERSION,
        conflict,
    }))
}

/// Resolves conflict `id` with the chosen identity values, as `auth`'s
/// token: the API and the dashboard's form both come through here, so a
/// resolution is always a change with an author and the same checks.
pub(crate) async fn resolve_as(
    state: &AppState,
    auth: &Auth,
    id: i64,
    fields: Fields,
    note: Option<String>,
) -> Result<Conflict, ApiError> {
    auth.require_supervisor()?;
    let f = &fields;
    let identity_only = Fields {
        name: f.name.clone(),
        birth_date: f.birth_date,
        sex: f.sex,
        ..Default::default()
    };
    if identity_only != *f || identity_only == Fields::default() {
        return Err(ApiError::unprocessable(
            "invalid_resolution",
            "give the chosen identity values in \"fields\": name, birth_date and/or sex only",
        ));
    }
    let store = state.store.clone();
    let conflict = blocking(move || store.conflict(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no conflict with id {id}")))?;
    if !visible(auth, &conflict) {
        let area = conflict
            .kelurahan
            .map(|k| k.to_string())
            .unwrap_or_else(|| "unknown".into());
        return Err(ApiError::Forbidden(format!(
            "conflict {id} is in area {area}, outside this token's areas"
        )));
    }
    let store = state.store.clone();
    let by = auth.0.name.clone();
    let resolved =
        blocking(move || store.resolve_conflict(id, &fields, note.as_deref(), &by)).await?;
    tracing::info!(id, nik = %resolved.nik.masked(), "conflict resolved");
    Ok(resolved)
}
