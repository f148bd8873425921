//! One error type for the HTTP layer. Each variant maps to a status and a
//! stable code; internal errors are logged and never sent to the client.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sigap_shared::wire::{ErrorBody, ErrorDetail, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// Forbidden, with a code of its own.
    #[error("{message}")]
    Denied { code: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    BadRequest { code: String, message: String },
    #[error("{message}")]
    Unprocessable { code: String, message: String },
    #[error("{message}")]
    Conflict { code: String, message: String },
    #[error("request body is larger than the 8 MiB limit; send fewer changes per push")]
    PayloadTooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error(
        "too many failed sign-ins from this address; wait {retry_after_secs} s and check the token"
    )]
    TooManyRequests { retry_after_secs: u64 },
    #[error(
        "the request took longer than {0} s and was cut off; retry (a push that arrived is kept)"
    )]
    Timeout(u64),
    #[error("the server is serving as many requests as it allows; retry in a moment")]
    Overloaded,
    #[error(
        "this server speaks SIGAP protocol {PROTOCOL_VERSION}; the client speaks {0}: upgrade sigap-server"
    )]
    ProtocolTooNew(u32),
    #[error(
        "this server needs SIGAP protocol {MIN_PROTOCOL_VERSION} or newer; the client speaks {0}: upgrade sigap"
    )]
    ProtocolTooOld(u32),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::Unprocessable {
            code: code.into(),
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Denied { code, .. } => (StatusCode::FORBIDDEN, code),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Timeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            ApiError::ProtocolTooNew(_) => (StatusCode::BAD_REQUEST, "protocol_too_new"),
            ApiError::ProtocolTooOld(_) => (StatusCode::UPGRADE_REQUIRED, "protocol_too_old"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ApiError::NotFound(m),
            StoreError::Invalid { code, message } if code == "conflict_resolved" => {
                ApiError::Conflict { code, message }
            }
            StoreError::Invalid { code, message } => ApiError::Unprocessable { code, message },
            StoreError::Denied { code, message } => ApiError::Denied { code, message },
            // Lost races with other servers, again and again: nothing was
            // written, and the client's retry will find less contention.
            StoreError::Retry(why) => {
                tracing::warn!(why = %crate::logging::mask_niks(&why), "write gave up after repeated races with other servers");
                ApiError::Overloaded
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(error = %crate::logging::mask_niks(detail), "internal error");
                "the server failed; the error is logged. Retry later or contact the operator"
                    .to_string()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                details: None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match self {
            ApiError::TooManyRequests { retry_after_secs } => Some(retry_after_secs),
            ApiError::Overloaded => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
