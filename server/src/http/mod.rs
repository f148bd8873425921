//! The HTTP API (docs/sync-api.md): one module per resource, merged here,
//! with the protocol header, request logging and the body limit around
//! every route.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sigap_shared::wire::{MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION};

use crate::store::{Store, StoreError};

pub(crate) mod auth;
pub(crate) mod conflicts;
mod coverage;
pub mod error;
mod extract;
pub(crate) mod persons;
mod review;
mod sync;

pub use error::ApiError;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub coverage: Arc<coverage::CoverageCache>,
    /// How far ahead of the server's clock a change may be stamped
    /// (`serve --max-clock-skew`).
    pub max_clock_skew_millis: u64,
    /// The dashboard's secret and cookie settings.
    pub web: Arc<crate::web::WebConfig>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState {
            store,
            coverage: Arc::default(),
            max_clock_skew_millis: crate::store::DEFAULT_MAX_CLOCK_SKEW_MILLIS,
            web: Arc::new(crate::web::WebConfig::new(false)),
        }
    }
}

/// Runs blocking store work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::Internal(format!("store task failed: {e}"))),
    }
}

/// The whole API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(crate::web::router(&state))
        .merge(sync::router())
        .merge(coverage::router())
        .merge(conflicts::router())
        .merge(persons::router())
        .merge(review::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(protocol))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok", "protocol": PROTOCOL_VERSION}))
}

async fn not_found(req: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no such endpoint: {} {}; see docs/sync-api.md",
        req.method(),
        crate::logging::mask_niks(req.uri().path())
    ))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Checks the client's protocol header and stamps ours on every answer.
async fn protocol(req: Request, next: Next) -> Response {
    let version = req
        .headers()
        .get(PROTOCOL_HEADER)
        .map(|v| v.to_str().ok().and_then(|t| t.trim().parse::<u32>().ok()));
    let mut response = match version {
        Some(None) => ApiError::bad_request(
            "invalid_protocol",
            format!("header {PROTOCOL_HEADER} must be a whole number such as {PROTOCOL_VERSION}"),
        )
        .into_response(),
        Some(Some(v)) if v > PROTOCOL_VERSION => ApiError::ProtocolTooNew(v).into_response(),
        Some(Some(v)) if v < MIN_PROTOCOL_VERSION => ApiError::ProtocolTooOld(v).into_response(),
        _ => next.run(req).await,
    };
    response
        .headers_mut()
        .insert(PROTOCOL_HEADER, HeaderValue::from(PROTOCOL_VERSION));
    response
}

/// One log line per request, with NIKs masked.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = crate::logging::mask_niks(
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/"),
    );
    let start = Instant::now();
    let response = next.run(req).await;
    tracing::info!(
        %method,
        path = %path,
        status = response.status().as_u16(),
        ms = start.elapsed().as_millis() as u64,
        "request"
    );
    response
}
