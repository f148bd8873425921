//! `GET /api/v1/me`: what the caller's token is (any role), so that `sigap
//! init` can tell a supervisor's token from an agent's and `sigap report`
//! can default to the token's areas. Never the token itself.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sigap_shared::AreaCode;
use sigap_shared::wire::{ErrorBody, PROTOCOL_VERSION};
use utoipa::ToSchema;

use super::AppState;
use super::auth::Auth;
use super::error::ApiError;
use crate::store::Role;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me))
}

/// The caller's token, without the token itself.
#[derive(Serialize, ToSchema)]
struct Me {
    protocol: u32,
    /// The token's name.
    name: String,
    role: Role,
    /// The areas the token covers (an admin token sees every area).
    areas: Vec<AreaCode>,
    /// When the token expires (Unix milliseconds); null when it does not.
    expires_at: Option<i64>,
}

/// What the caller's token is: its name, role, areas and expiry. Any role.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "meta",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token's name, role, areas and expiry.", body = Me),
        (status = 400, description = "A bad protocol header.", body = ErrorBody),
    )
)]
async fn me(auth: Auth) -> Result<Json<Me>, ApiError> {
    let t = auth.0;
    Ok(Json(Me {
        protocol: PROTOCOL_VERSION,
        name: t.name,
        role: t.role,
        areas: t.areas,
        expires_at: t.expires_at,
    }))
}
