//! `GET /api/v1/agents` (supervisors): what each agent did per day in an
//! area, the RTs they visited, and their devices' last syncs.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sigap_shared::AreaCode;
use sigap_shared::wire::{ErrorBody, PROTOCOL_VERSION};
use utoipa::{IntoParams, ToSchema};

use super::auth::Auth;
use super::days::{self, format_day};
use super::error::ApiError;
use super::extract::ApiQuery;
use super::{AppState, blocking};
use crate::coverage::area_display_name;
use crate::store::{AgentDay, DeviceSeen};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/agents", get(agents))
}

/// Days answered when `from` is not given.
const DEFAULT_DAYS: i64 = 14;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AgentsQuery {
    /// The area: any code inside the token's areas.
    #[param(required = true, value_type = AreaCode)]
    area: Option<String>,
    /// The first day, `YYYY-MM-DD` (default: 13 days before `to`). The
    /// range spans at most 3 years.
    #[param(value_type = Option<String>, format = Date, example = "2025-01-01")]
    from: Option<String>,
    /// The last day, `YYYY-MM-DD` (default today, UTC); not before `from`.
    #[param(value_type = Option<String>, format = Date, example = "2025-01-14")]
    to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
struct Device {
    device_id: uuid::Uuid,
    /// The device's last push (RFC 3339, UTC), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    last_sync_at: Option<String>,
    /// Changes the device said it still had queued at its last push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<u64>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
struct Totals {
    registrations: u64,
    edits: u64,
    voids: u64,
    merged: u64,
    rejections: u64,
    rts_visited: u64,
}

#[derive(Debug, Serialize, ToSchema)]
struct Agent {
    /// The token's name (never the token).
    agent: String,
    days: Vec<AgentDay>,
    totals: Totals,
    devices: Vec<Device>,
}

#[derive(Debug, Serialize, ToSchema)]
struct Kelurahan {
    kelurahan: AreaCode,
    name: Option<String>,
    /// RTs with persons or visits: the area table does not list RTs.
    known_rts: u64,
}

#[derive(Debug, Serialize, ToSchema)]
struct AgentsAnswer {
    protocol: u32,
    area: AreaCode,
    /// The area's name, when the area table knows it.
    name: Option<String>,
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    agents: Vec<Agent>,
    kelurahan: Vec<Kelurahan>,
}

/// What each agent did per day in an area, the RTs they visited and
/// their devices' last syncs.
#[utoipa::path(
    get,
    path = "/api/v1/agents",
    tag = "supervision",
    security(("bearer" = [])),
    params(AgentsQuery),
    responses(
        (status = 200, description = "Agents' days, totals and devices, and the known RTs per kelurahan.", body = AgentsAnswer),
        (status = 400, description = "No area (`missing_area`), a bad area code (`invalid_area`), a day that is not `YYYY-MM-DD` (`invalid_date`), `to` before `from` (`invalid_range`), a range over 3 years (`range_too_long`), a query value that does not parse, or a bad protocol header.", body = ErrorBody),
        (status = 403, description = "An agent token, or an area outside the token's areas.", body = ErrorBody),
    )
)]
async fn agents(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AgentsQuery>,
) -> Result<Json<AgentsAnswer>, ApiError> {
    auth.require_supervisor()?;
    let area = days::area(&auth, q.area.as_deref())?;
    let (from, to) = days::range(
        q.from.as_deref(),
        q.to.as_deref(),
        sigap_shared::today(),
        DEFAULT_DAYS,
    )?;
    let store = state.store.clone();
    let activity = blocking(move || store.activity(&area, from, to)).await?;
    let mut by_agent: BTreeMap<String, Agent> = BTreeMap::new();
    for d in activity.days {
        let a = entry(&mut by_agent, &d.agent);
        a.totals.registrations += d.registrations;
        a.totals.edits += d.edits;
        a.totals.voids += d.voids;
        a.totals.merged += d.merged;
        a.totals.rejections += d.rejections;
        a.totals.rts_visited += d.rts_visited.len() as u64;
        a.days.push(d);
    }
    for DeviceSeen {
        agent,
        device_id,
        last_sync_at,
        pending,
    } in activity.devices
    {
        entry(&mut by_agent, &agent).devices.push(Device {
            device_id,
            last_sync_at: last_sync_at.map(days::rfc3339),
            pending,
        });
    }
    Ok(Json(AgentsAnswer {
        protocol: PROTOCOL_VERSION,
        area,
        name: area_display_name(&area),
        from: format_day(from),
        to: format_day(to),
        agents: by_agent.into_values().collect(),
        kelurahan: activity
            .known_rts
            .into_iter()
            .map(|(k, n)| Kelurahan {
                kelurahan: k,
                name: area_display_name(&k),
                known_rts: n,
            })
            .collect(),
    }))
}

fn entry<'a>(map: &'a mut BTreeMap<String, Agent>, name: &str) -> &'a mut Agent {
    map.entry(name.to_string()).or_insert_with(|| Agent {
        agent: name.to_string(),
        days: Vec::new(),
        totals: Totals::default(),
        devices: Vec::new(),
    })
}
