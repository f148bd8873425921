//! Bearer-token authentication and role checks.

use axum::extract::FromRequestParts;
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
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        authenticate(state, token).await.map(Auth)
    }
}

/// Looks a token up in the store: the API's bearer tokens and the
/// dashboard's session cookie are checked by this one path, so a revoked
/// or expired token stops both at once.
pub(crate) async fn authenticate(state: &AppState, token: &str) -> Result<TokenInfo, ApiError> {
    let hash = crate::token::hash(token);
    let store = state.store.clone();
    let found = super::blocking(move || store.find_token(&hash)).await?;
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
