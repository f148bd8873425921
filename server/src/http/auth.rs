//! Bearer-token authentication and role checks.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sigap_shared::AreaCode;

use super::AppState;
use super::error::ApiError;
use crate::store::{Role, TokenInfo};

/// The caller, authenticated by a valid, unrevoked, unexpired token.
pub struct Auth(pub TokenInfo);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let client = client_addr(parts);
        match bearer(parts) {
            Ok(token) => authenticate_from(state, client, token).await.map(Auth),
            // A request without a token is a mistake, not a guess: it is
            // not counted, but an address held off stays held off.
            Err(e) => {
                held_off(state, client)?;
                Err(e)
            }
        }
    }
}

/// The address the request came from, for the sign-in limit (none when
/// the server runs without connection info, as tests that call the router
/// directly do).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(parts)))
    }
}

/// `429` while `client` has used up its failed sign-ins.
fn held_off(state: &AppState, client: Option<IpAddr>) -> Result<(), ApiError> {
    match client.and_then(|ip| state.auth_throttle.blocked(ip, Instant::now())) {
        Some(wait) => Err(ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        }),
        None => Ok(()),
    }
}

/// [`authenticate`] behind the per-address limit of failed sign-ins: the
/// API's bearer tokens and the dashboard's sign-in form both come here,
/// so guessing through either counts against the same address.
pub(crate) async fn authenticate_from(
    state: &AppState,
    client: Option<IpAddr>,
    token: &str,
) -> Result<TokenInfo, ApiError> {
    held_off(state, client)?;
    let result = authenticate(state, token).await;
    count_failure(state, client, &result);
    result
}

/// A refused token counts against the address it came from.
fn count_failure(state: &AppState, client: Option<IpAddr>, result: &Result<TokenInfo, ApiError>) {
    if let (Err(ApiError::Unauthorized(_)), Some(ip)) = (result, client) {
        state.auth_throttle.failed(ip, Instant::now());
        tracing::warn!(client = %ip, "authentication failed");
    }
}

/// The peer's address, when the server was started with connection info
/// (tests that call the router directly have none).
fn client_addr(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "missing Authorization: Bearer <token>; ask an admin for a token (sigap-server token create)"
                    .into(),
            )
        })?;
    header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })
}

/// Looks a token up in the store: the API's bearer tokens and the
/// dashboard's session cookie are checked by this one path, so a revoked
/// or expired token stops both at once.
pub(crate) async fn authenticate(state: &AppState, token: &str) -> Result<TokenInfo, ApiError> {
    let hash = crate::token::hash(token);
    let store = state.store.clone();
    let found = super::blocking(move || store.find_token(&hash)).await?;
    usable(found)
}

/// The token found for a hash, if it may be used now.
fn usable(found: Option<TokenInfo>) -> Result<TokenInfo, ApiError> {
    let info = found.ok_or_else(|| {
        ApiError::Unauthorized("the token is not valid or has been revoked".into())
    })?;
    let now = i64::try_from(sigap_shared::hlc::wall_millis()).unwrap_or(i64::MAX);
    if let Some(expires) = info.expires_at.filter(|_| info.expired_at(now)) {
        // Refused like a revoked token, but saying so: the agent can
        // fix this only by asking for a new token, not by retyping.
        return Err(ApiError::Unauthorized(format!(
            "the token {:?} has expired on {}; ask an admin for a new one (sigap-server token create)",
            info.name,
            crate::time_text::format_time(expires)
        )));
    }
    Ok(info)
}

/// A bearer token not yet checked, for a handler that checks it on a
/// blocking thread together with the rest of its store work
/// ([`Bearer::authenticate`]): one hop off the async threads instead of
/// two. A request without a usable `Authorization` header is refused
/// here, as [`Auth`] refuses it.
pub struct Bearer {
    client: Option<IpAddr>,
    token: String,
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let client = client_addr(parts);
        match bearer(parts) {
            Ok(token) => Ok(Bearer {
                client,
                token: token.to_string(),
            }),
            Err(e) => {
                held_off(state, client)?;
                Err(e)
            }
        }
    }
}

impl Bearer {
    /// [`authenticate_from`] for code already on a blocking thread: the
    /// same checks and the same limit of failed sign-ins.
    pub fn authenticate(&self, state: &AppState) -> Result<Auth, ApiError> {
        held_off(state, self.client)?;
        let result = state
            .store
            .find_token(&crate::token::hash(&self.token))
            .map_err(ApiError::from)
            .and_then(usable);
        count_failure(state, self.client, &result);
        result.map(Auth)
    }
}

impl Auth {
    /// Agents only: pushing and pulling is a device's job.
    pub fn require_agent(&self) -> Result<(), ApiError> {
        if self.0.role == Role::Agent {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "token {:?} has role {}; sync needs an agent token",
                self.0.name,
                self.0.role.as_str()
            )))
        }
    }

    /// Supervisors and admins.
    pub fn require_supervisor(&self) -> Result<(), ApiError> {
        match self.0.role {
            Role::Supervisor | Role::Admin => Ok(()),
            Role::Agent => Err(ApiError::Forbidden(format!(
                "token {:?} has role agent; this needs a supervisor token",
                self.0.name
            ))),
        }
    }

    /// The token must cover `area`.
    pub fn require_area(&self, area: &AreaCode) -> Result<(), ApiError> {
        if self.0.covers(area) {
            Ok(())
        } else {
            let list: Vec<String> = self.0.areas.iter().map(|a| a.to_string()).collect();
            Err(ApiError::Forbidden(format!(
                "area {} is outside this token's areas ({})",
                sigap_shared::wilayah::area_label(area),
                list.join(", ")
            )))
        }
    }

    /// The areas to filter by: `None` for admins (everything).
    pub fn area_filter(&self) -> Option<Vec<AreaCode>> {
        (self.0.role != Role::Admin).then(|| self.0.areas.clone())
    }
}
