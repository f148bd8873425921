//! `POST /api/v1/visits` (agents): the field kit's RT visits, sent after
//! its changes. Stored once each by id; a visit outside the token's areas
//! is refused and nothing of it is kept.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use sigap_shared::area::parse_rw_rt;
use sigap_shared::visit_wire::{
    MAX_VISITS, Visit, VisitOutcome, VisitResult, VisitsRequest, VisitsResponse,
};
use sigap_shared::wire::{ErrorBody, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use sigap_shared::{Level, wilayah};

use super::auth::Auth;
use super::error::ApiError;
use super::extract::ApiJson;
use super::{AppState, blocking};
use crate::store::NewVisit;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/visits", post(visits))
}

/// Why a visit is refused, or `None` when it may be stored.
/// The most households one visit may count.
const MAX_HOUSEHOLDS: u32 = 10_000;

fn refusal(auth: &Auth, v: &Visit, now_millis: i64, max_skew: u64) -> Option<(String, String)> {
    if v.kelurahan.level() != Level::Kelurahan {
        return Some((
            "invalid_area".into(),
            format!(
                "{} is not a kelurahan code (like 33.72.01.1001)",
                v.kelurahan
            ),
        ));
    }
    for (what, n) in [("RW", v.rw), ("RT", v.rt)] {
        if let Err(e) = parse_rw_rt(what, &n.to_string()) {
            return Some(("invalid_area".into(), e.to_string()));
        }
    }
    if v.households == 0 {
        return Some((
            "invalid_households".into(),
            "a visit counts at least 1 household".into(),
        ));
    }
    // Far above any RT: a typing slip, which would also not fit the
    // PostgreSQL column.
    if v.households > MAX_HOUSEHOLDS {
        return Some((
            "invalid_households".into(),
            format!(
                "a visit counts at most {MAX_HOUSEHOLDS} households (an RT has far fewer); check the number"
            ),
        ));
    }
    if !auth.0.covers(&v.kelurahan) {
        return Some((
            "area_not_allowed".into(),
            format!(
                "{} is outside this token's areas; visits are recorded by the agent of the kelurahan",
                wilayah::area_label(&v.kelurahan)
            ),
        ));
    }
    let at = visit_millis(v);
    if at > now_millis.saturating_add(i64::try_from(max_skew).unwrap_or(i64::MAX)) {
        return Some((
            "clock_ahead".into(),
            "the visit is dated in the future; set the laptop's date and time, then sync again"
                .into(),
        ));
    }
    None
}

fn visit_millis(v: &Visit) -> i64 {
    i64::try_from(v.visited_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Sends a batch of one device's RT visits, after its changes; one result
/// per visit, in order. A visit sent twice is stored once.
#[utoipa::path(
    post,
    path = "/api/v1/visits",
    tag = "sync",
    security(("bearer" = [])),
    request_body = VisitsRequest,
    responses(
        (status = 200, description = "One result per visit (a refused visit is answered here, `rejected` with its code: `invalid_area`, `invalid_households`, `area_not_allowed`, `clock_ahead`; not by the status).", body = VisitsResponse),
        (status = 400, description = "Not JSON, no JSON content type, a protocol newer than the server's (`protocol_too_new`), a reserved device id (`invalid_device_id`), or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "Not an agent token.", body = ErrorBody),
        (status = 413, description = "The body is over 8 MiB (`payload_too_large`).", body = ErrorBody),
        (status = 422, description = "The body does not fit the schema (`invalid_body`) or carries more than 1000 visits (`too_many_visits`).", body = ErrorBody),
    )
)]
async fn visits(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<VisitsRequest>,
) -> Result<Json<VisitsResponse>, ApiError> {
    auth.require_agent()?;
    if req.protocol > PROTOCOL_VERSION {
        return Err(ApiError::ProtocolTooNew(req.protocol));
    }
    if req.protocol < MIN_PROTOCOL_VERSION {
        return Err(ApiError::ProtocolTooOld(req.protocol));
    }
    if req.visits.len() > MAX_VISITS {
        return Err(ApiError::unprocessable(
            "too_many_visits",
            format!(
                "send at most {MAX_VISITS} visits at once, this request has {}; split it",
                req.visits.len()
            ),
        ));
    }
    super::sync::check_device_id(&req.device_id)?;
    let now = state.store.now_millis();
    let mut results: Vec<VisitResult> = Vec::with_capacity(req.visits.len());
    let mut accepted = Vec::new();
    for v in &req.visits {
        match refusal(&auth, v, now, state.max_clock_skew_millis) {
            Some((code, reason)) => results.push(VisitResult {
                id: v.id,
                outcome: VisitOutcome::Rejected { code, reason },
            }),
            None => {
                accepted.push((
                    results.len(),
                    NewVisit {
                        id: v.id,
                        kelurahan: v.kelurahan,
                        rw: v.rw,
                        rt: v.rt,
                        households: v.households,
                        note: v.note.clone(),
                        visited_at: visit_millis(v),
                    },
                ));
                results.push(VisitResult {
                    id: v.id,
                    outcome: VisitOutcome::Stored,
                });
            }
        }
    }
    let store = state.store.clone();
    let token = auth.0;
    let device = req.device_id;
    let new: Vec<NewVisit> = accepted.iter().map(|(_, v)| v.clone()).collect();
    let stored = blocking(move || store.add_visits(token.id, &token.name, device, &new)).await?;
    for ((at, _), fresh) in accepted.iter().zip(stored) {
        if !fresh && let Some(r) = results.get_mut(*at) {
            r.outcome = VisitOutcome::Duplicate;
        }
    }
    Ok(Json(VisitsResponse {
        protocol: PROTOCOL_VERSION,
        results,
    }))
}
