//! `/api/v1/conflicts` (supervisors): identity disagreements to resolve.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::merge::Fields;
use sigap_shared::wire::{ErrorBody, PROTOCOL_VERSION};
use utoipa::{IntoParams, ToSchema};

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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Which conflicts (default `open`).
    #[param(value_type = Option<ConflictStatus>, inline)]
    status: Option<String>,
}

/// The `status` a list asks for.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // Only describes the query; the handler reads the text.
enum ConflictStatus {
    Open,
    Resolved,
    All,
}

#[derive(Serialize, ToSchema)]
struct ConflictList {
    protocol: u32,
    conflicts: Vec<Conflict>,
}

#[derive(Serialize, ToSchema)]
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

/// Identity conflicts in the token's areas.
#[utoipa::path(
    get,
    path = "/api/v1/conflicts",
    tag = "supervision",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The conflicts in the token's areas.", body = ConflictList),
        (status = 400, description = "A status other than open, resolved or all (`invalid_status`), or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "An agent token.", body = ErrorBody),
    )
)]
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

/// The identity a supervisor chose.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    /// The chosen `name`, `birth_date` and/or `sex`, and nothing else.
    fields: Fields,
    #[serde(default)]
    note: Option<String>,
}

/// Resolves an open conflict with the identity values a supervisor chose
/// (after checking the KTP); the choice is written as a change that syncs.
#[utoipa::path(
    post,
    path = "/api/v1/conflicts/{id}/resolve",
    tag = "supervision",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conflict's id.")),
    request_body = ResolveBody,
    responses(
        (status = 200, description = "The conflict, resolved.", body = OneConflict),
        (status = 400, description = "An id that is not a number (`invalid_id`), not JSON, no JSON content type, or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "An agent token, or a conflict outside the token's areas.", body = ErrorBody),
        (status = 404, description = "No conflict with that id.", body = ErrorBody),
        (status = 409, description = "The conflict is already resolved (`conflict_resolved`).", body = ErrorBody),
        (status = 413, description = "The body is over 8 MiB.", body = ErrorBody),
        (status = 422, description = "The body does not fit (`invalid_body`) or holds fields other than name, birth_date and sex, or none (`invalid_resolution`), or a value a registration may not hold (its rule's code).", body = ErrorBody),
    )
)]
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
