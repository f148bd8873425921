//! The HTTP API (docs/sync-api.md): one module per resource, merged here,
//! with the protocol header, request logging and the body limit around
//! every route.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sigap_shared::wire::{ErrorBody, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::catch_panic::CatchPanicLayer;

use crate::store::{Store, StoreError};

mod agents;
pub(crate) mod auth;
pub(crate) mod conflicts;
mod coverage;
mod days;
pub mod error;
mod extract;
mod history;
mod me;
pub mod metrics;
pub mod openapi;
mod pdp;
pub(crate) mod persons;
mod review;
mod sync;
pub mod throttle;
mod visits;

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
    pub limits: Limits,
    pub auth_throttle: Arc<throttle::AuthThrottle>,
    pub metrics: Arc<metrics::Metrics>,
    /// The dashboard's secret and cookie settings.
    pub web: Arc<crate::web::WebConfig>,
}

/// Bounds that keep one slow or busy client from holding the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a request may take, body included (`serve --request-timeout`).
    pub request_timeout: Duration,
    /// Requests served at once; beyond it `503` with `Retry-After`
    /// (`serve --max-concurrent`).
    pub max_concurrent: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // A 10,000-change push takes well under a second; a minute
            // leaves room for a slow link carrying its 8 MiB body.
            request_timeout: Duration::from_secs(60),
            max_concurrent: 512,
        }
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState {
            store,
            coverage: Arc::default(),
            max_clock_skew_millis: crate::store::DEFAULT_MAX_CLOCK_SKEW_MILLIS,
            limits: Limits::default(),
            auth_throttle: Arc::default(),
            metrics: Arc::default(),
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
    app_with(state, Router::new())
}

/// The API with `extra` routes behind the same layers: for tests that
/// need a handler the API does not have (one that panics, say).
#[doc(hidden)]
pub fn app_with(state: AppState, extra: Router<AppState>) -> Router {
    let limits = state.limits;
    let metrics = state.metrics.clone();
    Router::new()
        .merge(extra)
        .route("/healthz", get(healthz))
        .merge(crate::web::router(&state))
        .merge(sync::router())
        .merge(coverage::router())
        .merge(conflicts::router())
        .merge(persons::router())
        .merge(pdp::router())
        .merge(review::router())
        .merge(history::router())
        .merge(agents::router())
        .merge(visits::router())
        .merge(me::router())
        .merge(openapi::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(protocol))
        .layer(middleware::from_fn_with_state(
            limits.request_timeout,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                // One semaphore for the whole server: `Router::layer`
                // clones the layer per route.
                .layer(GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent.max(1),
                )),
        )
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// A handler that panicked answers 500 like any internal error; the
/// panic itself is logged by the hook `logging::init` installs, without
/// its message.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("a request handler panicked".into()).into_response()
}

/// Answers `503 timeout` when a request runs past the limit. Work that
/// already reached the store still commits (pushes are idempotent, so the
/// client's retry is harmless).
async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(limit.as_secs()).into_response(),
    }
}

/// The answer when every request slot is taken.
async fn overloaded(_: tower::BoxError) -> ApiError {
    ApiError::Overloaded
}

/// The answer of `GET /healthz`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`: the server is up and answering.
    #[schema(example = "ok")]
    status: &'static str,
    protocol: u32,
}

/// Whether the server is up, and the protocol it speaks.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    responses(
        (status = 200, description = "The server is up.", body = Health),
        (status = 400, description = "Bad protocol header (`invalid_protocol`, `protocol_too_new`).", body = ErrorBody),
    )
)]
async fn healthz() -> impl IntoResponse {
    axum::Json(Health {
        status: "ok",
        protocol: PROTOCOL_VERSION,
    })
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
