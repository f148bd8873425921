//! Prometheus metrics: requests by route and status, push and merge
//! latency, changes by outcome, open conflicts and the database's size.
//!
//! Served only on `serve --metrics-listen`, an address of its own, so the
//! figures are never exposed on the agents' port by accident. Labels hold
//! route templates (`/api/v1/persons/{nik}`), never a path with a NIK in it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sigap_shared::wire::{Outcome, PushResponse};

use super::error::ApiError;
use crate::store::Store;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Every figure the server exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    merge_seconds: Histogram,
    changes: Family<OutcomeLabels, Counter>,
    open_conflicts: Gauge,
    database_bytes: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sigap");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route template (a push is answered after its commit)",
            latency.clone(),
        );
        let merge_seconds = latency_histogram();
        registry.register(
            "merge_duration_seconds",
            "Time the store took to check, merge and commit one push",
            merge_seconds.clone(),
        );
        let changes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "changes",
            "Pushed changes by outcome (applied, merged, superseded, duplicate, pending, rejected)",
            changes.clone(),
        );
        let open_conflicts = Gauge::default();
        registry.register(
            "open_conflicts",
            "Identity conflicts waiting for a supervisor",
            open_conflicts.clone(),
        );
        let database_bytes = Gauge::default();
        registry.register(
            "database_bytes",
            "Size of the database files (main file and write-ahead log)",
            database_bytes.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            merge_seconds,
            changes,
            open_conflicts,
            database_bytes,
        }
    }

    fn observe_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Records one committed push: its store time and its outcomes.
    pub fn observe_push(&self, resp: &PushResponse, took: Duration) {
        self.merge_seconds.observe(took.as_secs_f64());
        for r in &resp.results {
            let outcome = match r.outcome {
                Outcome::Applied => "applied",
                Outcome::Merged => "merged",
                Outcome::Duplicate => "duplicate",
                Outcome::Superseded { .. } => "superseded",
                Outcome::Pending => "pending",
                Outcome::Rejected { .. } => "rejected",
            };
            self.changes.get_or_create(&OutcomeLabels { outcome }).inc();
        }
    }

    /// The text exposition, with the gauges set to what the store says now.
    fn render(
        &self,
        open_conflicts: usize,
        database_bytes: u64,
    ) -> Result<String, std::fmt::Error> {
        self.open_conflicts
            .set(i64::try_from(open_conflicts).unwrap_or(i64::MAX));
        self.database_bytes
            .set(i64::try_from(database_bytes).unwrap_or(i64::MAX));
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Middleware: counts and times every request under its route template.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.observe_request(&route, &method, response.status().as_u16(), start.elapsed());
    response
}

#[derive(Clone)]
struct MetricsState {
    metrics: Arc<Metrics>,
    store: Arc<dyn Store>,
}

/// The router of the metrics address: `GET /metrics`.
pub fn router(metrics: Arc<Metrics>, store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(MetricsState { metrics, store })
}

async fn scrape(State(s): State<MetricsState>) -> Result<Response, ApiError> {
    let store = s.store.clone();
    let (open, bytes) = super::blocking(move || {
        Ok::<_, crate::store::StoreError>((store.conflicts(Some("open"))?, store.database_bytes()?))
    })
    .await?;
    let text = s
        .metrics
        .render(open.len(), bytes)
        .map_err(|e| ApiError::Internal(format!("encoding metrics: {e}")))?;
    Ok((
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
