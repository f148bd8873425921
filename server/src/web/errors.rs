//! The dashboard's one error type. A handler returns it; the page is
//! drawn by [`super::render_errors`] in the request's language, since a
//! response alone does not know who asked.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::ApiError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WebError {
    /// No session, or its token no longer works: back to the sign-in page,
    /// with the notice (a message id) to show there.
    #[error("sign-in needed")]
    SignIn { notice: Option<&'static str> },
    /// An agent's token: the dashboard is for supervisors and admins.
    #[error("agent tokens cannot open the dashboard")]
    AgentToken,
    /// An area (or a record in one) outside the token's areas.
    #[error("outside this token's areas: {0}")]
    Outside(String),
    /// A form without a valid CSRF token.
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    /// Nothing at this address; the message id says what was looked for.
    #[error("not found: {detail}")]
    NotFound { what: &'static str, detail: String },
    /// A value in the address or a form that does not fit; `what` is the
    /// message id that says how to fix it.
    #[error("bad request: {detail}")]
    BadRequest { what: &'static str, detail: String },
    /// The server failed; the detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::SignIn { .. } => StatusCode::SEE_OTHER,
            WebError::AgentToken | WebError::Outside(_) | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::NotFound { .. } => StatusCode::NOT_FOUND,
            WebError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Message ids of the page's title and explanation, and the detail
    /// shown beneath (in the server's words).
    pub fn texts(&self) -> (&'static str, &'static str, Option<String>) {
        match self {
            WebError::SignIn { .. } => ("err-signin-title", "err-signin", None),
            WebError::AgentToken => ("err-agent-title", "err-agent", None),
            WebError::Outside(d) => ("err-outside-title", "err-outside", Some(d.clone())),
            WebError::Csrf => ("err-csrf-title", "err-csrf", None),
            WebError::NotFound { what, detail } => {
                ("err-notfound-title", what, Some(detail.clone()))
            }
            WebError::BadRequest { what, detail } => ("err-bad-title", what, Some(detail.clone())),
            WebError::Internal(_) => ("err-internal-title", "err-internal", None),
        }
    }

    pub fn bad(what: &'static str, detail: impl Into<String>) -> WebError {
        WebError::BadRequest {
            what,
            detail: detail.into(),
        }
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized(_) => WebError::SignIn {
                notice: Some("notice-session-ended"),
            },
            ApiError::Forbidden(m) | ApiError::Denied { message: m, .. } => WebError::Outside(m),
            ApiError::NotFound(m) => WebError::NotFound {
                what: "err-notfound",
                detail: m,
            },
            ApiError::Conflict { message, .. } => WebError::bad("err-conflict-closed", message),
            ApiError::BadRequest { message, .. } | ApiError::Unprocessable { message, .. } => {
                WebError::bad("err-bad", message)
            }
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::Internal(detail) = &self {
            tracing::error!(error = %crate::logging::mask_niks(detail), "dashboard error");
        }
        let mut r = match &self {
            WebError::SignIn { notice } => {
                let to = match notice {
                    Some(n) => format!("/signin?notice={n}"),
                    None => "/signin".to_string(),
                };
                (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
            }
            other => other.status().into_response(),
        };
        // Drawn by the middleware, which knows the language.
        r.extensions_mut().insert(self);
        r
    }
}
