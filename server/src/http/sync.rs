//! `/api/v1/sync/*`: push, pull and the device log (agents).

use axum::extract::{Path, State};
use axum::http::{HeaderName, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sigap_shared::wire::{
    DeviceStatus, ErrorBody, MAX_PULL_LIMIT, MAX_PUSH_CHANGES, MIN_PROTOCOL_VERSION, Outcome,
    PROTOCOL_VERSION, PULL_NEXT_HEADER, PullPage, PushRequest, PushResponse, ReplicaKeyResponse,
    pull_next_value,
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Auth;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::{AppState, blocking};
use crate::store::{DeviceChange, StoreError};

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

/// Sends a batch of one device's changes; answered once the whole batch
/// is committed, with one result per change and the device's receipt.
#[utoipa::path(
    post,
    path = "/api/v1/sync/push",
    tag = "sync",
    security(("bearer" = [])),
    request_body = PushRequest,
    responses(
        (status = 200, description = "The batch is committed: one result per change (a rejected change is answered here, not by the status).", body = PushResponse),
        (status = 400, description = "Not JSON, no JSON content type, a protocol newer than the server's, or a reserved device id.", body = ErrorBody),
        (status = 403, description = "Not an agent token, or the device belongs to another token (`device_not_yours`).", body = ErrorBody),
        (status = 413, description = "The body is over 8 MiB (`payload_too_large`).", body = ErrorBody),
        (status = 422, description = "The body does not fit the schema (`invalid_body`) or carries more than 10000 changes (`too_many_changes`). A change the server refuses is answered 200, `rejected` in its result.", body = ErrorBody),
    )
)]
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
    state.metrics.observe_push(&resp, took);
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PullQuery {
    /// The `next_cursor` of the previous page; 0 (the default) from the start.
    cursor: Option<u64>,
    /// Most persons in the page (default 500); above 5000 reads as 5000.
    #[param(minimum = 1)]
    limit: Option<usize>,
    /// The pulling device: persons only it has written are skipped.
    #[param(value_type = Option<Uuid>)]
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

/// One page of the change feed of the token's areas.
#[utoipa::path(
    get,
    path = "/api/v1/sync/pull",
    tag = "sync",
    security(("bearer" = [])),
    params(PullQuery),
    responses(
        (status = 200, description = "One page of the feed; ask again with `next_cursor` while `has_more`.", body = PullPage,
            headers(("x-sigap-pull-next" = String, description = "The page's `next_cursor`, with `+` after it when `has_more` (e.g. `81234+`): a client can ask for the next page before it reads this one."))),
        (status = 400, description = "A query value that does not parse (`invalid_query`), limit 0 (`invalid_limit`), a device that is not a UUID or is reserved (`invalid_device_id`), or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "Not an agent token.", body = ErrorBody),
    )
)]
async fn pull(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Response, ApiError> {
    auth.require_agent()?;
    let limit = check_limit(q.limit)?;
    let areas = auth.area_filter();
    let skip = q.device.as_deref().map(parse_device).transpose()?;
    let store = state.store.clone();
    let cursor = q.cursor.unwrap_or(0);
    let (body, next) = blocking(move || {
        let page = store.pull(areas.as_deref(), cursor, limit, skip)?;
        let next = pull_next_value(page.next_cursor, page.has_more);
        Ok((page_json(&page)?, next))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (HeaderName::from_static(PULL_NEXT_HEADER), next),
        ],
        body,
    )
        .into_response())
}

/// A pull page's JSON, written off the async threads into a buffer of
/// about its size: `Json` grew one from 128 bytes to the page's
/// megabytes, copying it a dozen times (a twelfth of the feed's CPU).
fn page_json(page: &PullPage) -> Result<Vec<u8>, StoreError> {
    /// About what one masked person takes as JSON.
    const PERSON_BYTES: usize = 320;
    let mut body = Vec::with_capacity(256 + page.persons.len() * PERSON_BYTES);
    serde_json::to_writer(&mut body, page)
        .map_err(|e| StoreError::Task(format!("writing a pull page: {e}")))?;
    Ok(body)
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
pub(super) fn check_device_id(id: &Uuid) -> Result<(), ApiError> {
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

/// What the server holds from a device: its receipt. The first token to
/// ask for (or push from) a device holds it.
#[utoipa::path(
    get,
    path = "/api/v1/sync/device/{device_id}",
    tag = "sync",
    security(("bearer" = [])),
    params(("device_id" = Uuid, Path, description = "The device (`sigap init` makes its id).")),
    responses(
        (status = 200, description = "The device's receipt.", body = DeviceStatus),
        (status = 400, description = "The device id is not a UUID or is reserved (`invalid_device_id`), or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "Not an agent token, or the device belongs to another token (`device_not_yours`).", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/sync/device/{device_id}/key",
    tag = "sync",
    security(("bearer" = [])),
    params(("device_id" = Uuid, Path, description = "The device (`sigap init` makes its id).")),
    responses(
        (status = 200, description = "The deployment's replica key (64 hexadecimal digits).", body = ReplicaKeyResponse),
        (status = 400, description = "The device id is not a UUID or is reserved (`invalid_device_id`), or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "Not an agent token, or the device belongs to another token (`device_not_yours`).", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ChangesQuery {
    /// Changes with a higher `device_seq` than this (default 0).
    after_seq: Option<u64>,
    /// Most changes in the page (default 500); above 5000 reads as 5000.
    #[param(minimum = 1)]
    limit: Option<usize>,
}

/// A page of a device's log, by `device_seq`.
#[derive(serde::Serialize, ToSchema)]
struct ChangesPage {
    protocol: u32,
    changes: Vec<DeviceChange>,
    has_more: bool,
}

/// The device's log as the server holds it: each change's id and outcome,
/// so that a device that lost its state knows what to resend.
#[utoipa::path(
    get,
    path = "/api/v1/sync/device/{device_id}/changes",
    tag = "sync",
    security(("bearer" = [])),
    params(
        ("device_id" = Uuid, Path, description = "The device (`sigap init` makes its id)."),
        ChangesQuery,
    ),
    responses(
        (status = 200, description = "One page of the device's log.", body = ChangesPage),
        (status = 400, description = "The device id is not a UUID or is reserved, a query value that does not parse, limit 0, or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "Not an agent token, or the device belongs to another token (`device_not_yours`).", body = ErrorBody),
    )
)]
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
