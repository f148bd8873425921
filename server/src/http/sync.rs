//! `/api/v1/sync/*`: push, pull and the device log (agents).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sigap_shared::wire::{
    DeviceStatus, MAX_PULL_LIMIT, MAX_PUSH_CHANGES, MIN_PROTOCOL_VERSION, Outcome,
    PROTOCOL_VERSION, PullPage, PushRequest, PushResponse, ReplicaKeyResponse,
};
use uuid::Uuid;

use super::auth::Auth;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::{AppState, blocking};
use crate::store::DeviceChange;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sync/push", post(push))
        .route("/api/v1/sync/pull", get(pull))
        .route("/api/v1/sync/device/{device_id}", get(device))
        .route("/api/v1/sync/device/{device_id}/key", get(device_key))
        .route(
            "/api/v1/sync/device/{device_id}/changes",
            get(device_changes),
        )
}

async fn push(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    auth.require_agent()?;
    if req.protocol > PROTOCOL_VERSION {
        return Err(ApiError::ProtocolTooNew(req.protocol));
    }
    if req.protocol < MIN_PROTOCOL_VERSION {
        return Err(ApiError::ProtocolTooOld(req.protocol));
    }
    if req.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::unprocessable(
            "too_many_changes",
            format!(
                "a push carries at most {MAX_PUSH_CHANGES} changes, this one has {}; split it",
                req.changes.len()
            ),
        ));
    }
    check_device_id(&req.device_id)?;
    let token = auth.0;
    let store = state.store.clone();
    let device = req.device_id;
    let n = req.changes.len();
    let max_skew_millis = state.max_clock_skew_millis;
    let (resp, took) = blocking(move || {
        let by = crate::store::Pusher {
            token_id: token.id,
            token_name: &token.name,
            areas: Some(&token.areas),
            max_skew_millis,
            gap_wait: crate::store::DEFAULT_GAP_WAIT,
        };
        let start = std::time::Instant::now();
        store.push(&by, &req).map(|r| (r, start.elapsed()))
    })
    .await?;
    let rejected = resp
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Rejected { .. }))
        .count();
    tracing::info!(
        %device,
        changes = n,
        rejected,
        held = resp.receipt.count,
        store_ms = took.as_millis() as u64,
        "push committed"
    );
    Ok(Json(resp))
}

#[derive(Deserialize)]
struct PullQuery {
    cursor: Option<u64>,
    limit: Option<usize>,
    /// The pulling device: persons only it has written are skipped.
    device: Option<String>,
}

fn check_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        Some(0) => Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {MAX_PULL_LIMIT}"),
        )),
        Some(n) => Ok(n.min(MAX_PULL_LIMIT)),
        None => Ok(500),
    }
}

async fn pull(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<PullPage>, ApiError> {
    auth.require_agent()?;
    let limit = check_limit(q.limit)?;
    let areas = auth.area_filter();
    let skip = q.device.as_deref().map(parse_device).transpose()?;
    let store = state.store.clone();
    let cursor = q.cursor.unwrap_or(0);
    let page = blocking(move || store.pull(areas.as_deref(), cursor, limit, skip)).await?;
    Ok(Json(page))
}

fn parse_device(text: &str) -> Result<Uuid, ApiError> {
    let id = Uuid::parse_str(text).map_err(|e| {
        ApiError::bad_request(
            "invalid_device_id",
            format!("device id {text:?} is not a UUID: {e}"),
        )
    })?;
    check_device_id(&id)?;
    Ok(id)
}

/// The two ids that stand for the membership roll and the server in
/// clock stamps are no device's.
fn check_device_id(id: &Uuid) -> Result<(), ApiError> {
    if *id == crate::engine::ROLL_DEVICE || *id == crate::engine::SERVER_DEVICE {
        return Err(ApiError::bad_request(
            "invalid_device_id",
            format!("device id {id} is reserved; `sigap init` gives each laptop its own"),
        ));
    }
    Ok(())
}

/// A device's receipt and log are its owner's: the first token to ask
/// (or push) holds it.
async fn claim(state: &AppState, auth: &Auth, device: Uuid) -> Result<(), ApiError> {
    let store = state.store.clone();
    let token = auth.0.id;
    blocking(move || store.claim_device(device, token)).await
}

async fn device(
    State(state): State<AppState>,
    auth: Auth,
    Path(device_id): Path<String>,
) -> Result<Json<DeviceStatus>, ApiError> {
    auth.require_agent()?;
    let device = parse_device(&device_id)?;
    claim(&state, &auth, device).await?;
    let store = state.store.clone();
    let receipt = blocking(move || store.device_receipt(device)).await?;
    Ok(Json(DeviceStatus {
        protocol: PROTOCOL_VERSION,
        receipt,
    }))
}

/// The deployment's replica key, for the device's own token only: a
/// device keeps it inside its encrypted database to look NIKs up in its
/// replica.
async fn device_key(
    State(state): State<AppState>,
    auth: Auth,
    Path(device_id): Path<String>,
) -> Result<Json<ReplicaKeyResponse>, ApiError> {
    auth.require_agent()?;
    let device = parse_device(&device_id)?;
    claim(&state, &auth, device).await?;
    let key = state.store.replica_key()?;
    Ok(Json(ReplicaKeyResponse {
        protocol: PROTOCOL_VERSION,
        key: key.to_hex(),
    }))
}

#[derive(Deserialize)]
struct ChangesQuery {
    after_seq: Option<u64>,
    limit: Option<usize>,
}

#[derive(serde::Serialize)]
struct ChangesPage {
    protocol: u32,
    changes: Vec<DeviceChange>,
    has_more: bool,
}

async fn device_changes(
    State(state): State<AppState>,
    auth: Auth,
    Path(device_id): Path<String>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> Result<Json<ChangesPage>, ApiError> {
    auth.require_agent()?;
    let device = parse_device(&device_id)?;
    let limit = check_limit(q.limit)?;
    claim(&state, &auth, device).await?;
    let store = state.store.clone();
    let (changes, has_more) =
        blocking(move || store.device_changes(device, q.after_seq.unwrap_or(0), limit)).await?;
    Ok(Json(ChangesPage {
        protocol: PROTOCOL_VERSION,
        changes,
        has_more,
    }))
}
