//! `GET /api/v1/me`: what the caller's token is (any role), so that `sigap
//! init` can tell a supervisor's token from an agent's and `sigap report`
//! can default to the token's areas. Never the token itself.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sigap_shared::AreaCode;
use sigap_shared::wire::PROTOCOL_VERSION;

use super::AppState;
use super::auth::Auth;
use super::error::ApiError;
use crate::store::Role;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me))
}

#[derive(Serialize)]
struct Me {
    protocol: u32,
    name: String,
    role: Role,
    areas: Vec<AreaCode>,
    expires_at: Option<i64>,
}

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
