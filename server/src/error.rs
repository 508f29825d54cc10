//! [`AppError`]: the one error type of the HTTP layer.
//!
//! Every refusal and failure becomes `{"error":{"code":"…","message":"…"}}` with a
//! fitting status. Messages for 4xx say what was wrong with the request; for 5xx the
//! cause is logged with a reference and only the reference is sent.

use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use linli_domain::{ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    TimedOut(String),
    #[error("{0}")]
    Conflict(String),
    /// Not allowed where the thing stands (nobody changed it): `409 not_allowed` with
    /// what is allowed.
    #[error("{message}")]
    NotAllowed {
        message: String,
        allowed: Vec<String>,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Unavailable(String),
    /// Too much at once: `503` with `Retry-After: 1`.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::Conflict(_) | AppError::NotAllowed { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::TimedOut(_) => "request_timeout",
            AppError::Conflict(_) => "conflict",
            AppError::NotAllowed { .. } => "not_allowed",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Unavailable(_) => "unavailable",
            AppError::Busy(_) => "busy",
            AppError::Internal(_) => "internal",
        }
    }

    /// The 401 every endpoint gives a caller without a valid session.
    pub fn not_signed_in() -> Self {
        AppError::Unauthorized("sign in first: this needs a valid session".into())
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::NotAllowed { message, allowed } => {
                AppError::NotAllowed { message, allowed }
            }
            StoreError::Invalid(m) => AppError::Unprocessable(m),
            StoreError::NotFound(m) => AppError::NotFound(m),
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            StoreError::Forbidden(m) => AppError::Forbidden(m),
            StoreError::Backend(e) => AppError::Internal(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            AppError::Internal(cause) => {
                let reference = format!("{:016x}", rand::random::<u64>());
                tracing::error!(reference, error = ?cause, "internal error");
                format!("internal error, reference {reference}; it has been logged")
            }
            other => other.to_string(),
        };
        let allowed = match &self {
            AppError::NotAllowed { allowed, .. } => allowed.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message,
                allowed,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match self {
            AppError::RateLimited {
                retry_after_secs, ..
            } => Some(retry_after_secs),
            AppError::Busy(_) => Some(1),
            _ => None,
        };
        if let Some(Ok(value)) = retry_after.map(|s| HeaderValue::from_str(&s.to_string())) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, AppError>;
